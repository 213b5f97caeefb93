"""The portal's pages for people: German error pages for every bad request, the PDF without
log noise, the history naming whom a change concerned."""

from __future__ import annotations

import io
import logging
import re

import pytest
from sqlalchemy import select

from ingest.accounts.accounts import create_account
from ingest.accounts.audit import Actor
from ingest.accounts.login import issue_one_time_password
from ingest.accounts.models import (
    Account,
    Application,
    ApplicationKind,
    AuditEntry,
    PortalSession,
    Role,
)
from ingest.logs import configure
from ingest.portal.pdf import application_pdf
from ingest.settings import Settings
from ingest.storing.db import make_engine, session_factory
from tests.portal_support import ADMIN, Client, Clock, admin_signed_in, attr, create_clerk


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def client(settings: Settings, clock: Clock) -> Client:
    return Client(settings, clock)


@pytest.mark.parametrize("path", ["/sachbearbeiter/abc", "/gibt-es-nicht", "/konsole/benutzer/x"])
def test_a_bad_path_answers_the_german_404_page_when_signed_out(client: Client, path: str) -> None:
    """Neither a path parameter of the wrong type nor an unknown route answers JSON."""
    answer = client.get(path)
    assert answer.status_code == 404
    assert answer.headers["content-type"].startswith("text/html")
    assert "Nicht gefunden" in answer.text and "detail" not in answer.text


def test_a_bad_id_answers_the_german_404_page_when_signed_in(client: Client, clock: Clock) -> None:
    """An administrator's ``/sachbearbeiter/abc`` is the 404 page, as is a POST to it."""
    admin_signed_in(client, clock)
    answers = (client.get("/sachbearbeiter/abc"), client.post("/sachbearbeiter/abc/aktivieren"))
    for answer in answers:
        assert answer.status_code == 404
        assert answer.headers["content-type"].startswith("text/html")
        assert "Nicht gefunden" in answer.text


def test_the_application_pdf_writes_no_font_tool_lines_to_the_log(settings: Settings) -> None:
    """Subsetting the font logs nothing at the portal's INFO level."""
    stream = io.StringIO()
    configure(settings, stream=stream)
    try:
        application = Application(
            number="2026-000001",
            kind=ApplicationKind.ADMINISTRATOR.value,
            first_name="Anna",
            last_name="Schmidt",
            email="anna.schmidt@musterhausen.example",
            phone="",
            member_number="100001",
            offices="001",
            created_at=Clock().now,
        )
        assert application_pdf(application, "Stadt", "Kasse\nStraße 1").startswith(b"%PDF")
    finally:
        logging.getLogger().handlers.clear()
    assert "fontTools" not in stream.getvalue()


def _clerk_id(settings: Settings, address: str) -> int:
    with session_factory(make_engine(settings))() as session:
        found = session.scalar(select(Account.id).where(Account.email == address))
        assert found is not None
        return found


def _operator_signed_in(client: Client, clock: Clock) -> None:
    with session_factory(make_engine(client.settings)).begin() as session:
        operator = create_account(
            session,
            email="olga.kasse@zvk.example",
            first_name="Olga",
            last_name="Kasse",
            role=Role.KASSE,
            now=clock(),
            actor=Actor.command_line(),
            role_mailboxes=[],
        )
        secret = issue_one_time_password(session, operator, Actor.command_line(), clock(), 28)
    client.login("olga.kasse@zvk.example", secret)
    assert client.set_password().url.path == "/"


def test_the_one_time_password_page_is_reached_by_a_redirect_and_shown_once(
    client: Client, clock: Clock
) -> None:
    """Creating a clerk redirects; the database holds the password only sealed; a reload of
    the page shows it no more and creates nothing."""
    admin_signed_in(client, clock)
    form = client.get("/sachbearbeiter/anlegen").text
    office = re.search(r'value="(\d+)"[^>]*>\s*<label for="office-001">', form).group(1)  # type: ignore[union-attr]
    sent = client.http.post(
        "/sachbearbeiter/anlegen",
        data={
            "csrf": client.csrf(),
            "first_name": "Bernd",
            "last_name": "Weber",
            "email": "bernd.weber@musterhausen.example",
            "office": office,
        },
        follow_redirects=False,
    )
    assert sent.status_code == 303 and sent.headers["location"] == "/einmalpasswort"
    with session_factory(make_engine(client.settings))() as session:
        stored = " ".join(f or "" for f in session.scalars(select(PortalSession.flash)))
    shown = client.get("/einmalpasswort")
    otp = attr(shown.text, "data-otp")
    assert otp not in stored and "Bernd Weber" in shown.text
    again = client.get("/einmalpasswort")
    assert again.status_code == 200 and "data-otp" not in again.text
    assert "bereits angezeigt" in again.text


def test_a_refused_approval_in_the_console_redirects_and_says_why_in_german(
    client: Client, clock: Clock
) -> None:
    """Approving an unconfirmed application: a redirect to "Anträge" with the German reason,
    gone after a reload."""
    applicant = Client(client.settings, clock)
    applicant.post("/registrierung/administrator", {**ADMIN, "terms": "ja"})
    _operator_signed_in(client, clock)
    with session_factory(make_engine(client.settings))() as session:
        number = session.scalars(select(Application.number)).one()
    refused = client.post(f"/konsole/antraege/{number}/genehmigen")
    assert refused.url.path == "/konsole/antraege" and refused.history[0].status_code == 303
    assert "die E-Mail-Adresse ist noch nicht bestätigt" in refused.text
    assert "nicht bestätigt" not in client.get("/konsole/antraege").text.split("<table")[0]


def test_the_history_names_the_account_and_what_changed(client: Client, clock: Clock) -> None:
    """Each entry names the clerk; a change lists old and new values; a save without a change
    writes nothing."""
    admin_signed_in(client, clock)
    create_clerk(client, "bernd.weber@musterhausen.example", ["001"])
    clerk = _clerk_id(client.settings, "bernd.weber@musterhausen.example")
    edit = client.get(f"/sachbearbeiter/{clerk}").text
    office = re.search(r'value="(\d+)" checked', edit).group(1)  # type: ignore[union-attr]
    unchanged = {
        "first_name": "Bernd",
        "last_name": "Weber",
        "email": "bernd.weber@musterhausen.example",
        "office": office,
    }
    client.post(f"/sachbearbeiter/{clerk}", unchanged)
    with session_factory(make_engine(client.settings))() as session:
        actions = list(session.scalars(select(AuditEntry.action)))
    assert "account.changed" not in actions
    client.post(f"/sachbearbeiter/{clerk}", {**unchanged, "last_name": "Weber-Lang"})
    client.post(f"/sachbearbeiter/{clerk}/deaktivieren")
    history = client.get("/sachbearbeiter").text.split("<h2>Änderungen</h2>")[1]
    rows = re.findall(r"<tr><td>.*?</tr>", history, re.S)
    assert len(rows) == 4  # created, one-time password, changed, deactivated
    assert all("Bernd Weber-Lang (bernd.weber@musterhausen.example)" in row for row in rows)
    assert "Name: Bernd Weber → Bernd Weber-Lang" in history
    fund = Client(client.settings, clock)
    _operator_signed_in(fund, clock)
    audit = fund.get("/konsole/audit").text
    deactivated = re.search(r'<tr data-action="account.deactivated">.*?</tr>', audit, re.S)
    assert (
        deactivated
        and "Bernd Weber-Lang (bernd.weber@musterhausen.example)" in deactivated.group(0)
    )
