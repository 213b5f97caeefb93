"""The two ways a report is checked in ``test_forms.py``: from a dictionary of form fields, and
inside a Meldedatei written by the sample builder with the same values, by ``zvk check``'s
engine. Both give findings as (code, severity, Feld, message); lines, columns and the Satz
belong to a file."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from pathlib import Path

from ingest.samples.builder import FileBuilder, Node, make_rvnr
from ingest.settings import Settings
from ingest.validating.checker import FileCheck
from ingest.validating.findings import Finding
from ingest.validating.records import ReportKind
from ingest.validating.single import check_form

BORN = date(1990, 5, 17)
RVNR = make_rvnr("65", BORN, "M", 52)
WRONG_RVNR = RVNR[:-1] + str((int(RVNR[-1]) + 1) % 10)
PERSON = {
    "Person/RVNR": RVNR,
    "Person/Familienname": "Muster",
    "Person/Vorname": "Erika",
    "Person/Geburtsdatum": BORN.isoformat(),
    "Person/Geschlecht": "W",
}


def period(index: int, begin: str, end: str, pay: str, amount: str) -> dict[str, str]:
    where = f"Abschnitt[{index}]"
    return {
        f"{where}/Beginn": begin,
        f"{where}/Ende": end,
        f"{where}/Buchungsschluessel": "011011",
        f"{where}/Entgelt": pay,
        f"{where}/Betrag": amount,
    }


def head(meldungs_id: str) -> dict[str, str]:
    return {"MeldungsId": meldungs_id, "Mitgliedsnummer": "100001", "Abrechnungsstelle": "001"}


# A valid report of each kind, with the Zeitraum of the file it would stand in.
VALID: dict[ReportKind, tuple[str, dict[str, str]]] = {
    "Anmeldung": ("2026-10", {**head("AN-1"), **PERSON, "Beginn": "2026-10-01"}),
    "Abmeldung": (
        "2026-10",
        {
            **head("AB-1"),
            **PERSON,
            "Ende": "2026-10-31",
            "Abmeldegrund": "13",
            **period(1, "2026-01-01", "2026-10-31", "25000.00", "400.00"),
        },
    ),
    "Jahresmeldung": (
        "2026",
        {
            **head("JM-1"),
            **PERSON,
            **period(1, "2026-01-01", "2026-06-30", "15000.00", "240.00"),
            **period(2, "2026-07-01", "2026-12-31", "15000.00", "240.00"),
        },
    ),
    "Monatsabrechnung": (
        "2026-10",
        {
            **head("MA-1"),
            "Monat": "2026-10",
            "AnzahlVersicherte": "3",
            "Entgelt": "30000.00",
            "Umlage": "480.00",
            "Zusatzbeitrag": "1458.00",
            "Sanierungsgeld": "0.00",
            "Gesamtbetrag": "1938.00",
        },
    ),
    "Storno": ("2026-10", {**head("ST-1"), "Bezug": "AN-0"}),
}
PERSON_KINDS: tuple[ReportKind, ...] = ("Anmeldung", "Abmeldung", "Jahresmeldung")


Described = tuple[str, str, str | None, str]


def described(findings: list[Finding]) -> list[Described]:
    return [(f.code, f.severity, f.field, f.message) for f in findings]


def by_form(
    kind: ReportKind, period: str, fields: Mapping[str, str | None], settings: Settings
) -> list[Described]:
    year = int(period) if len(period) == 4 else None
    month = period if year is None else None
    checked = check_form(
        kind, fields, settings, received_at=datetime.now(UTC), year=year, month=month
    )
    return described(checked.findings)


def by_file(
    kind: ReportKind,
    period: str,
    fields: Mapping[str, str | None],
    settings: Settings,
    folder: Path,
) -> list[Described]:
    """The report's findings inside a Meldedatei of ``period``, written by the sample builder
    (the fields in the order given, an empty one left out; an Abschnitt with no field given
    before a later one is written empty)."""
    kind_of_file = "Jahresmeldung" if len(period) == 4 else "Monatsmeldung"
    builder = FileBuilder(kind=kind_of_file, period=period)
    node = Node(kind)
    for path, value in fields.items():
        if not value:
            continue
        if path.startswith("Abschnitt["):
            index = int(path[len("Abschnitt[") : path.index("]")])
            while sum(c.name == "Abschnitt" for c in node.children) < index - 1:
                node.add(Node("Abschnitt"))
        node.set(path, value)
    builder.reports.append(node)
    path = folder / f"datei-{len(list(folder.iterdir()))}.xml"
    builder.write(path)
    outcome = FileCheck.without_database(path, settings).run()
    return described([f for f in outcome.findings if f.satz == 1])


def same_both_ways(
    kind: ReportKind,
    fields: Mapping[str, str | None],
    settings: Settings,
    folder: Path,
    period: str | None = None,
) -> list[Described]:
    period = period or VALID[kind][0]
    form = by_form(kind, period, fields, settings)
    assert form == by_file(kind, period, fields, settings, folder)
    return form
