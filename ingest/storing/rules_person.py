"""Stored-state rules about the insured person and the insurance relationship (Anmeldung,
Abmeldung, Jahresmeldung). See :mod:`ingest.storing.rules_access` for where the rules live.

Each rule reads through the :class:`~ingest.storing.view.StoredView` of its
:class:`~ingest.storing.case.Case` and adds findings; :mod:`ingest.storing.decide` runs them in
order and stops a report's rules at the first that rejects it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from ingest.storing.case import Case
from ingest.storing.overlay import Leave, Span
from ingest.storing.view import PersonRef
from ingest.validating.records import PeriodData
from ingest.validating.registry import Scope, rule, stored_part

PARENTAL_LEAVE = "28"
MONTHS_PER_CHILD = 36


def numbered(case: Case) -> tuple[PersonRef | None, PersonRef | None]:
    """The stored persons of the report's Versicherungsnummer and of its RVNR."""
    data = case.report.person
    assert data is not None
    view = case.view
    by_number = (
        view.person_by_number(data.versicherungsnummer)
        if data.versicherungsnummer is not None
        else None
    )
    by_rvnr = view.person_by_rvnr(data.rvnr) if data.rvnr is not None else None
    return by_number, by_rvnr


@stored_part("ZVME096")
def versicherungsnummer_known(case: Case) -> None:
    """A Versicherungsnummer the report gives is one the fund assigned."""
    data = case.report.person
    assert data is not None
    number = data.versicherungsnummer
    if number is not None and case.view.person_by_number(number) is None:
        case.findings.add("ZVME096", None, "Person/Versicherungsnummer")


@rule("ZVME097", Scope.STORED)
def numbers_of_one_person(case: Case) -> None:
    """Versicherungsnummer and RVNR do not belong to two different persons: neither to two
    stored persons, nor the Versicherungsnummer to a person stored with another RVNR.

    Also decides which stored person the report is about (``case.person``), for the rules after
    it: the person of the Versicherungsnummer, else the person of the RVNR, else none.
    """
    by_number, by_rvnr = numbered(case)
    data = case.report.person
    assert data is not None
    if by_number is not None and (
        (by_rvnr is not None and by_number.id != by_rvnr.id)
        or (by_number.rvnr is not None and data.rvnr is not None and by_number.rvnr != data.rvnr)
    ):
        case.findings.add("ZVME097", None, "Person/RVNR")
    else:
        case.person = by_number or by_rvnr


@rule("ZVME130", Scope.STORED)
def no_open_relationship(case: Case) -> None:
    """An Anmeldung: the person has no relationship at the billing office that is open, or that
    still runs on or after the Beginn (the new one would overlap it)."""
    person = case.person
    if person is None:
        return
    begin_new = case.report.begin
    assert begin_new is not None
    spans = case.view.spans_of(person.id, case.office_id)
    for begin, end in spans:
        if end is None:
            case.findings.add("ZVME130", f"offen seit {begin.isoformat()}", "Beginn")
            return
    for begin, end in spans:
        if end is not None and end >= begin_new:
            detail = f"besteht vom {begin.isoformat()} bis {end.isoformat()}"
            case.findings.add("ZVME130", detail, "Beginn")
            return


def open_relationship(case: Case) -> Span | None:
    """The person's open relationship at the billing office (the first by begin)."""
    person = case.person
    if person is None:
        return None
    return next((s for s in case.view.spans_of(person.id, case.office_id) if s[1] is None), None)


@rule("ZVME140", Scope.STORED)
def relationship_to_close(case: Case) -> None:
    """An Abmeldung: the person has an open relationship that began on or before the Ende."""
    end = case.report.end
    assert end is not None
    relationship = open_relationship(case)
    if relationship is None:
        case.findings.add("ZVME140", "kein offenes Versicherungsverhältnis", "Ende")
    elif end < relationship[0]:
        case.findings.add("ZVME140", f"Ende vor Beginn {relationship[0].isoformat()}", "Ende")


def spans_in_year(case: Case) -> list[Span]:
    """The person's relationships at the office that overlap the file's year (worked out once
    per report: three rules ask)."""
    spans = case.year_spans
    if spans is not None:
        return spans
    bounds = case.view.year_bounds
    person = case.person
    if person is None or bounds is None:
        return []
    first, last = bounds
    spans = case.year_spans = [
        (begin, end)
        for begin, end in case.view.spans_of(person.id, case.office_id)
        if begin <= last and (end is None or end >= first)
    ]
    return spans


