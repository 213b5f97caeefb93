"""The portal's security: CSRF, the lock, no user enumeration, one-time passwords once and
expiring, role mailboxes, headers and cookies, sessions, no secrets in the audit log or logs."""

from __future__ import annotations

import logging
import re

import pytest
from sqlalchemy import select

from ingest.accounts.models import AuditEntry
from ingest.settings import Settings
from ingest.storing.db import make_engine, session_factory
from tests.portal_support import (
    ADMIN,
    GOOD_PASSWORD,
    Client,
    Clock,
    admin_signed_in,
    approve_now,
    create_clerk,
    register_admin,
)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def client(settings: Settings, clock: Clock) -> Client:
    return Client(settings, clock)


def test_a_post_without_csrf_token_is_refused_with_403(client: Client, clock: Clock) -> None:
    """Login, registration and the signed-in forms all need this browser's token."""
    client.get("/anmelden")
    assert (
        client.http.post("/anmelden", data={"email": "a@b.de", "password": "x"}).status_code == 403
    )
    refused = client.http.post("/registrierung/administrator", data={**ADMIN, "terms": "ja"})
    assert refused.status_code == 403
    admin_signed_in(client, clock)
    wrong = client.http.post(
        "/sachbearbeiter/anlegen",
        data={"csrf": "falsch", "first_name": "X", "last_name": "Y", "email": "x@y.example"},
    )
    assert wrong.status_code == 403
    assert "Formular ist abgelaufen" in wrong.text


def _wrong(client: Client, times: int) -> None:
    for _ in range(times):
        page = client.login(ADMIN["email"], "falsches-Passwort-1")
        assert page.url.path == "/anmelden"


def test_five_failures_lock_the_account_for_15_minutes(client: Client, clock: Clock) -> None:
    """The sixth attempt, with the right password, is refused; after 15 minutes it works."""
    admin_signed_in(client, clock)
    client.post("/abmelden")
    _wrong(client, 5)
    assert client.login(ADMIN["email"], GOOD_PASSWORD).url.path == "/anmelden"
    clock.advance(minutes=14)
    assert client.login(ADMIN["email"], GOOD_PASSWORD).url.path == "/anmelden"
    clock.advance(minutes=1, seconds=1)
    assert client.login(ADMIN["email"], GOOD_PASSWORD).url.path == "/"
    with session_factory(make_engine(client.settings))() as session:
        actions = list(session.scalars(select(AuditEntry.action)))
    assert actions.count("login.locked") == 1 and "login.refused_locked" in actions


def test_four_failures_then_the_right_password_signs_in(client: Client, clock: Clock) -> None:
    """The lock needs five failures; a success resets the count."""
    admin_signed_in(client, clock)
    client.post("/abmelden")
    _wrong(client, 4)
    assert client.login(ADMIN["email"], GOOD_PASSWORD).url.path == "/"
    client.post("/abmelden")
    _wrong(client, 4)
    assert client.login(ADMIN["email"], GOOD_PASSWORD).url.path == "/"


def test_unknown_email_and_wrong_password_get_identical_pages(client: Client, clock: Clock) -> None:
    """Nothing tells whether an account exists (a locked one answers the same)."""
    admin_signed_in(client, clock)
    client.post("/abmelden")

    def answer(address: str) -> str:
        page = client.login(address, "falsches-Passwort-1")
        assert page.status_code == 200
        return re.sub(r'name="csrf" value="[^"]+"', "", page.text).replace(address, "E")

    known = answer(ADMIN["email"])
    unknown = answer("niemand@musterhausen.example")
    assert known == unknown
    _wrong(client, 4)
    assert answer(ADMIN["email"]) == unknown


def test_a_one_time_password_works_once(client: Client, clock: Clock, settings: Settings) -> None:
    """Once used, the same one-time password is refused."""
    admin_signed_in(client, clock)
    otp = create_clerk(client, "bernd.weber@musterhausen.example", ["001"])
    clerk = Client(settings, clock)
    assert clerk.login("bernd.weber@musterhausen.example", otp).url.path == "/passwort"
    clerk.post("/abmelden")
    assert clerk.login("bernd.weber@musterhausen.example", otp).url.path == "/anmelden"


def test_a_one_time_password_expires(client: Client, clock: Clock, settings: Settings) -> None:
    """After portal.otp_valid_days (28) it is refused; a new one from the administrator works."""
    admin_signed_in(client, clock)
    otp = create_clerk(client, "bernd.weber@musterhausen.example", ["001"])
    clock.advance(days=28, seconds=1)
    clerk = Client(settings, clock)
    assert clerk.login("bernd.weber@musterhausen.example", otp).url.path == "/anmelden"
    client.login(ADMIN["email"], GOOD_PASSWORD)
    page = client.get("/sachbearbeiter").text
    clerk_id = re.search(r'href="/sachbearbeiter/(\d+)"', page).group(1)  # type: ignore[union-attr]
    fresh = re.search(
        r"data-otp>([^<]+)<", client.post(f"/sachbearbeiter/{clerk_id}/einmalpasswort").text
    )
    assert fresh is not None
    assert clerk.login("bernd.weber@musterhausen.example", fresh.group(1)).url.path == "/passwort"


