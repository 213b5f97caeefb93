"""The protocol's texts are for people at a data center: German, naming the field that is
wrong, and every amount as German money (``1.234,56 EUR``)."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import codes
from zvk_inprocess import zvk_in

from ingest.answering.protocol import validate_xml
from ingest.samples.builder import FileBuilder, period_node
from ingest.settings import load_settings
from ingest.validating.checker import FileCheck
from ingest.validating.findings import Finding, money

# what libxml2's English looks like; none of it may reach a protocol
ENGLISH = re.compile(
    r"Element '|[Ee]xpected|is not (?:a valid|accepted|an element)|facet|\blength\b"
)


def checked(tmp_path: Path, data: bytes) -> list[Finding]:
    """The findings `zvk check`'s engine gives for these bytes."""
    path = tmp_path / f"datei-{len(list(tmp_path.iterdir()))}.xml"
    path.write_bytes(data)
    return FileCheck.without_database(path, load_settings(tmp_path / "home")).run().findings


def base() -> FileBuilder:
    b = FileBuilder()
    b.anmeldung(1, date(2026, 10, 1))
    b.abmeldung(2, periods=[period_node(date(2026, 1, 1), date(2026, 10, 31))])
    return b


VORNAME = re.compile(rb"<Vorname>[^<]*</Vorname>")


@pytest.mark.parametrize(
    ("change", "code", "field", "words"),
    [
        (
            lambda d: VORNAME.sub(b"", d, 1),
            "ZVDA010",
            "Person/Vorname",
            "Pflichtfeld Vorname fehlt",
        ),
        (
            lambda d: d.replace(b"<Geschlecht>W</Geschlecht>", b"", 1),
            "ZVDA010",
            "Person/Geschlecht",
            "Pflichtfeld Geschlecht fehlt",
        ),
        (
            lambda d: d.replace(b"<Beginn>2026-10-01</Beginn>", b"", 1),
            "ZVDA010",
            "Beginn",
            "Pflichtfeld Beginn fehlt",
        ),
        (
            lambda d: d.replace(b"<Abmeldegrund>13</Abmeldegrund>", b"", 1),
            "ZVDA010",
            "Abmeldegrund",
            "Pflichtfeld Abmeldegrund fehlt",
        ),
        (
            lambda d: d.replace(b"<Geschlecht>", b"<Frisur>kurz</Frisur><Geschlecht>", 1),
            "ZVDA010",
            "Person/Frisur",
            "Element Frisur ist hier nicht erlaubt; erwartet: Geschlecht",
        ),
        (
            lambda d: d.replace(b"<Geschlecht>W", b"<Geschlecht>Q", 1),
            "ZVDA010",
            "Person/Geschlecht",
            "Wert „Q“ ist nicht zulässig; zulässig: M, W, D, X",
        ),
        (
            lambda d: d.replace(b"<Mitgliedsnummer>100001", b"<Mitgliedsnummer>10001", 1),
            "ZVDA010",
            "Mitgliedsnummer",
            "„10001“ ist ungültig; erwartet: 6 Ziffern",
        ),
        (
            lambda d: d.replace(b"<Beginn>2026-10-01", b"<Beginn>2026-02-30", 1),
            "ZVDA010",
            "Beginn",
            "„2026-02-30“ ist ungültig; erwartet: ein Datum JJJJ-MM-TT",
        ),
        (
            lambda d: d.replace(b"<Dateiart>Monatsmeldung", b"<Dateiart>Quartal", 1),
            "ZVDA002",
            "Vorlauf/Dateiart",
            "Wert „Quartal“ ist nicht zulässig; zulässig: Monatsmeldung, Jahresmeldung",
        ),
    ],
    ids=[
        "missing",
        "missing-last",
        "missing-report",
        "missing-before",
        "unexpected",
        "value",
        "format",
        "date",
        "header-value",
    ],
)
def test_schema_findings_in_german_with_the_wrong_field(tmp_path, change, code, field, words):
    """The usual schema errors read as German sentences and name the field that is wrong
    (for a missing element: that element, not its parent or the one after the gap)."""
    findings = checked(tmp_path, change(base().to_bytes()))
    [finding] = [f for f in findings if f.code == code]
    assert finding.field == field
    assert words in finding.message, finding.message
    assert not ENGLISH.search(finding.message), finding.message