@rule("ZVME141", Scope.STORED)
def relationship_in_year(case: Case) -> None:
    """A Jahresmeldung: the person has a relationship at the office in the file's year."""
    year = case.view.year
    if case.person is None or year is None:
        # the same as for a person insured elsewhere only: that she is known is not told
        case.findings.add("ZVME141", f"Jahr {year}" if year is not None else None, "Person/RVNR")
    elif not spans_in_year(case):
        case.findings.add("ZVME141", f"Jahr {year}", "Person/RVNR")


@rule("ZVME135", Scope.STORED)
def first_annual_report(case: Case) -> None:
    """A Jahresmeldung: none is stored for the person, office and year."""
    person = case.person
    assert person is not None
    if case.view.annual_exists(person.id, case.office_id):
        case.findings.add("ZVME135", f"Jahr {case.view.year}", "Person/RVNR")


@rule("ZVVA110", Scope.STORED)
def periods_inside_relationship(case: Case) -> None:
    """Every Abschnitt lies inside the relationship (a hint)."""
    report = case.report
    if report.kind == "Abmeldung":
        relationship = open_relationship(case)
        assert relationship is not None and report.end is not None
        for period in report.periods:
            if period.begin < relationship[0] or period.end > report.end:
                case.findings.add("ZVVA110", None, f"{period.where}/Beginn")
        return
    spans = case.year_spans
    if spans is None:
        spans = spans_in_year(case)
    for period in report.periods:
        if not (_covering(spans, period.begin) and _covering(spans, period.end)):
            case.findings.add("ZVVA110", None, f"{period.where}/Beginn")


@rule("ZVVA090", Scope.STORED)
def no_month_without_period(case: Case) -> None:
    """A Jahresmeldung: no whole month of the relationship between its Abschnitte is missing
    (a hint)."""
    periods = case.report.periods
    if len(periods) < 2:
        return  # nothing lies between the first and the last
    spans = case.year_spans
    gap = month_gap(periods, spans_in_year(case) if spans is None else spans)
    if gap:
        case.findings.add("ZVVA090", gap, "Abschnitt")


@rule("ZVVA061", Scope.STORED)
def parental_leave_within_limit(case: Case) -> None:
    """At most 36 months of parental leave (Merkmal 28) per child, over all stored reports of
    the person (a hint)."""
    person = case.person
    assert person is not None
    periods = case.report.periods
    for period in periods:  # a plain loop: any() over a generator costs more (hot path)
        if period.booking_key[2:4] == PARENTAL_LEAVE:
            if leave_exceeded(case.view.leave_of(person.id), periods):
                case.findings.add("ZVVA061", None, "Abschnitt")
            return


def _covering(spans: Iterable[Span], day: date) -> bool:
    for begin, end in spans:  # noqa: SIM110 (a loop is 4x faster than any(); hot path)
        if begin <= day and (end is None or day <= end):
            return True
    return False


def _months(period_begin: date, period_end: date) -> int:
    return (period_end.year - period_begin.year) * 12 + period_end.month - period_begin.month + 1


def month_gap(periods: tuple[PeriodData, ...], relationships: list[Span]) -> str | None:
    """A whole calendar month between the first and last period that no period touches.

    The first such month, in calendar order, that a relationship covers. The periods' months
    are walked as sorted ranges, so only the months between them are looked at (usually none).
    """
    if len(periods) < 2:
        return None  # nothing lies between the first and the last
    ranges = []
    for period in periods:  # a plain loop: this runs for every Jahresmeldung
        begin, end = period.begin, period.end
        first, last = begin.year * 12 + begin.month - 1, end.year * 12 + end.month - 1
        if first <= last:
            ranges.append((first, last))
    if len(ranges) < 2:
        return None
    ranges.sort()
    reach = ranges[0][1]
    for first, last in ranges:
        if first > reach + 1:
            for index in range(reach + 1, first):  # not touched by any period so far or later
                month_first = date(index // 12, index % 12 + 1, 1)
                if _covering(relationships, month_first):
                    return f"{month_first.strftime('%m/%Y')} ohne Abschnitt"
        if last > reach:
            reach = last
    return None


def leave_exceeded(stored: list[Leave], periods: tuple[PeriodData, ...]) -> bool:
    """More months of parental leave (28) than 36 per child, over everything committed.

    ``stored`` holds every member's reports of the person: the finding says only that the
    limit is exceeded, never the months counted, which may come from another member."""
    new = [p for p in periods if p.merkmal == PARENTAL_LEAVE]
    if not new:
        return False
    months = sum(_months(b, e) for b, e, _ in stored) + sum(_months(p.begin, p.end) for p in new)
    children = max([c or 0 for _, _, c in stored] + [p.children or 0 for p in new])
    return months > MONTHS_PER_CHILD * max(children, 1)
