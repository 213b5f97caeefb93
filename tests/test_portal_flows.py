"""The portal's account life cycle through the real pages: registration, approval, first login,
personal password, clerks, the role checks, deactivation."""

from __future__ import annotations

import re
import subprocess

import pytest
from sqlalchemy import select

from ingest.accounts.applications import approve
from ingest.accounts.audit import Actor
from ingest.accounts.models import Account, ApplicationState
from ingest.errors import UsageError
from ingest.settings import Settings
from ingest.storing.db import make_engine, session_factory
from ingest.storing.models import Sender
from tests.portal_support import (
    ADMIN,
    GOOD_PASSWORD,
    Client,
    Clock,
    admin_signed_in,
    approve_now,
    attr,
    body,
    create_clerk,
    link,
    mails,
    register_admin,
)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def client(settings: Settings, clock: Clock) -> Client:
    return Client(settings, clock)


def test_registration_mails_a_confirmation_link_and_offers_the_form_as_pdf(
    client: Client, tmp_path
) -> None:
    """The form carries the Antragsnummer, the applicant, the member and its billing offices."""
    page = client.post("/registrierung/administrator", {**ADMIN, "terms": "ja"})
    number = attr(page.text, "data-antragsnummer")
    assert "Antragsformular herunterladen" in page.text
    form_link = re.search(r'href="(/antragsformular/[^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    pdf = client.get(form_link)
    assert pdf.headers["content-type"] == "application/pdf"
    (tmp_path / "antrag.pdf").write_bytes(pdf.content)
    text = subprocess.run(
        ["pdftotext", str(tmp_path / "antrag.pdf"), "-"], capture_output=True, text=True, check=True
    ).stdout
    for expected in (
        number,
        "Anna Schmidt",
        "100001",
        "Stadt Musterhausen",
        "001, 002",
        "Dienstsiegel",
        "Geschäftsleitung",
        "Postfach 10 00 00",
    ):
        assert expected in text
    (mail,) = mails(client.settings)
    assert mail["To"] == ADMIN["email"] and number in mail["Subject"]
    assert link(body(mail), "/registrierung/bestaetigen/")


def test_the_confirmation_link_shows_the_state_of_the_application(
    client: Client, clock: Clock
) -> None:
    """Unconfirmed while the link is only opened → waiting for the letter once its button is
    pressed → approved."""
    page = client.post("/registrierung/administrator", {**ADMIN, "terms": "ja"})
    number = attr(page.text, "data-antragsnummer")
    confirm = link(body(mails(client.settings)[0]), "/registrierung/bestaetigen/")
    opened = client.get(confirm).text
    assert 'data-antragsstand="unbestaetigt"' in opened
    assert "E-Mail-Adresse bestätigen" in opened
    assert 'data-antragsstand="unbestaetigt"' in client.get(confirm).text
    assert 'data-antragsstand="wartet"' in client.post(confirm).text
    approve_now(client, number, clock)
    assert 'data-antragsstand="genehmigt"' in client.get(confirm).text
    assert client.get("/registrierung/bestaetigen/nichtdabei").status_code == 404


def test_an_unconfirmed_application_cannot_be_approved(client: Client, clock: Clock) -> None:
    """The e-mail address must be confirmed before the fund approves."""
    page = client.post("/registrierung/administrator", {**ADMIN, "terms": "ja"})
    number = attr(page.text, "data-antragsnummer")
    with pytest.raises(UsageError, match="nicht bestätigt"):
        approve_now(client, number, clock)


def test_first_login_leads_to_the_personal_password_and_nowhere_else(
    client: Client, clock: Clock
) -> None:
    """With the one-time password only the password page is reachable; the rules apply."""
    number, _ = register_admin(client)
    otp = approve_now(client, number, clock)
    assert client.login(ADMIN["email"], otp).url.path == "/passwort"
    assert client.get("/sachbearbeiter").url.path == "/passwort"
    short = client.set_password("kurz")
    assert short.status_code == 400 and "mindestens 12 Zeichen" in short.text
    with_email = client.set_password("anna.schmidt-2026!")
    assert "E-Mail-Adresse" in with_email.text and with_email.status_code == 400
    common = client.set_password("passwort1234")
    assert "verbreitet" in common.text
    start = client.set_password()
    assert start.url.path == "/" and "Anna Schmidt" in start.text and "Administrator" in start.text
    client.post("/abmelden")
    assert client.get("/sachbearbeiter").url.path == "/anmelden"
    assert client.login(ADMIN["email"], GOOD_PASSWORD).url.path == "/"


def test_administrator_creates_a_clerk_who_signs_in_with_the_one_time_password(
    client: Client, clock: Clock, settings: Settings
) -> None:
    """The clerk's first login leads to the password page, then to the service functions."""
    admin_signed_in(client, clock)
    otp = create_clerk(client, "bernd.weber@musterhausen.example", ["001"])
    clerks = client.get("/sachbearbeiter").text
    assert "bernd.weber@musterhausen.example" in clerks and "aktiv" in clerks
    clerk = Client(settings, clock)
    assert clerk.login("bernd.weber@musterhausen.example", otp).url.path == "/passwort"
    start = clerk.set_password()
    assert "Sachbearbeiter" in start.text and "Datei hochladen" in start.text
    assert clerk.get("/sachbearbeiter").status_code == 403


def test_every_service_url_answers_403_with_the_explanation_for_an_administrator(
    client: Client, clock: Clock
) -> None:
    """Administrators have no service functions and must create themselves as clerks."""
    admin_signed_in(client, clock)
    for path in (
        "/hochladen",
        "/lieferungen",
        "/erfassen",
        "/meldungen",
        "/suche",
        "/auswertungen",
        "/qualitaet",
    ):
        page = client.get(path)
        assert page.status_code == 403
        assert "keine Rechte für die Servicefunktionen" in page.text
        assert "als Sachbearbeiter an" in page.text


def test_deactivating_a_clerk_ends_the_open_session_at_once(
    client: Client, clock: Clock, settings: Settings
) -> None:
    """The clerk's next request goes to the login page; activation lets the clerk in again."""
    admin_signed_in(client, clock)
    otp = create_clerk(client, "bernd.weber@musterhausen.example", ["001"])
    clerk = Client(settings, clock)
    clerk.login("bernd.weber@musterhausen.example", otp)
    clerk.set_password()
    assert clerk.get("/").url.path == "/"
    clerk_id = _account_id(settings, "bernd.weber@musterhausen.example")
    client.post(f"/sachbearbeiter/{clerk_id}/deaktivieren")
    assert clerk.get("/").url.path == "/anmelden"
    assert clerk.login("bernd.weber@musterhausen.example", GOOD_PASSWORD).url.path == "/anmelden"
    client.post(f"/sachbearbeiter/{clerk_id}/aktivieren")
    assert clerk.login("bernd.weber@musterhausen.example", GOOD_PASSWORD).url.path == "/"
    history = client.get("/sachbearbeiter").text
    assert "deaktiviert" in history and "aktiviert" in history and ADMIN["email"] in history


def test_an_administrator_grants_only_billing_offices_it_holds(
    client: Client, clock: Clock, settings: Settings
) -> None:
    """An office of another member posted by hand is refused; the form offers only the own ones."""
    number, _ = register_admin(client, offices="001")
    otp = approve_now(client, number, clock)
    client.login(ADMIN["email"], otp)
    client.set_password()
    form = client.get("/sachbearbeiter/anlegen").text
    assert "Abrechnungsstelle 001" in form and "Abrechnungsstelle 002" not in form
    other_office = _office_id(settings, "100002", "001")
    page = client.post(
        "/sachbearbeiter/anlegen",
        {
            "first_name": "X",
            "last_name": "Y",
            "email": "x.y@musterhausen.example",
            "office": [str(other_office)],
        },
    )
    assert page.status_code == 400 and "eigenen Abrechnungsstellen" in page.text
    otp = create_clerk(client, "bernd.weber@musterhausen.example", ["001"])
    clerk_id = _account_id(settings, "bernd.weber@musterhausen.example")
    edit = client.post(
        f"/sachbearbeiter/{clerk_id}",
        {
            "first_name": "Bernd",
            "last_name": "Weber-Neu",
            "email": "bernd.weber@musterhausen.example",
            "office": [str(other_office)],
        },
    )
    assert edit.status_code == 400


def test_another_members_clerk_is_not_found(
    client: Client, clock: Clock, settings: Settings
) -> None:
    """An administrator of member 100002 gets 404 for every URL of a clerk of member 100001."""
    admin_signed_in(client, clock)
    create_clerk(client, "bernd.weber@musterhausen.example", ["001"])
    clerk_id = _account_id(settings, "bernd.weber@musterhausen.example")
    other = Client(settings, clock)
    number, _ = register_admin(
        other, email="carla.klein@beispiel.example", member_number="100002", offices="001"
    )
    other.login("carla.klein@beispiel.example", approve_now(other, number, clock))
    other.set_password()
    assert other.get(f"/sachbearbeiter/{clerk_id}").status_code == 404
    for action in ("einmalpasswort", "deaktivieren"):
        page = other.post(f"/sachbearbeiter/{clerk_id}/{action}")
        assert page.status_code == 404
        assert "bernd.weber" not in page.text
    assert "bernd.weber" not in other.get("/sachbearbeiter").text


def test_administrators_of_one_member_see_and_deactivate_each_other(
    client: Client, clock: Clock, settings: Settings
) -> None:
    """A deactivated administrator cannot sign in any more."""
    admin_signed_in(client, clock)
    second = Client(settings, clock)
    number, _ = register_admin(second, email="dora.lang@musterhausen.example", offices="002")
    second.login("dora.lang@musterhausen.example", approve_now(second, number, clock))
    second.set_password()
    assert "dora.lang@musterhausen.example" in client.get("/sachbearbeiter").text
    dora = _account_id(settings, "dora.lang@musterhausen.example")
    client.post(f"/sachbearbeiter/administratoren/{dora}/deaktivieren")
    assert second.get("/").url.path == "/anmelden"


def test_a_data_center_registers_and_becomes_a_sender_on_approval(
    client: Client, clock: Clock, settings: Settings
) -> None:
    """Approval creates the sender with its Betriebsnummer; the account is a data center's."""
    page = client.post(
        "/registrierung/rechenzentrum",
        {
            "center_name": "Lohnservice West",
            "betriebsnummer": "87654322",
            "first_name": "Emil",
            "last_name": "Roth",
            "email": "emil.roth@lohnservice.example",
            "phone": "",
            "terms": "ja",
        },
    )
    assert page.status_code == 200, page.text
    number = attr(page.text, "data-antragsnummer")
    client.get(link(body(mails(settings)[-1]), "/registrierung/bestaetigen/"))
    client.post(link(body(mails(settings)[-1]), "/registrierung/bestaetigen/"))
    otp = approve_now(client, number, clock)
    with session_factory(make_engine(settings))() as session:
        sender = session.scalar(select(Sender).where(Sender.number == "87654322"))
        assert sender is not None and sender.kind == "rechenzentrum"
        account = session.scalar(select(Account).where(Account.sender_id == sender.id))
        assert account is not None and account.role == "rechenzentrum"
    client.login("emil.roth@lohnservice.example", otp)
    start = client.set_password()
    assert "Rechenzentrum" in start.text
    assert client.get("/sachbearbeiter").status_code == 403


def test_the_fund_approves_in_the_console_and_sees_the_users(
    client: Client, clock: Clock, settings: Settings
) -> None:
    """ "Anträge" lists the application; "Genehmigen" shows the one-time password once."""
    applicant = Client(settings, clock)
    number, _ = register_admin(applicant)
    operator = _operator(settings)
    client.login("olga.kasse@zvk.example", operator)
    client.set_password()
    start = client.get("/").text
    assert ">Anträge<" in start and ">Benutzer<" in start
    assert number in client.get("/konsole/antraege").text
    shown = client.post(f"/konsole/antraege/{number}/genehmigen")
    otp = attr(shown.text, "data-otp")
    assert applicant.login(ADMIN["email"], otp).url.path == "/passwort"
    users = client.get("/konsole/benutzer").text
    assert ADMIN["email"] in users and "Administrator" in users
    audit = client.get("/konsole/audit").text
    assert 'data-action="application.approved"' in audit and number in audit
    applicant.set_password()
    assert applicant.get("/konsole/audit").status_code == 403
    with session_factory(make_engine(settings))() as session, pytest.raises(UsageError):
        approve(
            session, number, Actor.command_line(), clock(), otp_valid_days=28, role_mailboxes=[]
        )


def test_a_rejected_application_shows_its_reason(client: Client, clock: Clock) -> None:
    """Rejection by the console keeps the reason, which the applicant reads by the link; the
    link shows nothing else of the application any more."""
    _, _ = register_admin(client)
    confirm = link(body(mails(client.settings)[0]), "/registrierung/bestaetigen/")
    operator = Client(client.settings, clock)
    operator.login("olga.kasse@zvk.example", _operator(client.settings))
    operator.set_password()
    number = attr(client.get(confirm).text, "data-antragsnummer")
    operator.post(f"/konsole/antraege/{number}/ablehnen", {"reason": "Dienstsiegel fehlt"})
    page = client.get(confirm)
    assert page.status_code == 410
    assert "abgelehnt" in page.text and "Dienstsiegel fehlt" in page.text
    assert ADMIN["last_name"] not in page.text
    assert ApplicationState.REJECTED.value == "abgelehnt"


def _operator(settings: Settings) -> str:
    """`zvk operators add` in its own process; the one-time password is its last line."""
    done = subprocess.run(
        [
            ".venv/bin/zvk",
            "--home",
            str(settings.home),
            "operators",
            "add",
            "--email",
            "olga.kasse@zvk.example",
            "--name",
            "Olga Kasse",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip().splitlines()[-1]


def _account_id(settings: Settings, address: str) -> int:
    with session_factory(make_engine(settings))() as session:
        found = session.scalar(select(Account.id).where(Account.email == address))
        assert found is not None
        return found


def _office_id(settings: Settings, member: str, office: str) -> int:
    from ingest.storing.models import BillingOffice, Member

    with session_factory(make_engine(settings))() as session:
        found = session.scalar(
            select(BillingOffice.id)
            .join(Member, Member.id == BillingOffice.member_id)
            .where(Member.number == member, BillingOffice.number == office)
        )
        assert found is not None
        return found
