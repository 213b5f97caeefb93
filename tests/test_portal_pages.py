"""The portal's pages for people: German error pages for every bad request, the PDF without
log noise, the history naming whom a change concerned."""

from __future__ import annotations

import io
import logging

import pytest

from ingest.accounts.models import Application, ApplicationKind
from ingest.logs import configure
from ingest.portal.pdf import application_pdf
from ingest.settings import Settings
from tests.portal_support import Client, Clock, admin_signed_in


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
