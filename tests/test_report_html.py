"""The evaluations: CSV, XLSX and an HTML report per member, rendered in headless Chromium."""

from __future__ import annotations

import csv
import re
import shutil
import zipfile
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import SENDER, Deliver
from test_reconcile import IN_TIME, arrived_on
from typer.testing import CliRunner

from ingest.cli.main import app
from ingest.reconciling.payments import import_statement
from ingest.reconciling.publish import Published, build_reports
from ingest.reconciling.runs import run_reconciliation
from ingest.reconciling.sample_year import OfficePlan, SampleYear
from ingest.settings import Settings
from ingest.storing.db import make_engine, session_factory
from ingest.storing.registry import add_member

CHROMIUM = shutil.which("chromium")


def cli_text(settings: Settings, database_url: str | None, *args: str) -> str:
    env = {"ZVK_LOG__LEVEL": "WARNING", **({"ZVK_DB__URL": database_url} if database_url else {})}
    result = CliRunner().invoke(app, ["--home", str(settings.home), *args], env=env)
    assert result.exit_code == 0, result.output
    return result.stdout


AS_OF = date(2026, 3, 16)
HOSTILE = '<script>alert("x")</script> & Söhne'
TABLE_FILES = [
    "abgleich.csv",
    "auswertung.xlsx",
    "bericht.html",
    "fehlende_jahresmeldungen.csv",
    "versicherte.csv",
    "versorgungspunkte.csv",
    "zahlungen.csv",
]


@pytest.fixture
def published(settings: Settings, deliver: Deliver) -> dict[str | None, Published]:
    """A year of two billing offices (90 persons) with one unpaid month, reconciled and written."""
    sessions = session_factory(make_engine(settings))
    with sessions.begin() as session:
        add_member(session, "100003", HOSTILE, ["001"])
    year = SampleYear(
        2025,
        [OfficePlan(SENDER, "100001", "001", 60, 1), OfficePlan(SENDER, "100001", "002", 30, 200)],
    )
    for sender, builder in year.files():
        assert deliver(builder, sender=sender).result == "fehlerfrei"
    arrived_on(settings, IN_TIME)
    statement = year.camt053(missing=frozenset({("100001", "002", "2025-06")}))
    import_statement(sessions, statement, "auszug.xml")
    assert run_reconciliation(settings, sessions, AS_OF) is not None
    return {p.member: p for p in build_reports(settings, sessions, AS_OF)}


def read_csv(path: Path) -> list[dict[str, str]]:
    """A people's CSV: UTF-8 with BOM, ``;`` between fields, decimal comma."""
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    with path.open(encoding="utf-8-sig") as fh:
        return list(csv.DictReader(fh, delimiter=";"))


def amount(text: str) -> Decimal:
    assert "." not in text, text  # decimal comma, no thousands mark
    return Decimal(text.replace(",", "."))


