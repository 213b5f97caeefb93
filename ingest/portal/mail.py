"""Outgoing mail: over SMTP when ``mail.host`` is set, else as ``.eml`` files in
``<home>/mail/outgoing/`` (for a test system and for the tests)."""

from __future__ import annotations

import smtplib
import uuid
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

from ingest.settings import Settings


def outgoing(settings: Settings) -> Path:
    return settings.home / "mail" / "outgoing"


def send_mail(settings: Settings, to: str, subject: str, body: str) -> None:
    message = EmailMessage()
    message["From"] = settings.mail.sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=settings.mail.sender.partition("@")[2] or None)
    message.set_content(body)
    mail = settings.mail
    if mail.host is None:
        folder = outgoing(settings)
        folder.mkdir(parents=True, exist_ok=True)
        part = folder / f".{uuid.uuid4().hex}.part"
        part.write_bytes(bytes(message))
        part.rename(folder / f"{uuid.uuid4().hex}.eml")  # complete files only
        return
    with smtplib.SMTP(mail.host, mail.port, timeout=30) as smtp:
        if mail.starttls:
            smtp.starttls()
        if mail.username and mail.password is not None:
            smtp.login(mail.username, mail.password.get_secret_value())
        smtp.send_message(message)
