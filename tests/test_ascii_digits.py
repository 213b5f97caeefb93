"""One rule for every number the service takes: the ASCII digits 0-9. Other scripts' digits
(Arabic-Indic, Devanagari, fullwidth …) pass `str.isdigit`, `int()` and `Decimal()`, and XML
Schema's `\\d`; the service refuses them in files, in folder names and logins, on the command
line (test_cli_arguments.py) and in the settings (test_settings_ranges.py)."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from ingest.receiving.dropfolder import classify
from ingest.samples.builder import FileBuilder, Node, period_node
from ingest.settings import Settings, load_settings
from ingest.storing.registry import Grant, check_member_number, check_sender_number
from ingest.validating.checker import FileCheck, FileOutcome
from ingest.validating.identifiers import (
    ascii_digits,
    betriebsnummer_valid,
    rvnr_shaped,
    sender_number_shaped,
    versicherungsnummer_valid,
)
from ingest.validating.peek import peek_sender

SCRIPTS = {
    "arabic-indic": "٠١٢٣٤٥٦٧٨٩",
    "devanagari": "०१२३४५६७८९",
    "fullwidth": "０１２３４５６７８９",
}


def foreign(text: str, script: str) -> str:
    return text.translate(str.maketrans("0123456789", SCRIPTS.get(script, "0123456789")))


@pytest.mark.parametrize("script", SCRIPTS)
def test_identifiers(script: str) -> None:
    assert foreign("66667777", script).isdigit()  # what the old checks relied on
    assert int(foreign("12", script)) == 12 and Decimal(foreign("1.5", script)) == Decimal("1.5")
    assert betriebsnummer_valid("66667777")
    for check in (betriebsnummer_valid, sender_number_shaped, ascii_digits):
        assert not check(foreign("66667777", script))
    assert not versicherungsnummer_valid(foreign("1000000016", script))
    assert not rvnr_shaped(foreign("65170839J003", script))
    for refuse, value in (
        (check_member_number, "100001"),
        (check_sender_number, "66667777"),
        (Grant.parse, "100001/001"),
    ):
        with pytest.raises(Exception, match=r"digit|expected"):
            refuse(foreign(value, script))


def _annual(field: str, script: str) -> FileBuilder:
    b = FileBuilder(file_number=1, kind="Jahresmeldung", period="2025")
    node: Node = b.jahresmeldung(
        1, [period_node(date(2025, 1, 1), date(2025, 12, 31), pay="30000.00")]
    )
    _replace(node, field, script)
    return b


def _replace(node: Node, field: str, script: str) -> None:
    found = node.find(field)
    assert found is not None and found.text, field
    found.text = foreign(found.text, script)


FIELDS = [
    ("header", "Absender"),
    ("header", "Dateifolgenummer"),
    ("header", "Erstellt"),
    ("header", "Zeitraum"),
    ("report", "Mitgliedsnummer"),
    ("report", "Abrechnungsstelle"),
    ("report", "Person/RVNR"),
    ("report", "Person/Geburtsdatum"),
    ("report", "Abschnitt/Beginn"),
    ("report", "Abschnitt/Buchungsschluessel"),
    ("report", "Abschnitt/Entgelt"),
    ("report", "Abschnitt/Betrag"),
]


@pytest.mark.parametrize("script", SCRIPTS)
@pytest.mark.parametrize(("where", "field"), FIELDS)
def test_a_file_with_other_digits_is_refused(
    tmp_path: Path, script: str, where: str, field: str
) -> None:
    settings = load_settings(tmp_path / "no-home")
    b = _annual(field, script) if where == "report" else _annual("Abschnitt/Beginn", "ascii")
    if where == "header":
        _replace(b.header, field, script)
    outcome = _check(b.write(tmp_path / "f.xml"), settings)
    assert _refused(outcome), [f.code for f in outcome.findings]


def test_the_monthly_statement_amounts(tmp_path: Path) -> None:
    settings = load_settings(tmp_path / "no-home")
    for field in ("AnzahlVersicherte", "Entgelt", "Umlage", "Gesamtbetrag"):
        b = FileBuilder(file_number=1)
        statement = b.monatsabrechnung(insured=1)
        _replace(statement, field, "arabic-indic")
        outcome = _check(b.write(tmp_path / f"{field}.xml"), settings)
        assert _refused(outcome), field


def _refused(outcome: FileOutcome) -> bool:
    """The file is refused as a whole, or none of its reports is accepted."""
    whole = any(f.rejects and f.file_level for f in outcome.findings)
    return whole or (outcome.accepted == 0 and any(f.rejects for f in outcome.findings))


def _check(path: Path, settings: Settings) -> FileOutcome:
    return FileCheck.without_database(path, settings).run()


def test_peek_and_drop_folder_refuse_other_digits(tmp_path: Path) -> None:
    b = FileBuilder(sender=foreign("66667777", "arabic-indic"))
    b.anmeldung(1)
    assert peek_sender(b.write(tmp_path / "a.xml")) is None
    inbox = tmp_path / "inbox"
    assert classify(inbox, inbox / "66667777" / "a.xml", []) is not None
    assert classify(inbox, inbox / foreign("66667777", "arabic-indic") / "a.xml", []) is None


def test_camt053_amounts_with_other_digits_are_refused() -> None:
    from test_payments import LINES

    from ingest.reconciling.bankfiles import StatementError, read_statement
    from ingest.reconciling.sample_year import write_camt053

    text = write_camt053(LINES).decode("utf-8")
    assert read_statement(text.encode()).entries
    changed = re.sub(
        r'(<Amt Ccy="EUR">)([0-9.]+)', lambda m: m[1] + foreign(m[2], "arabic-indic"), text, count=1
    )
    assert changed != text
    with pytest.raises(StatementError, match="Betrag"):
        read_statement(changed.encode("utf-8"))