def test_reports_per_member_and_fund(
    settings: Settings, database_url: str | None, published: dict[str | None, Published]
) -> None:
    """Each member and the fund get CSV, XLSX and HTML in their folders, listed by the CLI."""
    assert sorted(published, key=str) == ["100001", "100002", "100003", None]
    own = published["100001"].folder
    assert own == settings.outbox / "mitglieder" / "100001" / "auswertungen" / "2026-03-16"
    assert sorted(p.name for p in own.iterdir()) == TABLE_FILES
    payments = read_csv(own / "zahlungen.csv")
    columns = ["mitgliedsnummer", "abrechnungsstelle", "monat", "soll", "ist", "differenz"]
    assert list(payments[0]) == columns
    assert len(payments) == 24
    unpaid = [r for r in payments if amount(r["differenz"]) != 0]
    assert [(r["abrechnungsstelle"], r["monat"], r["ist"]) for r in unpaid] == [
        ("002", "2025-06", "0,00")
    ]
    assert all(amount(r["soll"]) > 1000 for r in payments)
    insured = read_csv(own / "versicherte.csv")
    assert sum(int(r["anzahl"]) for r in insured) == 90
    assert {r["status"] for r in insured} == {"aktiv", "ausgeschieden"}
    assert len(read_csv(own / "versorgungspunkte.csv")) == 85  # 90 persons, 5 left in the year
    with zipfile.ZipFile(own / "auswertung.xlsx") as workbook:
        sheets = workbook.read("xl/workbook.xml").decode()
        words = workbook.read("xl/sharedStrings.xml").decode()
    for word in ("Abrechnungsstelle", "Differenz (EUR)", "Zahlung fehlt", "männlich"):
        assert f">{word}<" in words
    assert "zahlung_fehlt" not in words and "abrechnungsstelle" not in words
    for sheet in ("Versicherte", "Zahlungen", "Fehlende Jahresmeldungen", "Versorgungspunkte"):
        assert f'name="{sheet}"' in sheets
    assert read_csv(published["100002"].folder / "zahlungen.csv") == []
    machine = cli_text(settings, database_url, "export", "abgleich", "--format", "csv")
    assert machine.startswith("mitgliedsnummer,abrechnungsstelle,")  # the export stays as it was
    assert (published[None].folder / "bericht.html").is_file()

    hostile = (published["100003"].folder / "bericht.html").read_text(encoding="utf-8")
    made = r"Erstellt von zvk-ingest am \d\d\.\d\d\.\d{4} \d\d:\d\d \+0[12]:00\."
    assert re.search(made, hostile), "the time of making has its offset"
    assert "<script" not in hostile
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; Söhne" in hostile

    env = {"ZVK_LOG__LEVEL": "WARNING", **({"ZVK_DB__URL": database_url} if database_url else {})}
    listed = CliRunner().invoke(app, ["--home", str(settings.home), "reports", "list"], env=env)
    assert listed.exit_code == 0, listed.output
    assert [line.split("\t")[:2] for line in listed.stdout.splitlines()] == [
        ["Mitglied", "Stichtag"],
        ["100001", "2026-03-16"],
        ["100002", "2026-03-16"],
        ["100003", "2026-03-16"],
        ["Kasse", "2026-03-16"],
    ]


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium package is not installed")
def test_html_report_renders_in_headless_chromium(
    published: dict[str | None, Published], tmp_path: Path
) -> None:
    """The member's report opens in Chromium without errors, its three charts decode and show,
    its tables have their rows; a full-page screenshot is taken."""
    from playwright.sync_api import sync_playwright

    report = published["100001"].folder / "bericht.html"
    problems: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(str(e)))
            page.on("requestfailed", lambda r: problems.append(f"failed: {r.url[:60]}"))
            page.goto(report.as_uri(), wait_until="load")
            assert page.title() == "Auswertung Stadt Musterhausen (100001) zum 16.03.2026"
            charts = page.eval_on_selector_all(
                "figure.chart img",
                "imgs => imgs.map(i => [i.complete, i.naturalWidth, i.naturalHeight, i.alt])",
            )
            rows = page.eval_on_selector_all(
                "table.data", "ts => ts.map(t => [t.id, t.tBodies[0].rows.length])"
            )
            # At 1200 px every table fits: no column hides behind a horizontal scrollbar.
            overflowing = page.eval_on_selector_all(
                "div.scroll",
                "ds => ds.filter(d => d.scrollWidth > d.clientWidth).map(d => d.firstChild.id)",
            )
            screenshot = tmp_path / "bericht.png"
            page.screenshot(path=str(screenshot), full_page=True)
            page.goto((published["100002"].folder / "bericht.html").as_uri(), wait_until="load")
            empty_charts = page.eval_on_selector_all("figure.chart", "fs => fs.length")
            notice = page.inner_text("#keine-daten")
            page.screenshot(path=str(tmp_path / "leer.png"), full_page=True)
        finally:
            browser.close()
    assert problems == []
    assert overflowing == []
    assert empty_charts == 0
    assert "Für dieses Mitglied liegen zum 16.03.2026 noch keine Meldungen" in notice
    assert [alt for *_size, alt in charts] == [
        "Soll und Ist je Monat (EUR)",
        "Aktive Versicherte nach Altersband und Geschlecht",
        "Verteilung der Versorgungspunkte",
    ]
    assert all(done and width > 300 and height > 200 for done, width, height, _alt in charts)
    assert dict(rows) == {
        "abgleich": 5,  # June unpaid; Jan and Feb 2026 without Monatsabrechnung at two offices
        "zahlungen": 24,
        "versicherte": len(read_csv(published["100001"].folder / "versicherte.csv")),
        "versorgungspunkte": 85,
    }
    assert screenshot.stat().st_size > 50_000


