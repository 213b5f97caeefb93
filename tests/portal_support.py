"""Helpers of the portal tests: a clock the tests move, a client that fills forms with their
CSRF token, and the steps of the account life cycle done through the real pages."""

from __future__ import annotations

import email
import email.policy
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2 as httpx
from fastapi.testclient import TestClient

from ingest.accounts.applications import approve
from ingest.accounts.audit import Actor
from ingest.portal.app import create_app
from ingest.portal.mail import outgoing
from ingest.settings import Settings
from ingest.storing.db import make_engine, session_factory

ADMIN = {
    "first_name": "Anna",
    "last_name": "Schmidt",
    "email": "anna.schmidt@musterhausen.example",
    "phone": "0301234567",
    "member_number": "100001",
    "offices": "001, 002",
}
GOOD_PASSWORD = "Tannenbaum-Wiese-47"


@dataclass
class Clock:
    """The portal's clock: tests move it instead of sleeping."""

    now: datetime = field(default_factory=lambda: datetime(2026, 12, 2, 9, 0, tzinfo=UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


class Client:
    """A browser without JavaScript: GET pages, POST forms with this browser's CSRF token."""

    def __init__(
        self, settings: Settings, clock: Clock, peer: tuple[str, int] = ("testclient", 50000)
    ) -> None:
        self.settings = settings
        app = create_app(settings, session_factory(make_engine(settings)), clock)
        self.http = TestClient(app, base_url="http://127.0.0.1:8080", client=peer)
        self.token: str | None = None

    def get(self, url: str) -> httpx.Response:
        return self._seen(self.http.get(url))

    def _seen(self, response: httpx.Response) -> httpx.Response:
        """Keep the form token of the page last shown, as a browser's next form carries it."""
        found = re.search(r'name="csrf" value="([^"]+)"', response.text)
        if found:
            self.token = found.group(1)
        return response

    def csrf(self) -> str:
        if self.token is None:
            self.get("/anmelden")
        assert self.token
        return self.token

    def post(self, url: str, data: dict[str, Any] | None = None) -> httpx.Response:
        return self._seen(self.http.post(url, data={"csrf": self.csrf(), **(data or {})}))

    def login(self, address: str, password: str) -> httpx.Response:
        self.get("/anmelden")
        return self.post("/anmelden", {"email": address, "password": password})

    def set_password(self, password: str = GOOD_PASSWORD, current: str = "") -> httpx.Response:
        fields = {"password": password, "password2": password, "current": current}
        return self.post("/passwort", fields)


def mails(settings: Settings) -> list[email.message.EmailMessage]:
    folder = outgoing(settings)
    found = (
        sorted(folder.glob("*.eml"), key=lambda p: p.stat().st_mtime_ns) if folder.is_dir() else []
    )
    return [_parse(path) for path in found]


def _parse(path: Path) -> email.message.EmailMessage:
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert isinstance(message, email.message.EmailMessage)
    return message


def body(message: email.message.EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    text = part.get_content()
    assert isinstance(text, str)
    return text


def link(text: str, path: str) -> str:
    """The path of the first link in ``text`` that starts with ``path``."""
    found = re.search(r"https?://[^/\s]+(" + re.escape(path) + r"[^\s]*)", text)
    assert found, f"no link to {path} in {text!r}"
    return found.group(1)


def attr(html: str, name: str) -> str:
    """The text of the element carrying the attribute ``name`` (``data-otp`` …)."""
    found = re.search(rf"<[^>]*\b{name}\b[^>]*>([^<]+)<", html)
    assert found, f"no element with {name}"
    return found.group(1).strip()


def register_admin(client: Client, **changes: str) -> tuple[str, str]:
    """Register an administrator and confirm the e-mail; returns (Antragsnummer, status page)."""
    before = len(mails(client.settings))
    page = client.post("/registrierung/administrator", {**ADMIN, **changes, "terms": "ja"})
    assert page.status_code == 200, page.text
    number = attr(page.text, "data-antragsnummer")
    sent = mails(client.settings)[before:]
    assert len(sent) == 1
    confirmation = link(body(sent[0]), "/registrierung/bestaetigen/")
    client.get(confirmation)
    confirmed = client.post(confirmation)
    assert confirmed.status_code == 200 and 'data-antragsstand="wartet"' in confirmed.text
    return number, confirmed.text


def approve_now(client: Client, number: str, clock: Clock) -> str:
    """Approve as the fund would (the library call behind `zvk applications approve`)."""
    with session_factory(make_engine(client.settings)).begin() as session:
        _, _, secret = approve(
            session,
            number,
            Actor.command_line(),
            clock(),
            otp_valid_days=client.settings.portal.otp_valid_days,
            role_mailboxes=client.settings.portal.role_mailboxes,
        )
    return secret


def admin_signed_in(client: Client, clock: Clock) -> None:
    """Register, approve and sign in the administrator with a personal password."""
    number, _ = register_admin(client)
    otp = approve_now(client, number, clock)
    assert client.login(ADMIN["email"], otp).url.path == "/passwort"
    assert client.set_password().url.path == "/"


def create_clerk(client: Client, address: str, offices: list[str]) -> str:
    """Create a clerk through the administrator's form; returns the one-time password shown."""
    form = client.get("/sachbearbeiter/anlegen").text
    ids = [
        re.search(rf'value="(\d+)"[^>]*>\s*<label for="office-{o}">', form).group(1)  # type: ignore[union-attr]
        for o in offices
    ]
    page = client.post(
        "/sachbearbeiter/anlegen",
        {"first_name": "Bernd", "last_name": "Weber", "email": address, "office": ids},
    )
    assert page.status_code == 200, page.text
    return attr(page.text, "data-otp")
