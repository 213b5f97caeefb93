"""Rules of one report by itself (scope REPORT): schema, kind, person, dates, amounts.

Each rule but ZVDA010 is called as ``check(report, ctx, out)`` on the report as a record, for
the kinds it is registered with; ``out`` is bound to the report. ZVDA010 looks at the element
before it becomes a record: :class:`~ingest.validating.checker.FileCheck` runs it while reading.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from itertools import combinations
from typing import TYPE_CHECKING

from ingest.validating import extract
from ingest.validating.extract import REPORT_CHILDREN
from ingest.validating.findings import Catalogue, Finding, Findings, money
from ingest.validating.identifiers import (
    rvnr_matches_birth_date,
    rvnr_problem,
    versicherungsnummer_valid,
)
from ingest.validating.mojibake import double_encoding
from ingest.validating.reader import REPORT_LIMITS
from ingest.validating.records import ALLOWED_BY_FILE_KIND, ReportData
from ingest.validating.registry import Scope, rule
from ingest.validating.rules_frame import add_schema_errors
from ingest.validating.schema import validate_element

if TYPE_CHECKING:
    from ingest.validating.reader import Item
    from ingest.validating.report_rules import CheckContext

PERSON_KINDS = frozenset(kind for kind, names in REPORT_CHILDREN.items() if "Person" in names)
EARLIEST_BIRTH = date(1900, 1, 1)
# digits, control characters, and the invisible format characters that change how a name is
# shown (soft hyphen, zero-width characters, bidirectional controls, byte order mark)
_BAD_NAME = re.compile(
    r"[\d\x00-\x1f\x7f-\x9f\xad\u061c\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufeff]"
)
ABMELDEGRUENDE = frozenset({"03", "04", "05", "06", "07", "11", "13", "16", "20", "21"})
DEATH = "11"
MIN_AGE, MAX_AGE = 17, 62
PERIOD_KINDS = frozenset(kind for kind, names in REPORT_CHILDREN.items() if "Abschnitt" in names)
STATEMENT = frozenset({"Monatsabrechnung"})
ZERO = Decimal(0)  # compared with amounts: a Decimal compares faster with a Decimal than an int


@rule("ZVDA010", Scope.REPORT)
def report_schema(item: Item, catalogue: Catalogue) -> list[Finding] | None:
    """The report element follows the schema and holds no more than a report can; its
    findings, None when it does (then it becomes a record for the other rules)."""
    if item.oversized:
        out = Findings(catalogue, item.satz, item.meldungs_id, item.line)
        out.add(
            "ZVDA010",
            f"die Meldung ist größer, als eine Meldung nach dem Schema sein kann (mehr als "
            f"{REPORT_LIMITS.elements} Elemente, {REPORT_LIMITS.attributes} Attribute oder "
            f"{REPORT_LIMITS.bytes // 1024**2} MiB); sie wurde nicht weiter gelesen",
        )
        return out.items
    errors = validate_element(item.element)
    if not errors:
        return None
    out = Findings(catalogue, item.satz or None, extract.meldungs_id(item.element))
    add_schema_errors(item, errors, "ZVDA010", out)
    return out.items


@rule("ZVDA020", Scope.REPORT)
def kind_allowed(report: ReportData, ctx: CheckContext, out: Findings) -> None:
    """The report kind is allowed in the submission's Dateiart."""
    file_kind = ctx.submission.file_kind
    if file_kind is not None and report.kind not in ALLOWED_BY_FILE_KIND.get(file_kind, ()):
        out.add("ZVDA020", f"{report.kind} in einer {file_kind}-Datei")


@rule("ZVME092", Scope.REPORT, kinds=PERSON_KINDS - {"Anmeldung"})
def rvnr_present(report: ReportData, ctx: CheckContext, out: Findings) -> None:
    """A report other than an Anmeldung names the person's RVNR."""
    if report.person is not None and report.person.rvnr is None:
        out.add("ZVME092", None, "Person/RVNR")