def test_decimal_comma_names_the_amount_and_nothing_else(tmp_path) -> None:
    """`30000,00` as Entgelt: ZVDA010 at that field says what a Betrag looks like; the trailer
    sum it cannot be part of gives no ZVNC020 beside it."""
    data = base().to_bytes()
    data = data.replace(b"<Entgelt>", b"<Entgelt>1.", 1).replace(
        b".00</Entgelt>", b",00</Entgelt>", 1
    )
    findings = checked(tmp_path, data)
    assert [(f.code, f.field) for f in findings] == [("ZVDA010", "Abschnitt[1]/Entgelt")]
    assert "Komma statt Punkt" in findings[0].message and "1234.56" in findings[0].message


def test_trailer_sums_as_german_money(tmp_path) -> None:
    """ZVNC020 gives both sums as German money."""
    b = base()
    b.trailer_overrides["SummeEntgelt"] = "1234.5"
    [finding] = checked(tmp_path, b.to_bytes())
    assert finding.code == "ZVNC020"
    assert finding.message.endswith(
        ": SummeEntgelt angegeben 1.234,50 EUR, berechnet 30.000,00 EUR."
    ), finding.message


def test_rate_hint_gives_reported_and_expected_amount(tmp_path) -> None:
    """ZVVA080 names the reported amount, the expected one, the rate and the pay, in German."""
    b = FileBuilder(kind="Jahresmeldung", period="2026")
    b.jahresmeldung(
        1, [period_node(date(2026, 1, 1), date(2026, 12, 31), pay="30000.00", amount="160.00")]
    )
    [finding] = checked(tmp_path, b.to_bytes())
    assert finding.code == "ZVVA080"
    assert finding.message.endswith(
        ": gemeldet 160,00 EUR, erwartet 480,00 EUR (1,60 % von 30.000,00 EUR), "
        "zulässige Abweichung 0,05 EUR."
    ), finding.message


def test_statement_sum_as_german_money(tmp_path) -> None:
    b = FileBuilder()
    b.monatsabrechnung(total="1.00")
    [finding] = checked(tmp_path, b.to_bytes())
    assert finding.code == "ZVMA010"
    assert finding.message.endswith(": gemeldet 1,00 EUR, Summe der Teilbeträge 1.938,00 EUR.")


def test_wrong_namespace_names_the_expected_one(tmp_path) -> None:
    data = base().to_bytes().replace(b"urn:zvk-ingest:meldedatei:1", b"urn:zvk:meldedatei", 1)
    [finding] = checked(tmp_path, data)
    assert finding.code == "ZVDA002"
    assert "„urn:zvk:meldedatei“" in finding.message
    assert 'xmlns="urn:zvk-ingest:meldedatei:1"' in finding.message


def test_undeclared_latin1_gets_a_hint(tmp_path) -> None:
    """A file in ISO-8859-1 without an encoding declaration: ZVDA001 says how to declare it."""
    b = base()
    b.reports[0].set("Person/Familienname", "Müller")
    data = b.to_bytes("ISO-8859-1").replace(b" encoding='ISO-8859-1'", b"", 1)
    [finding] = checked(tmp_path, data)
    assert finding.code == "ZVDA001"
    assert 'encoding="ISO-8859-1"' in finding.message, finding.message
    assert not ENGLISH.search(finding.message)


def test_zvk_check_of_a_broken_file_shows_no_made_up_sender(tmp_path) -> None:
    """`zvk check` of a file whose Vorlauf cannot be read says the Absender is unknown (the
    XML protocol still carries the eight digits its schema asks for)."""
    path = tmp_path / "kaputt.xml"
    path.write_bytes(base().to_bytes()[:200])
    text = zvk_in(None, "check", str(path))
    assert text.returncode == 1, text.stderr
    assert "Absender:          unbekannt (Vorlauf nicht lesbar)" in text.stdout
    assert "00000000" not in text.stdout
    xml = zvk_in(None, "check", "--format", "xml", str(path))
    assert validate_xml(xml.stdout.encode("utf-8")) == []


def test_money() -> None:
    assert [money(Decimal(v)) for v in ("0", "0.05", "-1234.5", "1234567.891")] == [
        "0,00 EUR",
        "0,05 EUR",
        "-1.234,50 EUR",
        "1.234.567,89 EUR",
    ]


def test_delivered_protocol_carries_the_german_texts(deliver, service) -> None:
    """Through a real ingest: the missing Vorname is named in the protocol's text."""
    b = FileBuilder()
    b.anmeldung(1, date(2026, 10, 1))
    verdict = deliver(VORNAME.sub(b"", b.to_bytes(), 1))
    [finding] = verdict.findings
    assert (finding.code, finding.field) == ("ZVDA010", "Person/Vorname"), codes(verdict)
    text = next((service.settings.outbox / verdict.sender).glob("*.protokoll.txt")).read_text()
    assert "Feld Person/Vorname" in text and "Pflichtfeld Vorname fehlt" in text
