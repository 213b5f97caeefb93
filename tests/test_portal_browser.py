"""End to end in real headless Chromium against the portal served by uvicorn on a free port:
registration, confirmation mail, application form, approval by `zvk` and in the console, first
logins, clerks, the administrator's 403, deactivation ending the clerk's session."""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from ingest.portal.app import create_app
from ingest.settings import Settings
from ingest.storing.db import make_engine, session_factory
from tests.portal_support import GOOD_PASSWORD, body, link, mails

pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def portal_url(settings: Settings) -> Iterator[tuple[str, Settings]]:
    """The portal served by a real uvicorn in a thread; mails link to its address."""
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    served = settings.model_copy(
        update={"portal": settings.portal.model_copy(update={"base_url": base, "port": port})}
    )
    app = create_app(served, session_factory(make_engine(served)))
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        assert thread.is_alive(), "the portal did not start"
        thread.join(0.05)
    try:
        yield base, served
    finally:
        server.should_exit = True
        thread.join()


@pytest.fixture
def browser() -> Iterator[object]:
    if CHROMIUM is None:
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


def _zvk(settings: Settings, *args: str) -> str:
    done = subprocess.run(
        [".venv/bin/zvk", "--home", str(settings.home), *args],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip().splitlines()[-1]


def _confirm_by_mail(page, settings: Settings, number: str) -> None:  # type: ignore[no-untyped-def]
    (mail,) = [m for m in mails(settings) if number in m["Subject"]]
    page.goto(settings.portal.base_url + link(body(mail), "/registrierung/bestaetigen/"))
    assert page.locator("[data-antragsstand]").get_attribute("data-antragsstand") == "unbestaetigt"
    page.get_by_role("button", name="E-Mail-Adresse bestätigen").click()
    assert page.locator("[data-antragsstand]").get_attribute("data-antragsstand") == "wartet"


def _first_login(page, base: str, address: str, otp: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(base + "/anmelden")
    page.get_by_label("E-Mail-Adresse", exact=True).fill(address)
    page.get_by_label("Passwort", exact=True).fill(otp)
    page.get_by_role("button", name="Anmelden").click()
    assert page.url.endswith("/passwort")
    page.get_by_label("Neues Passwort", exact=True).fill(GOOD_PASSWORD)
    page.get_by_label("Neues Passwort wiederholen", exact=True).fill(GOOD_PASSWORD)
    page.get_by_role("button", name="Passwort speichern").click()
    assert page.url == base + "/"


def test_administrator_from_registration_to_a_deactivated_clerk(
    portal_url: tuple[str, Settings],
    browser,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    """The whole administrator flow by the binding labels, in a real browser."""
    base, settings = portal_url
    admin = browser.new_context().new_page()
    admin.goto(base + "/registrierung/administrator")
    for label, value in (
        ("Vorname", "Anna"),
        ("Nachname", "Schmidt"),
        ("E-Mail-Adresse", "anna.schmidt@musterhausen.example"),
        ("Telefon", "030 1234567"),
        ("Mitgliedsnummer", "100001"),
        ("Abrechnungsstellen", "001, 002"),
    ):
        admin.get_by_label(label, exact=True).fill(value)
    admin.get_by_label("Ich akzeptiere die Nutzungsbedingungen").check()
    admin.get_by_role("button", name="Registrieren").click()
    number = admin.locator("[data-antragsnummer]").inner_text().strip()
    with admin.expect_download() as download:
        admin.get_by_text("Antragsformular herunterladen").click()
    pdf = tmp_path / "antrag.pdf"
    download.value.save_as(pdf)
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True).stdout
    assert number in text and "Anna Schmidt" in text and "Stadt Musterhausen" in text

    _confirm_by_mail(admin, settings, number)
    otp = _zvk(settings, "applications", "approve", number)
    _first_login(admin, base, "anna.schmidt@musterhausen.example", otp)
    assert "Anna Schmidt" in admin.content() and "Administrator" in admin.content()

    admin.get_by_role("link", name="Sachbearbeiter", exact=True).click()
    admin.get_by_role("link", name="Sachbearbeiter anlegen").click()
    admin.get_by_label("Vorname", exact=True).fill("Bernd")
    admin.get_by_label("Nachname", exact=True).fill("Weber")
    admin.get_by_label("E-Mail-Adresse", exact=True).fill("bernd.weber@musterhausen.example")
    admin.get_by_label("Abrechnungsstelle 001", exact=True).check()
    admin.get_by_role("button", name="Anlegen").click()
    clerk_otp = admin.locator("[data-otp]").inner_text().strip()

    clerk = browser.new_context().new_page()
    _first_login(clerk, base, "bernd.weber@musterhausen.example", clerk_otp)
    assert "Sachbearbeiter" in clerk.content() and "Datei hochladen" in clerk.content()

    refused = admin.goto(base + "/hochladen")
    assert refused is not None and refused.status == 403
    assert "keine Rechte für die Servicefunktionen" in admin.content()

    admin.goto(base + "/sachbearbeiter")
    row = admin.locator('tr[data-email="bernd.weber@musterhausen.example"]')
    row.get_by_role("button", name="Deaktivieren").click()
    clerk.reload()
    assert clerk.url.endswith("/anmelden")
    row = admin.locator('tr[data-email="bernd.weber@musterhausen.example"]')
    assert "deaktiviert" in row.inner_text()
    row.get_by_role("button", name="Aktivieren").click()
    clerk.get_by_label("E-Mail-Adresse", exact=True).fill("bernd.weber@musterhausen.example")
    clerk.get_by_label("Passwort", exact=True).fill(GOOD_PASSWORD)
    clerk.get_by_role("button", name="Anmelden").click()
    assert clerk.url == base + "/"


def test_data_center_from_registration_to_first_login(
    portal_url: tuple[str, Settings],
    browser,  # type: ignore[no-untyped-def]
) -> None:
    """A data center registers with its Betriebsnummer, is approved by the fund's operator in
    the console, signs in."""
    base, settings = portal_url
    page = browser.new_context().new_page()
    page.goto(base + "/registrierung/rechenzentrum")
    for label, value in (
        ("Name des Rechenzentrums", "Lohnservice West"),
        ("Betriebsnummer", "87654322"),
        ("Vorname", "Emil"),
        ("Nachname", "Roth"),
        ("E-Mail-Adresse", "emil.roth@lohnservice.example"),
        ("Telefon", "0211 55555"),
    ):
        page.get_by_label(label, exact=True).fill(value)
    page.get_by_label("Ich akzeptiere die Nutzungsbedingungen").check()
    page.get_by_role("button", name="Registrieren").click()
    number = page.locator("[data-antragsnummer]").inner_text().strip()
    _confirm_by_mail(page, settings, number)
    listed = subprocess.run(
        [
            ".venv/bin/zvk",
            "--home",
            str(settings.home),
            "applications",
            "list",
            "--state",
            "wartet",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert number in listed and "87654322" in listed

    # The fund's operator approves in the console ("Anträge"), as a person in the browser.
    operator_otp = _zvk(
        settings, "operators", "add", "--email", "olga.kasse@zvk.example", "--name", "Olga Kasse"
    )
    console = browser.new_context().new_page()
    _first_login(console, base, "olga.kasse@zvk.example", operator_otp)
    console.goto(base + "/konsole/antraege")
    row = console.locator(f'tr[data-antrag="{number}"]')
    row.get_by_role("button", name="Genehmigen").click()
    otp = console.locator("[data-otp]").inner_text().strip()
    assert "Emil" in console.content() and "Roth" in console.content()
    console.reload()  # shown once: a reload neither shows it again nor approves again
    assert otp not in console.content()

    _first_login(page, base, "emil.roth@lohnservice.example", otp)
    assert "Rechenzentrum" in page.content()
    assert _zvk(settings, "senders", "list").strip() != ""
