"""What a clerk reads in the HTML report: German words, whole-number axes, distinct colours,
the sign of a difference in its colour, and every insured person counted once."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl
import pytest
from conftest import MEMBER_SENDER, SENDER, Deliver
from lxml import html

# The published reports of a year (two offices of member 100001, nothing for 100002).
from test_report_html import published  # noqa: F401

from ingest.reconciling import report_labels as labels
from ingest.reconciling.evaluations import MONEY
from ingest.reconciling.exports import FINDING_COLUMNS
from ingest.reconciling.publish import Published, build_reports
from ingest.reconciling.report_html import (
    _table,
    _tone,
    due_paid_chart,
    insured_chart,
    points_chart,
)
from ingest.samples.builder import FileBuilder
from ingest.settings import Settings
from ingest.storing.db import make_engine, session_factory

DOCS = Path(__file__).resolve().parent.parent / "docs" / "reconciliation.md"


def documented_kinds() -> set[str]:
    """The kinds of finding in the table of docs/reconciliation.md (column `art`)."""
    text = DOCS.read_text(encoding="utf-8")
    table = text[text.index("| art | when |") :].split("\n\n")[0]
    return {
        kind
        for line in table.splitlines()[2:]
        for kind in re.findall(r"`([a-z]+(?:_[a-z]+)+)`", line.split("|")[1])
    }


def test_every_kind_and_column_has_a_german_label() -> None:
    kinds = documented_kinds()
    assert len(kinds) == 13
    assert kinds == set(labels.KINDS)
    assert all("_" not in label for label in labels.KINDS.values())
    columns = set(FINDING_COLUMNS) | {
        "monat",
        "status",
        "altersband",
        "geschlecht",
        "anzahl",
        "jahr",
        "familienname",
        "vorname",
        "alter",
        "altersfaktor",
        "entgelt",
        "elternzeit_kindmonate",
        "versorgungspunkte",
    }
    assert columns <= set(labels.COLUMNS)


def cells(page: html.HtmlElement, table: str) -> list[dict[str, html.HtmlElement]]:
    heads = [th.text_content() for th in page.xpath(f"//table[@id='{table}']/thead/tr/th")]
    return [
        dict(zip(heads, row.xpath("td"), strict=True))
        for row in page.xpath(f"//table[@id='{table}']/tbody/tr")
    ]


def card(page: html.HtmlElement, label: str) -> html.HtmlElement:
    for found in page.xpath("//div[@class='card']"):
        if found.xpath("div[@class='label']")[0].text_content().startswith(label):
            return found.xpath("div[starts-with(@class, 'value')]")[0]
    raise AssertionError(f"no card {label!r}")


def test_report_speaks_german_and_colours_the_sign(
    published: dict[str | None, Published],  # noqa: F811
) -> None:
    page = html.parse(str(published["100001"].folder / "bericht.html")).getroot()
    headings = [th.text_content() for th in page.xpath("//table[@class='data']/thead/tr/th")]
    assert headings and set(headings) <= set(labels.COLUMNS.values())
    assert "Mitglied" not in headings  # a member's own report does not repeat its number
    findings = cells(page, "abgleich")
    assert {row["Befund"].text_content() for row in findings} == {
        "Monatsabrechnung fehlt",
        "Zahlung fehlt",
    }
    body = page.xpath("//main")[0].text_content()
    assert not re.search(r"\b[a-z]+_[a-z_]+\b", body), "snake_case on the page"
    [unpaid] = [
        r for r in cells(page, "zahlungen") if r["Differenz (EUR)"].text_content() != "0,00"
    ]
    assert unpaid["Differenz (EUR)"].text_content() == "-4.922,52"
    assert unpaid["Differenz (EUR)"].get("class") == "num neg"
    assert card(page, "Differenz").get("class") == "value bad"
    assert {r["Geschlecht"].text_content() for r in cells(page, "versicherte")} == {
        "männlich",
        "weiblich",
    }


def test_sign_of_a_difference_decides_its_colour() -> None:
    assert [_tone(Decimal(v)) for v in ("-0.01", "0", "0.01")] == ["bad", "good", "over"]
    frame = pl.DataFrame(
        [
            ("100001", "001", "2026-01", Decimal("10"), Decimal("5"), Decimal("-5")),
            ("100001", "001", "2026-02", Decimal("10"), Decimal("12"), Decimal("2")),
            ("100001", "001", "2026-03", Decimal("10"), Decimal("10"), Decimal("0")),
        ],
        schema={
            "mitgliedsnummer": pl.String,
            "abrechnungsstelle": pl.String,
            "monat": pl.String,
            "soll": MONEY,
            "ist": MONEY,
            "differenz": MONEY,
        },
        orient="row",
    )
    table = _table("zahlungen", "Zahlungen", frame, "100001")
    assert [c["label"] for c in table["columns"]] == [
        "Abrechnungsstelle",
        "Monat",
        "Soll (EUR)",
        "Ist (EUR)",
        "Differenz (EUR)",
    ]
    assert [(row[-1]["text"], row[-1]["class"]) for row in table["rows"]] == [
        ("-5,00", "num neg"),
        ("2,00", "num pos"),
        ("0,00", "num"),
    ]


def _ticks_whole(ticks: tuple[float, ...]) -> bool:
    return len(ticks) >= 2 and all(t == int(t) for t in ticks)


@pytest.mark.parametrize("soll", ["0.40", "3.00", "181432.33"])
def test_charts_have_whole_number_axes_and_distinct_colours(soll: str) -> None:
    zahlungen = pl.DataFrame(
        [("100001", "001", "2026-01", Decimal(soll), Decimal("0"), -Decimal(soll))],
        schema={
            "mitgliedsnummer": pl.String,
            "abrechnungsstelle": pl.String,
            "monat": pl.String,
            "soll": MONEY,
            "ist": MONEY,
            "differenz": MONEY,
        },
        orient="row",
    )
    money = due_paid_chart(zahlungen)
    assert _ticks_whole(money.ticks), money.ticks
    colours = dict(money.colours)
    assert set(colours) == {"Soll", "Ist"} and colours["Soll"] != colours["Ist"]
    one = pl.DataFrame(
        [(1, "100001", "35-44", "W")],
        schema={
            "person": pl.Int64,
            "mitgliedsnummer": pl.String,
            "altersband": pl.String,
            "geschlecht": pl.String,
        },
        orient="row",
    )
    insured = insured_chart(one)
    assert _ticks_whole(insured.ticks), insured.ticks
    assert dict(insured.colours) == {"weiblich": dict(insured.colours)["weiblich"]}
    points = points_chart(
        pl.DataFrame(
            {"jahr": [2025, 2025], "versorgungspunkte": [Decimal("1.80"), Decimal("2.10")]},
            schema={"jahr": pl.Int64, "versorgungspunkte": pl.Decimal(8, 2)},
        )
    )
    assert _ticks_whole(points.ticks), points.ticks
    for empty in (due_paid_chart(zahlungen.clear()), insured_chart(one.clear())):
        assert _ticks_whole(empty.ticks), empty.ticks


def test_person_insured_at_two_members_is_one_active_insured(
    settings: Settings, deliver: Deliver
) -> None:
    """Person 1 works for member 100001 and member 100002, person 2 at both offices of 100001:
    the fund has two active insured, 100001 two, 100002 one; the relationships stay four."""
    own = FileBuilder(sender=SENDER)
    own.anmeldung(1, date(2026, 10, 1))
    own.anmeldung(2, date(2026, 10, 1))
    own.anmeldung(2, date(2026, 10, 1), office="002")
    assert deliver(own).result == "fehlerfrei"
    other = FileBuilder(sender=MEMBER_SENDER)
    other.anmeldung(1, date(2026, 10, 1), member="100002", office="001")
    assert deliver(other, sender=MEMBER_SENDER).result == "fehlerfrei"
    today = datetime.now(ZoneInfo("Europe/Berlin")).date()
    sessions = session_factory(make_engine(settings))
    reports = {p.member: p.folder for p in build_reports(settings, sessions, today)}

    def active(member: str | None) -> str:
        page = html.parse(str(reports[member] / "bericht.html")).getroot()
        return str(card(page, "Aktive Versicherte").text_content())

    assert (active(None), active("100001"), active("100002")) == ("2", "2", "1")
    text = (reports[None] / "versicherte.csv").read_text(encoding="utf-8-sig")
    assert sum(int(line.split(";")[-1]) for line in text.splitlines()[1:]) == 4