@rule("ZVME082", Scope.REPORT, kinds=PERSON_KINDS)
@rule("ZVME084", Scope.REPORT, kinds=PERSON_KINDS)
@rule("ZVME086", Scope.REPORT, kinds=PERSON_KINDS)
@rule("ZVME088", Scope.REPORT, kinds=PERSON_KINDS)
@rule("ZVME089", Scope.REPORT, kinds=PERSON_KINDS)
@rule("ZVME090", Scope.REPORT, kinds=PERSON_KINDS)
@rule("ZVME095", Scope.REPORT, kinds=PERSON_KINDS)
def rvnr_valid(report: ReportData, ctx: CheckContext, out: Findings) -> None:
    """The RVNR is valid and fits the Geburtsdatum; only its first problem is given.

    Form (ZVME082), area number (ZVME084), birth-date part (ZVME086), check digit (ZVME088), a
    published test number outside a test delivery (ZVME089), an interim number (ZVME090); a
    valid RVNR whose birth date differs from the Geburtsdatum is a hint (ZVME095).
    """
    person = report.person
    if person is None or person.rvnr is None:
        return
    problem = rvnr_problem(person.rvnr, test_delivery=ctx.test)
    if problem is not None:
        out.add(problem.value, None, "Person/RVNR")
    elif not rvnr_matches_birth_date(person.rvnr, person.birth_date):
        out.add("ZVME095", None, "Person/Geburtsdatum")


@rule("ZVME096", Scope.REPORT, kinds=PERSON_KINDS)
def versicherungsnummer_check_digit(report: ReportData, ctx: CheckContext, out: Findings) -> None:
    """The Versicherungsnummer, where given, has a right check digit.

    The code's second part, a number the fund does not know, is a rule on stored state.
    """
    person = report.person
    if (
        person is not None
        and person.versicherungsnummer is not None
        and not versicherungsnummer_valid(person.versicherungsnummer)
    ):
        out.add("ZVME096", "Prüfziffer falsch", "Person/Versicherungsnummer")


@rule("ZVME170", Scope.REPORT, kinds=PERSON_KINDS)
@rule("ZVME171", Scope.REPORT, kinds=PERSON_KINDS)
def names_readable(report: ReportData, ctx: CheckContext, out: Findings) -> None:
    """Each name is not blank, has no digits or control characters (ZVME170) and is not UTF-8
    read as a single-byte encoding (ZVME171, checked before ZVME170 on the repaired name)."""
    person = report.person
    if person is None:
        return
    family, first, birth = person.family_name, person.first_name, person.birth_name
    names = f"{family}{first}{birth or ''}"
    # one search over all names, and each name only when it finds something
    if (
        family.strip()
        and first.strip()
        and (birth is None or birth.strip())
        and names.isascii()
        and not _BAD_NAME.search(names)
    ):
        return
    for name, value in (("Familienname", family), ("Vorname", first), ("Geburtsname", birth)):
        if value is None:
            continue
        doubled = double_encoding(value)
        if doubled is not None:
            out.add("ZVME171", f"„{doubled.found}“ steht für „{doubled.meant}“", f"Person/{name}")
            value = doubled.repaired  # its control characters are part of the encoding
        if not value.strip() or _BAD_NAME.search(value):
            out.add("ZVME170", None, f"Person/{name}")


@rule("ZVME180", Scope.REPORT, kinds=PERSON_KINDS)
def birth_date_plausible(report: ReportData, ctx: CheckContext, out: Findings) -> None:
    """The Geburtsdatum lies neither in the future nor before 1900-01-01."""
    person = report.person
    if person is not None and (person.birth_date < EARLIEST_BIRTH or person.birth_date > ctx.today):
        out.add("ZVME180", person.birth_date.isoformat(), "Person/Geburtsdatum")


def age_at(born: date, on: date) -> int:
    """Whole years of life on a day."""
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


