"""The portal's mail: over SMTP when `mail.host` is set (a real aiosmtpd server here), a
registration that cannot mail still gets its Antragsnummer and says so."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller

from ingest.settings import Settings
from tests.portal_support import ADMIN, Client, Clock, attr


class _Inbox:
    def __init__(self) -> None:
        self.received: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, _server, _session, envelope) -> str:  # type: ignore[no-untyped-def]
        self.received.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def smtp() -> Iterator[tuple[int, _Inbox]]:
    inbox = _Inbox()
    port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, inbox
    finally:
        controller.stop()


def _with_mail(settings: Settings, port: int) -> Settings:
    mail = settings.mail.model_copy(update={"host": "127.0.0.1", "port": port})
    return settings.model_copy(update={"mail": mail})


def test_the_confirmation_goes_over_smtp(settings: Settings, smtp: tuple[int, _Inbox]) -> None:
    """From mail.sender to the applicant, with the link; no .eml file is written."""
    port, inbox = smtp
    client = Client(_with_mail(settings, port), Clock())
    page = client.post("/registrierung/administrator", {**ADMIN, "terms": "ja"})
    number = attr(page.text, "data-antragsnummer")
    ((sender, recipients, content),) = inbox.received
    assert sender == "portal@zvk.example" and recipients == [ADMIN["email"]]
    message = message_from_bytes(content, policy=policy.default)
    assert number in str(message["Subject"])
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "/registrierung/bestaetigen/" in text
    assert not (settings.home / "mail").exists()


def test_a_registration_without_reachable_smtp_still_gets_its_number(settings: Settings) -> None:
    """The application is stored; the page says the mail could not be sent."""
    client = Client(_with_mail(settings, _free_port()), Clock())
    page = client.post("/registrierung/administrator", {**ADMIN, "terms": "ja"})
    assert page.status_code == 200
    assert attr(page.text, "data-antragsnummer")
    assert "konnte gerade nicht versandt werden" in page.text
