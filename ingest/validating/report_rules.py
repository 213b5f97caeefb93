"""Plausibility checks of one report that need nothing but the file itself.

These are the checks `zvk check` can run without a database. Checks that need the fund's stored
state live in ``ingest.storing.state_rules``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from itertools import combinations

from ingest.settings import ChecksSettings
from ingest.validating.booking_keys import BookingKeys, Merkmal
from ingest.validating.findings import Catalogue, Finding, money, percent
from ingest.validating.identifiers import (
    rvnr_matches_birth_date,
    rvnr_problem,
    versicherungsnummer_valid,
)
from ingest.validating.mojibake import double_encoding
from ingest.validating.records import (
    ALLOWED_BY_FILE_KIND,
    Header,
    PeriodData,
    PersonData,
    ReportData,
)

ABMELDEGRUENDE = frozenset({"03", "04", "05", "06", "07", "11", "13", "16", "20", "21"})
DEATH = "11"
MIN_AGE, MAX_AGE = 17, 62
EARLIEST_BIRTH = date(1900, 1, 1)
_BAD_NAME = re.compile(r"[\d\x00-\x1f\x7f-\x9f]")
CENT = Decimal("0.01")
ZERO = Decimal(0)  # compared with amounts: a Decimal compares faster with a Decimal than an int


@dataclass(frozen=True, slots=True)
class CheckContext:
    """What the stateless checks know besides the report."""

    catalogue: Catalogue
    booking_keys: BookingKeys
    checks: ChecksSettings
    header: Header | None
    received_at: datetime
    test: bool
    _period_rules: dict[
        tuple[str, int], tuple[str | None, Merkmal | None, Decimal | None, Decimal | None]
    ] = field(default_factory=dict, compare=False, repr=False)
    # asked by every report: worked out once
    today: date = field(init=False, compare=False, repr=False)
    file_year: int | None = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "today", self.received_at.date())
        object.__setattr__(self, "file_year", _file_year(self.header))

    def period_rule(
        self, key: str, year: int
    ) -> tuple[str | None, Merkmal | None, Decimal | None, Decimal | None]:
        """What an `Abschnitt` with booking key ``key`` in ``year`` is checked against: the
        key's problem, its Merkmal (``None`` when the key has a problem), the Merkmal's rate in
        percent and as a share of the pay. A file uses a handful of keys and years."""
        try:
            return self._period_rules[key, year]
        except KeyError:
            problem = self.booking_keys.problem(key)
            merkmal = self.booking_keys.merkmale[key[2:4]] if problem is None else None
            rate = None
            if merkmal is not None:
                by_year = self.checks.rates.get(merkmal.code)
                rate = by_year.get(str(year), by_year.get("default")) if by_year else None
            rule = (problem, merkmal, rate, rate / 100 if rate is not None else None)
            self._period_rules[key, year] = rule
            return rule


def age_at(born: date, on: date) -> int:
    """Whole years of life on a day."""
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


class _Collector:
    """Makes findings for one report, with its number, id and line filled in."""

    def __init__(self, report: ReportData, catalogue: Catalogue) -> None:
        self.report = report
        self.catalogue = catalogue
        self.findings: list[Finding] = []

    def add(self, code: str, detail: str | None = None, field: str | None = None) -> None:
        self.findings.append(
            self.catalogue.finding(
                code,
                detail,
                satz=self.report.satz,
                meldungs_id=self.report.meldungs_id,
                field=field,
                line=self.report.line,
            )
        )


def check_report(report: ReportData, ctx: CheckContext) -> list[Finding]:
    """Every stateless finding about ``report``, in a stable order."""
    out = _Collector(report, ctx.catalogue)
    header = ctx.header
    if header is not None and report.kind not in ALLOWED_BY_FILE_KIND.get(header.file_kind, ()):
        out.add("ZVDA020", f"{report.kind} in einer {header.file_kind}-Datei")
    if report.person is not None:
        _check_person(report, report.person, ctx, out)
    if report.kind == "Anmeldung" and report.person is not None and report.begin is not None:
        age = age_at(report.person.birth_date, report.begin)
        if age < MIN_AGE:
            out.add("ZVME120", f"Alter {age} am {report.begin.isoformat()}", "Beginn")
        elif age > MAX_AGE:
            out.add("ZVME121", f"Alter {age} am {report.begin.isoformat()}", "Beginn")
    if report.kind == "Abmeldung" and report.reason is not None:
        if report.reason not in ABMELDEGRUENDE:
            out.add("ZVME110", f"Abmeldegrund {report.reason}", "Abmeldegrund")
        elif report.reason == DEATH and report.end is not None and report.end > ctx.today:
            out.add("ZVME150", f"Ende {report.end.isoformat()}", "Ende")
    _check_periods(report, ctx, out)
    if report.statement is not None:
        _check_statement(report, ctx, out)
    return out.findings


def _check_person(
    report: ReportData, person: PersonData, ctx: CheckContext, out: _Collector
) -> None:
    if person.rvnr is None:
        if report.kind != "Anmeldung":
            out.add("ZVME092", None, "Person/RVNR")
    else:
        problem = rvnr_problem(person.rvnr, test_delivery=ctx.test)
        if problem is not None:
            out.add(problem.value, None, "Person/RVNR")
        elif not rvnr_matches_birth_date(person.rvnr, person.birth_date):
            out.add("ZVME095", None, "Person/Geburtsdatum")
    if person.versicherungsnummer is not None and not versicherungsnummer_valid(
        person.versicherungsnummer
    ):
        out.add("ZVME096", "Prüfziffer falsch", "Person/Versicherungsnummer")
    family, first, birth = person.family_name, person.first_name, person.birth_name
    names = f"{family}{first}{birth or ''}"
    # one search over all names, and each name only when it finds something
    if (
        not family.strip()
        or not first.strip()
        or (birth is not None and not birth.strip())
        or not names.isascii()
        or _BAD_NAME.search(names)
    ):
        for name, value in (("Familienname", family), ("Vorname", first), ("Geburtsname", birth)):
            if value is None:
                continue
            doubled = double_encoding(value)
            if doubled is not None:
                out.add(
                    "ZVME171", f"„{doubled.found}“ steht für „{doubled.meant}“", f"Person/{name}"
                )
                value = doubled.repaired  # its control characters are part of the encoding
            if not value.strip() or _BAD_NAME.search(value):
                out.add("ZVME170", None, f"Person/{name}")
    if person.birth_date < EARLIEST_BIRTH or person.birth_date > ctx.today:
        out.add("ZVME180", person.birth_date.isoformat(), "Person/Geburtsdatum")


def _check_periods(report: ReportData, ctx: CheckContext, out: _Collector) -> None:
    file_year = ctx.file_year
    for period in report.periods:
        _check_period(report, period, ctx, out, file_year)
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


def _file_year(header: Header | None) -> int | None:
    if header is None or header.file_kind != "Jahresmeldung" or not header.period.isdigit():
        return None
    return int(header.period)


def _check_period(
    report: ReportData,
    period: PeriodData,
    ctx: CheckContext,
    out: _Collector,
    file_year: int | None,
) -> None:
    begin, end, pay, amount = period.begin, period.end, period.pay, period.amount
    if begin > end:
        out.add("ZVVA010", None, f"{period.where}/Beginn")
    if begin.year != end.year:
        out.add("ZVVA020", "über den Jahreswechsel", f"{period.where}/Ende")
    elif report.kind == "Jahresmeldung" and file_year is not None and begin.year != file_year:
        out.add("ZVVA020", f"außerhalb des Jahres {file_year}", f"{period.where}/Beginn")
    if pay < ZERO:
        out.add("ZVVA100", None, f"{period.where}/Entgelt")
    if amount < ZERO:
        out.add("ZVVA100", None, f"{period.where}/Betrag")
    problem, merkmal, rate, share = ctx.period_rule(period.booking_key, begin.year)
    if merkmal is None:
        out.add("ZVVA030", problem, f"{period.where}/Buchungsschluessel")
        return
    if merkmal.with_pay:
        if pay == ZERO:
            out.add("ZVVA040", None, f"{period.where}/Entgelt")
    elif pay != ZERO or amount != ZERO:
        out.add("ZVVA050", None, f"{period.where}/{'Entgelt' if pay != ZERO else 'Betrag'}")
    if merkmal.needs_children and (period.children is None or period.children < 1):
        out.add("ZVVA060", None, f"{period.where}/Kinderzahl")
    if share is not None and rate is not None and merkmal.with_pay:
        expected = (pay * share).quantize(CENT, ROUND_HALF_UP)
        if abs(amount - expected) > ctx.checks.rate_tolerance:
            detail = (
                f"gemeldet {money(amount)}, erwartet {money(expected)} ({percent(rate)} von "
                f"{money(pay)}), zulässige Abweichung {money(ctx.checks.rate_tolerance)}"
            )
            out.add("ZVVA080", detail, f"{period.where}/Betrag")


def _check_statement(report: ReportData, ctx: CheckContext, out: _Collector) -> None:
    statement = report.statement
    assert statement is not None
    for name, value in (
        ("Entgelt", statement.pay),
        ("Umlage", statement.levy),
        ("Zusatzbeitrag", statement.additional),
        ("Sanierungsgeld", statement.restructuring),
        ("Gesamtbetrag", statement.total),
    ):
        if value < 0:
            out.add("ZVVA100", None, name)
    expected = statement.levy + statement.additional + statement.restructuring
    if statement.total != expected:
        out.add(
            "ZVMA010",
            f"gemeldet {money(statement.total)}, Summe der Teilbeträge {money(expected)}",
            "Gesamtbetrag",
        )
    header = ctx.header
    if (
        header is not None
        and header.file_kind == "Monatsmeldung"
        and (statement.month != header.period)
    ):
        out.add("ZVMA020", f"Monat {statement.month}, Zeitraum {header.period}", "Monat")