def test_role_mailboxes_are_refused(client: Client, clock: Clock) -> None:
    """At registration and when an administrator creates a clerk."""
    page = client.post(
        "/registrierung/administrator",
        {**ADMIN, "email": "personal@musterhausen.example", "terms": "ja"},
    )
    assert page.status_code == 400 and "Sammelpostfächer" in page.text
    admin_signed_in(client, clock)
    form = client.get("/sachbearbeiter/anlegen").text
    office = re.search(r'name="office" type="checkbox" value="(\d+)"', form).group(1)  # type: ignore[union-attr]
    page = client.post(
        "/sachbearbeiter/anlegen",
        {
            "first_name": "X",
            "last_name": "Y",
            "email": "Lohn@musterhausen.example",
            "office": office,
        },
    )
    assert page.status_code == 400 and "Sammelpostfächer" in page.text


def test_security_headers_and_cookie_flags(client: Client, clock: Clock) -> None:
    """CSP without inline script, no framing, same-origin referrer; cookies HttpOnly, Lax."""
    page = client.get("/anmelden")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert "unsafe-inline" not in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["referrer-policy"] == "same-origin"
    assert "<script" not in page.text
    cookie = page.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "secure" not in cookie
    number, _ = register_admin(client)
    login = client.http.post(
        "/anmelden",
        data={
            "csrf": client.csrf(),
            "email": ADMIN["email"],
            "password": approve_now(client, number, clock),
        },
        follow_redirects=False,
    )
    session_cookie = [
        c for c in login.headers.get_list("set-cookie") if c.startswith("zvk_sitzung=")
    ]
    assert session_cookie and "httponly" in session_cookie[0].lower()
    assert "samesite=lax" in session_cookie[0].lower()


def test_cookies_are_secure_behind_https(settings: Settings, clock: Clock) -> None:
    """portal.base_url with https marks the cookies Secure."""
    secure = Client(
        settings.model_copy(
            update={
                "portal": settings.portal.model_copy(
                    update={"base_url": "https://portal.zvk.example"}
                )
            }
        ),
        clock,
    )
    assert "secure" in secure.get("/anmelden").headers["set-cookie"].lower()


def test_a_session_ends_after_the_idle_time(client: Client, clock: Clock) -> None:
    """30 minutes without a request end the session; a request within them keeps it."""
    admin_signed_in(client, clock)
    clock.advance(minutes=29)
    assert client.get("/sachbearbeiter").status_code == 200
    clock.advance(minutes=30, seconds=1)
    assert client.get("/sachbearbeiter").url.path == "/anmelden"


def test_a_password_change_ends_the_other_sessions(
    client: Client, clock: Clock, settings: Settings
) -> None:
    """A session opened before the change is gone; the changing browser stays signed in."""
    admin_signed_in(client, clock)
    elsewhere = Client(settings, clock)
    assert elsewhere.login(ADMIN["email"], GOOD_PASSWORD).url.path == "/"
    client.get("/passwort")
    assert client.set_password("Neues-Kennwort-Fluss-9", GOOD_PASSWORD).url.path == "/"
    assert elsewhere.get("/sachbearbeiter").url.path == "/anmelden"
    assert client.get("/sachbearbeiter").status_code == 200


def test_no_password_or_one_time_password_in_the_audit_log_or_the_logs(
    client: Client,
    clock: Clock,
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Every secret used in the flow is searched for in every audit column and every log line."""
    caplog.set_level(logging.DEBUG)
    number, _ = register_admin(client)
    admin_otp = approve_now(client, number, clock)
    client.login(ADMIN["email"], "falsches-Passwort-1")
    client.login(ADMIN["email"], admin_otp)
    client.set_password()
    clerk_otp = create_clerk(client, "bernd.weber@musterhausen.example", ["001"])
    with session_factory(make_engine(settings))() as session:
        rows = list(session.scalars(select(AuditEntry)))
    assert {"application.approved", "login.failure", "login.otp", "account.created"} <= {
        r.action for r in rows
    }
    stored = " ".join(f"{r.action} {r.actor} {r.client} {r.details}" for r in rows)
    printed = capsys.readouterr()
    files = "".join(p.read_text("utf-8", "replace") for p in settings.home.rglob("*.log"))
    logged = caplog.text + printed.out + printed.err + files
    for secret in (admin_otp, clerk_otp, GOOD_PASSWORD, "falsches-Passwort-1"):
        assert secret not in stored
        assert secret not in logged
