"""Registration under limits: per client address and per e-mail address; the confirmation
link confirms only by its button and only for a while; the form's link only while the
application waits for the letter."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from ingest.accounts.applications import reject
from ingest.accounts.audit import Actor
from ingest.accounts.models import Application, ApplicationState
from ingest.settings import Settings
from ingest.storing.db import make_engine, session_factory
from tests.portal_support import (
    ADMIN,
    Client,
    Clock,
    approve_now,
    attr,
    body,
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


def _with(settings: Settings, **portal: object) -> Settings:
    return settings.model_copy(update={"portal": settings.portal.model_copy(update=portal)})


def _apply(client: Client, email: str) -> int:
    return client.post(
        "/registrierung/administrator", {**ADMIN, "email": email, "terms": "ja"}
    ).status_code


def test_one_address_files_only_so_many_applications_a_day(
    settings: Settings, clock: Clock
) -> None:
    """portal.registrations_per_address within 24 hours; then a German page (429) and no
    mail; a day later again."""
    client = Client(_with(settings, registrations_per_address=3), clock)
    assert [_apply(client, f"person{n}@musterhausen.example") for n in range(3)] == [200] * 3
    refused = client.post(
        "/registrierung/administrator",
        {**ADMIN, "email": "person9@musterhausen.example", "terms": "ja"},
    )
    assert refused.status_code == 429 and "Zu viele Anträge" in refused.text
    assert len(mails(settings)) == 3
    clock.advance(hours=24, seconds=1)
    assert _apply(client, "person9@musterhausen.example") == 200


def test_one_email_address_gets_only_so_many_applications_a_day(
    settings: Settings, clock: Clock
) -> None:
    """portal.registrations_per_email (3) counts every address the applications came from,
    rejected applications too (an undecided one alone already refuses another)."""
    for n in range(3):
        assert _apply(Client(settings, clock, peer=(f"192.0.2.{n}", 1)), ADMIN["email"]) == 200
        _reject_undecided(settings, clock)
    assert _apply(Client(settings, clock, peer=("192.0.2.9", 1)), ADMIN["email"].upper()) == 429


def _reject_undecided(settings: Settings, clock: Clock) -> None:
    with session_factory(make_engine(settings))() as session:
        undecided = session.scalars(
            select(Application.number).where(Application.state != ApplicationState.REJECTED)
        ).all()
        for number in undecided:
            reject(session, number, "Dienstsiegel fehlt", Actor.command_line(), clock())
        session.commit()


def _registered(client: Client) -> tuple[str, str, str]:
    """Register; returns (Antragsnummer, the confirmation link, the form's link)."""
    page = client.post("/registrierung/administrator", {**ADMIN, "terms": "ja"})
    form = re.search(r'href="(/antragsformular/[^"]+)"', page.text)
    assert form is not None
    confirm = link(body(mails(client.settings)[-1]), "/registrierung/bestaetigen/")
    return attr(page.text, "data-antragsnummer"), confirm, form.group(1)


def test_opening_the_confirmation_link_confirms_nothing(client: Client) -> None:
    """A GET (a mail scanner following the link) leaves the address unconfirmed."""
    _, confirm, _ = _registered(client)
    for _ in range(2):
        assert 'data-antragsstand="unbestaetigt"' in client.get(confirm).text


def test_the_confirmation_link_expires(client: Client, clock: Clock) -> None:
    """After portal.confirmation_valid_days (7) the link neither confirms nor offers the form."""
    _, confirm, form = _registered(client)
    clock.advance(days=7, seconds=1)
    client.get("/anmelden")
    late = client.post(confirm)
    assert late.status_code == 410 and "abgelaufen" in late.text
    assert client.get(confirm).status_code == 410
    assert client.get(form).status_code == 410


def test_the_form_is_offered_only_while_the_letter_is_awaited(client: Client, clock: Clock) -> None:
    """Before and after confirming the PDF comes; once approved it does not."""
    number, confirm, form = _registered(client)
    assert client.get(form).headers["content-type"] == "application/pdf"
    client.get(confirm)
    client.post(confirm)
    assert client.get(form).headers["content-type"] == "application/pdf"
    approve_now(client, number, clock)
    gone = client.get(form)
    assert gone.status_code == 410 and "application/pdf" not in gone.headers["content-type"]


def test_a_rejected_applications_links_are_refused(
    client: Client, clock: Clock, settings: Settings
) -> None:
    """After rejection neither link serves the application (the status link says it was
    rejected, the form's link gives no PDF)."""
    number, page = register_admin(client)
    assert 'data-antragsstand="wartet"' in page
    form = re.search(r"/antragsformular/\S+", body(mails(settings)[-1]))
    assert form is not None
    with session_factory(make_engine(settings)).begin() as session:
        reject(session, number, "Dienstsiegel fehlt", Actor.command_line(), clock())
    confirm = link(body(mails(settings)[-1]), "/registrierung/bestaetigen/")
    assert client.get(confirm).status_code == 410
    assert client.get(form.group(0)).status_code == 410