@rule("ZVME120", Scope.REPORT, kinds=frozenset({"Anmeldung"}))
@rule("ZVME121", Scope.REPORT, kinds=frozenset({"Anmeldung"}))
def age_at_begin(report: ReportData, ctx: CheckContext, out: Findings) -> None:
    """An Anmeldung's person is at least 17 (ZVME120) and at most 62 (ZVME121) at Beginn."""
    if report.person is None or report.begin is None:
        return
    age = age_at(report.person.birth_date, report.begin)
    if age < MIN_AGE:
        out.add("ZVME120", f"Alter {age} am {report.begin.isoformat()}", "Beginn")
    elif age > MAX_AGE:
        out.add("ZVME121", f"Alter {age} am {report.begin.isoformat()}", "Beginn")


@rule("ZVME110", Scope.REPORT, kinds=frozenset({"Abmeldung"}))
def reason_known(report: ReportData, ctx: CheckContext, out: Findings) -> None:
    """An Abmeldung's Abmeldegrund is in the code list."""
    if report.reason is not None and report.reason not in ABMELDEGRUENDE:
        out.add("ZVME110", f"Abmeldegrund {report.reason}", "Abmeldegrund")


@rule("ZVME150", Scope.REPORT, kinds=frozenset({"Abmeldung"}))
def death_not_ahead(report: ReportData, ctx: CheckContext, out: Findings) -> None:
    """An Abmeldung for death (Abmeldegrund 11) does not end after the time of receipt."""
    if report.reason == DEATH and report.end is not None and report.end > ctx.today:
        out.add("ZVME150", f"Ende {report.end.isoformat()}", "Ende")


@rule("ZVVA100", Scope.REPORT, kinds=PERIOD_KINDS | STATEMENT)
def amounts_not_negative(report: ReportData, ctx: CheckContext, out: Findings) -> None:
    """No Entgelt or Betrag of an Abschnitt, and no amount of a Monatsabrechnung, is negative."""
    for period in report.periods:
        if period.pay < ZERO:
            out.add("ZVVA100", None, f"{period.where}/Entgelt")
        if period.amount < ZERO:
            out.add("ZVVA100", None, f"{period.where}/Betrag")
    statement = report.statement
    if statement is not None:
        for name, value in (
            ("Entgelt", statement.pay),
            ("Umlage", statement.levy),
            ("Zusatzbeitrag", statement.additional),
            ("Sanierungsgeld", statement.restructuring),
            ("Gesamtbetrag", statement.total),
        ):
            if value < ZERO:
                out.add("ZVVA100", None, name)


@rule("ZVVA070", Scope.REPORT, kinds=PERIOD_KINDS, after_periods=True)
def periods_apart(report: ReportData, ctx: CheckContext, out: Findings) -> None:
    """No two Abschnitte of a report with the same booking key overlap."""
    if len(report.periods) < 2:
        return
    for first, second in combinations(report.periods, 2):
        if (
            first.booking_key == second.booking_key
            and first.begin <= second.end
            and second.begin <= first.end
        ):
            out.add(
                "ZVVA070",
                f"{first.where} und {second.where}, Schlüssel {first.booking_key}",
                second.where,
            )


@rule("ZVMA010", Scope.REPORT, kinds=STATEMENT)
def total_adds_up(report: ReportData, ctx: CheckContext, out: Findings) -> None:
    """A Monatsabrechnung's Gesamtbetrag is Umlage + Zusatzbeitrag + Sanierungsgeld."""
    statement = report.statement
    if statement is None:
        return
    expected = statement.levy + statement.additional + statement.restructuring
    if statement.total != expected:
        out.add(
            "ZVMA010",
            f"gemeldet {money(statement.total)}, Summe der Teilbeträge {money(expected)}",
            "Gesamtbetrag",
        )


@rule("ZVMA020", Scope.REPORT, kinds=STATEMENT)
def month_in_period(report: ReportData, ctx: CheckContext, out: Findings) -> None:
    """A Monatsabrechnung's Monat is the Zeitraum of a Monatsmeldung submission."""
    statement, submission = report.statement, ctx.submission
    if (
        statement is not None
        and submission.file_kind == "Monatsmeldung"
        and statement.month != submission.period
    ):
        out.add("ZVMA020", f"Monat {statement.month}, Zeitraum {submission.period}", "Monat")