def test_fund_report_findings_fit_1200_px(
    settings: Settings, published: dict[str | None, Published], tmp_path: Path
) -> None:
    """The fund's findings table fits at 1200 px with nothing cut off: member and office come
    first, the bank reference has its column, a long Hinweis wraps instead of being cut."""
    from playwright.sync_api import sync_playwright

    sessions = session_factory(make_engine(settings))
    unmatched = (
        "buchungsdatum;betrag;verwendungszweck;auftraggeber\n"
        "2026-03-02;1.234,56;Umlage Maerz ohne Nummer;Stadtwerke Musterhausen GmbH\n"
    )
    import_statement(sessions, unmatched.encode(), "korrektur.csv")
    assert run_reconciliation(settings, sessions, AS_OF) is not None
    [fund] = [p for p in build_reports(settings, sessions, AS_OF) if p.member is None]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"]
        )
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.goto((fund.folder / "bericht.html").as_uri(), wait_until="load")
            overflowing = page.eval_on_selector_all(
                "div.scroll",
                "ds => ds.filter(d => d.scrollWidth > d.clientWidth).map(d => d.firstChild.id)",
            )
            page_wider = page.evaluate(
                "document.documentElement.scrollWidth > document.documentElement.clientWidth"
            )
            cut = page.eval_on_selector_all(
                "#abgleich td", "tds => tds.filter(t => t.scrollWidth > t.clientWidth).length"
            )
            headings = page.eval_on_selector_all("#abgleich th", "ths => ths.map(t => t.innerText)")
            cells = page.eval_on_selector_all(
                "#abgleich tbody tr", "trs => trs.map(r => [...r.cells].map(c => c.innerText))"
            )
            page.screenshot(path=str(tmp_path / "kasse.png"), full_page=True)
            member = (published["100001"].folder / "bericht.html").read_text(encoding="utf-8")
        finally:
            browser.close()
    assert overflowing == [] and not page_wider and cut == 0
    assert headings[:3] == ["Mitglied", "Abrechnungsstelle", "Befund"]
    assert "Bezug" in headings
    row = next(c for c in cells if "Zahlung nicht zugeordnet" in c)
    assert any(text.startswith("csv:") for text in row)
    assert any("kein Verwendungszweck ZVK" in text for text in row)
    # the member's header names its number once (in the title)
    header = member[member.index("<header>") : member.index("</header>")]
    assert header.count("100001") == 1


def test_points_histogram_axis_uses_decimal_comma() -> None:
    import polars as pl

    from ingest.reconciling.report_html import points_chart

    frame = pl.DataFrame(
        {"jahr": [2025] * 4, "versorgungspunkte": [Decimal(v) for v in ("1.25", "1.8", "2", "3")]},
        schema={"jahr": pl.Int64, "versorgungspunkte": pl.Decimal(8, 2)},
    )
    labels = [label for label in points_chart(frame).xlabels if label]
    assert any("," in label for label in labels), labels
    assert not any("." in label for label in labels), labels
