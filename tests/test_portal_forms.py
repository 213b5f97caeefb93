"""Forms for people: every problem at once, each at its field (aria-invalid, aria-describedby,
linked from the summary); a registration the fund could not approve is refused; the same form
sent twice stores one application."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from ingest.accounts.applications import NOT_AGAIN
from ingest.accounts.models import Application
from ingest.settings import Settings
from ingest.storing.db import make_engine, session_factory
from tests.portal_support import (
    ADMIN,
    Client,
    Clock,
    admin_signed_in,
    approve_now,
    attr,
    register_admin,
)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def client(settings: Settings, clock: Clock) -> Client:
    return Client(settings, clock)


def applications(settings: Settings) -> int:
    with session_factory(make_engine(settings))() as session:
        return session.scalar(select(func.count()).select_from(Application)) or 0


def assert_at_field(html: str, name: str, text: str) -> None:
    """The field is marked invalid, names its error text, and the summary links to it."""
    tag = re.search(rf'<input[^>]*\bid="{name}"[^>]*>', html)
    assert tag, f"no field {name}"
    assert 'aria-invalid="true"' in tag.group(0)
    described = re.search(r'aria-describedby="([^"]+)"', tag.group(0))
    assert described and f"{name}-fehler" in described.group(1).split()
    message = re.search(rf'<p class="feld-fehler" id="{name}-fehler">([^<]*)</p>', html)
    assert message and text in message.group(1)
    assert re.search(rf'<a href="#{name}">[^<]*{re.escape(text)}', html)


def test_registration_shows_every_problem_at_its_field(client: Client) -> None:
    """Unknown member, bad e-mail, missing name and terms: all four at once, nothing stored."""
    client.get("/registrierung/administrator")
    page = client.post(
        "/registrierung/administrator",
        {**ADMIN, "first_name": "", "email": "kein-at", "member_number": "999999"},
    )
    assert page.status_code == 400
    assert_at_field(page.text, "first_name", "Vornamen")
    assert_at_field(page.text, "email", "gültige E-Mail-Adresse")
    assert_at_field(page.text, "member_number", "999999 ist der Kasse nicht bekannt")
    assert_at_field(page.text, "terms", "Nutzungsbedingungen")
    assert applications(client.settings) == 0


def test_registration_refuses_billing_offices_the_member_lacks(client: Client) -> None:
    page = client.post(
        "/registrierung/administrator", {**ADMIN, "offices": "001, 005", "terms": "ja"}
    )
    assert page.status_code == 400
    assert_at_field(page.text, "offices", "keine Abrechnungsstelle 005")
    assert 'aria-describedby="offices-hilfe offices-fehler"' in page.text
    assert applications(client.settings) == 0


def test_an_address_with_an_account_or_an_open_application_gets_the_neutral_refusal(
    client: Client, clock: Clock
) -> None:
    """Both cases get one and the same message, which names neither."""
    number, _ = register_admin(client)
    pending = client.post("/registrierung/administrator", {**ADMIN, "terms": "ja"})
    assert pending.status_code == 400 and NOT_AGAIN in pending.text
    approve_now(client, number, clock)
    account = client.post("/registrierung/administrator", {**ADMIN, "terms": "ja"})
    assert account.status_code == 400 and NOT_AGAIN in account.text
    assert applications(client.settings) == 1


def test_the_same_form_sent_twice_stores_one_application(client: Client) -> None:
    """The form's key makes the second submission lead to the first application's page."""
    form = client.get("/registrierung/administrator").text
    key = re.search(r'name="antrag" value="([^"]+)"', form).group(1)  # type: ignore[union-attr]
    first = client.post("/registrierung/administrator", {**ADMIN, "terms": "ja", "antrag": key})
    second = client.post("/registrierung/administrator", {**ADMIN, "terms": "ja", "antrag": key})
    assert first.status_code == second.status_code == 200
    assert attr(first.text, "data-antragsnummer") == attr(second.text, "data-antragsnummer")
    assert first.url.path == second.url.path and first.url.path.startswith("/antrag/")
    assert applications(client.settings) == 1


def test_the_clerk_form_shows_every_problem_at_its_field(client: Client, clock: Clock) -> None:
    """No names, a role mailbox and no billing office: four problems, each at its field."""
    admin_signed_in(client, clock)
    page = client.post(
        "/sachbearbeiter/anlegen",
        {"first_name": " ", "last_name": "", "email": "info@musterhausen.example"},
    )
    assert page.status_code == 400
    assert_at_field(page.text, "first_name", "Vornamen")
    assert_at_field(page.text, "last_name", "Nachnamen")
    assert_at_field(page.text, "email", "Sammelpostfächer")
    assert 'id="office" aria-invalid="true" aria-describedby="office-fehler"' in page.text
    assert '<a href="#office">Bitte mindestens eine Abrechnungsstelle' in page.text


def test_the_password_form_names_every_problem_at_its_field(client: Client, clock: Clock) -> None:
    """A common password repeated wrongly: the rule at the first field, the mismatch at the
    second, both in the summary."""
    number, _ = register_admin(client)
    client.login(ADMIN["email"], approve_now(client, number, clock))
    page = client.post("/passwort", {"password": "Sommer2026!!", "password2": "anders"})
    assert page.status_code == 400
    assert_at_field(page.text, "password", "zu verbreitet")
    assert 'aria-describedby="passwort-regeln password-fehler"' in page.text
    assert_at_field(page.text, "password2", "stimmen nicht überein")
