"""The reconciliation's checks of committed reports against payments, as of one day.

Monthly, for every billing office and every due month (the month is due once the ``due_day`` of
the following month has passed): a Monatsabrechnung must exist when the office has insured
persons in the month (``monatsabrechnung_fehlt``), and the credits matched to the office and
month must equal its Gesamtbetrag within the tolerance (``zahlung_fehlt``,
``zahlung_zu_niedrig``, ``zahlung_zu_hoch``). Credits that name no office and month are
``zahlung_unzugeordnet``. Yearly, once the deadline of the following year has passed: every
person insured at an office in the year whose relationship did not end in that year (an
Abmeldung reports the periods of a leaver) needs a Jahresmeldung (``jahresmeldung_fehlt``), and
per office the amounts of the Jahresmeldungen and Abmeldungen of the year must equal the sums of
the Monatsabrechnungen, per component (``jahressumme_abweichend``).

Only what had arrived by the day counts (:mod:`ingest.reconciling.asof`), and only payments
booked by it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ingest.reconciling.asof import day_end, insurances_on, known_reports, valid_on
from ingest.reconciling.corrections import reversals
from ingest.reconciling.models import Payment
from ingest.settings import ReconcileSettings
from ingest.storing.models import (
    BillingOffice,
    Delivery,
    Member,
    MonthlyStatement,
    Period,
    Report,
)

ZERO = Decimal(0)
# Versicherungsmerkmal → component of the Monatsabrechnung its amount is billed in.
COMPONENTS: dict[str, str] = {
    "10": "umlage",
    "17": "umlage",
    "22": "umlage",
    "15": "zusatzbeitrag",
    "20": "zusatzbeitrag",
    "19": "sanierungsgeld",
}
COMPONENT_ORDER = ("umlage", "zusatzbeitrag", "sanierungsgeld")


@dataclass(frozen=True, slots=True)
class Found:
    """One difference; ``member``/``office`` are numbers, the ids are for storing."""

    kind: str
    period: str
    member: str | None = None
    office: str | None = None
    expected: Decimal | None = None
    actual: Decimal | None = None
    difference: Decimal | None = None
    component: str | None = None
    person_id: int | None = None
    reference: str | None = None
    detail: str | None = None
    member_id: int | None = None
    office_id: int | None = None


@dataclass(frozen=True, slots=True)
class Office:
    id: int
    member_id: int
    member: str
    number: str


def month_index(month: str) -> int:
    return int(month[:4]) * 12 + int(month[5:7]) - 1


def month_name(index: int) -> str:
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def last_due_month(as_of: date, due_day: int) -> int:
    """The latest month whose due day (in the following month) lies before ``as_of``."""
    current = as_of.year * 12 + as_of.month - 1
    return current - 1 if as_of.day > due_day else current - 2


def deadline_of(year: int, settings: ReconcileSettings) -> date:
    """The day in ``year + 1`` by which the Jahresmeldungen of ``year`` are due."""
    month, day = (int(x) for x in settings.deadline.split("-"))
    while True:
        try:
            return date(year + 1, month, day)
        except ValueError:
            day -= 1  # 29 February in a common year, 31 April, ...


def _offices(session: Session) -> dict[int, Office]:
    rows = session.execute(
        select(BillingOffice.id, Member.id, Member.number, BillingOffice.number).join(
            Member, Member.id == BillingOffice.member_id
        )
    )
    return {o_id: Office(o_id, m_id, m_no, o_no) for o_id, m_id, m_no, o_no in rows}


def _statements(session: Session, as_of: date) -> dict[tuple[int, str], tuple[Decimal, ...]]:
    """(office, month) → (levy, additional, restructuring, total) of those valid on ``as_of``."""
    rows = session.execute(
        select(
            MonthlyStatement.billing_office_id,
            MonthlyStatement.month,
            MonthlyStatement.levy,
            MonthlyStatement.additional,
            MonthlyStatement.restructuring,
            MonthlyStatement.total,
        )
        .join(Report, Report.id == MonthlyStatement.report_id)
        .where(valid_on(as_of))
    )
    return {(r[0], r[1]): tuple(Decimal(v) for v in r[2:]) for r in rows}


def start_month(session: Session, settings: ReconcileSettings, as_of: date) -> int | None:
    """The first month reconciled: configured, else the earliest Monatsabrechnung or delivery
    that had arrived by ``as_of``."""
    if settings.start_month:
        return month_index(settings.start_month)
    first = session.scalar(
        select(func.min(MonthlyStatement.month)).where(
            MonthlyStatement.report_id.in_(known_reports(as_of))
        )
    )
    if first:
        return month_index(first)
    received = session.scalar(
        select(func.min(Delivery.received_at)).where(
            Delivery.file_number_used.is_not(None), Delivery.received_at < day_end(as_of)
        )
    )
    return received.year * 12 + received.month - 1 if received else None


def _covered_months(session: Session, first: int, last: int, as_of: date) -> dict[int, set[int]]:
    """office → months in first..last in which it had at least one insured person."""
    covered: dict[int, set[int]] = defaultdict(set)
    rows = session.execute(insurances_on(as_of)).all()
    for _person_id, office_id, begin, end in rows:
        lo = max(first, begin.year * 12 + begin.month - 1)
        hi = last if end is None else min(last, end.year * 12 + end.month - 1)
        covered[office_id].update(range(lo, hi + 1))
    return covered


def monthly_checks(session: Session, settings: ReconcileSettings, as_of: date) -> list[Found]:
    offices = _offices(session)
    statements = _statements(session, as_of)
    last = last_due_month(as_of, settings.due_day)
    paid: dict[tuple[int, str], Decimal] = defaultdict(lambda: ZERO)
    for office_id, month, amount in session.execute(
        select(Payment.billing_office_id, Payment.month, func.sum(Payment.amount))
        .where(Payment.billing_office_id.is_not(None), Payment.booking_date <= as_of)
        .group_by(Payment.billing_office_id, Payment.month)
    ):
        if office_id is not None and month is not None:
            paid[(office_id, month)] = Decimal(amount)
    first = start_month(session, settings, as_of)
    covered = _covered_months(session, first, last, as_of) if first is not None else {}
    keys: set[tuple[int, int]] = set()
    if first is not None:
        keys.update((o, m) for o in offices for m in range(first, last + 1))
    lowest = first if first is not None else 0
    keys.update(
        (o, month_index(m)) for o, m in (*statements, *paid) if lowest <= month_index(m) <= last
    )
    tolerance = settings.tolerance
    out: list[Found] = []
    for office_id, index in sorted(keys):
        office, month = offices[office_id], month_name(index)
        statement = statements.get((office_id, month))
        actual = paid.get((office_id, month), ZERO)
        if statement is None:
            if index in covered.get(office_id, ()):
                out.append(_at(office, "monatsabrechnung_fehlt", month, None, actual))
            elif actual > tolerance:
                out.append(_at(office, "zahlung_zu_hoch", month, ZERO, actual))
            continue
        expected = statement[3]
        if (office_id, month) not in paid and expected > tolerance:
            out.append(_at(office, "zahlung_fehlt", month, expected, actual))
        elif actual < expected - tolerance:
            out.append(_at(office, "zahlung_zu_niedrig", month, expected, actual))
        elif actual > expected + tolerance:
            out.append(_at(office, "zahlung_zu_hoch", month, expected, actual))
    return out


def _at(
    office: Office,
    kind: str,
    period: str,
    expected: Decimal | None,
    actual: Decimal | None,
    **extra: str | None,
) -> Found:
    """A finding of one billing office; the difference is actual − expected when both exist."""
    return Found(
        kind,
        period,
        office.member,
        office.number,
        expected=expected,
        actual=actual,
        difference=None if expected is None or actual is None else actual - expected,
        component=extra.get("component"),
        detail=extra.get("detail"),
        member_id=office.member_id,
        office_id=office.id,
    )


def unmatched_payments(session: Session, as_of: date) -> list[Found]:
    """Unmatched payments booked by ``as_of``, except credits reversed by a debit booked by then
    and those debits (:mod:`ingest.reconciling.corrections`)."""
    booked = list(
        session.scalars(
            select(Payment)
            .where(Payment.billing_office_id.is_(None), Payment.booking_date <= as_of)
            .order_by(Payment.booking_date, Payment.id)
        )
    )
    reversed_ = reversals(booked)
    rows = [p for p in booked if p.id not in reversed_]
    return [
        Found(
            "zahlung_unzugeordnet",
            p.booking_date.isoformat(),
            actual=Decimal(p.amount),
            reference=p.bank_reference,
            detail=p.unmatched_reason,
        )
        for p in rows
    ]


def annual_checks(session: Session, settings: ReconcileSettings, as_of: date) -> list[Found]:
    first = start_month(session, settings, as_of)
    if first is None:
        return []
    years = [y for y in range(first // 12, as_of.year) if as_of > deadline_of(y, settings)]
    if not years:
        return []
    offices = _offices(session)
    return _missing_annual(session, offices, years, as_of) + _annual_sums(
        session, offices, years, settings.tolerance, as_of
    )


def _missing_annual(
    session: Session, offices: dict[int, Office], years: list[int], as_of: date
) -> list[Found]:
    reported: set[tuple[int, int, int]] = {
        (person_id, office_id, year)
        for person_id, office_id, year in session.execute(
            select(Report.person_id, Report.billing_office_id, Report.year).where(
                Report.kind == "Jahresmeldung", valid_on(as_of)
            )
        )
        if person_id is not None and year is not None
    }
    needed: set[tuple[int, int, int]] = set()
    for person_id, office_id, begin, end in session.execute(insurances_on(as_of)):
        for year in years:
            if begin <= date(year, 12, 31) and (end is None or end.year > year):
                needed.add((person_id, office_id, year))
    out = []
    for person_id, office_id, year in sorted(needed - reported):
        office = offices[office_id]
        out.append(
            Found(
                "jahresmeldung_fehlt",
                str(year),
                office.member,
                office.number,
                person_id=person_id,
                member_id=office.member_id,
                office_id=office_id,
            )
        )
    return out


def _annual_sums(
    session: Session,
    offices: dict[int, Office],
    years: list[int],
    tolerance: Decimal,
    as_of: date,
) -> list[Found]:
    wanted = set(years)
    billed: dict[tuple[int, int, str], Decimal] = defaultdict(lambda: ZERO)
    for (office_id, month), (levy, additional, restructuring, _total) in _statements(
        session, as_of
    ).items():
        year = int(month[:4])
        if year in wanted:
            billed[(office_id, year, "umlage")] += levy
            billed[(office_id, year, "zusatzbeitrag")] += additional
            billed[(office_id, year, "sanierungsgeld")] += restructuring
    reported: dict[tuple[int, int, str], Decimal] = defaultdict(lambda: ZERO)
    rows = session.execute(
        select(Report.billing_office_id, Period.begin, Period.booking_key, Period.amount)
        .join(Report, Report.id == Period.report_id)
        .where(Report.kind.in_(("Jahresmeldung", "Abmeldung")), valid_on(as_of))
        .execution_options(yield_per=10_000)
    )
    for office_id, begin, key, amount in rows:
        component = COMPONENTS.get(key[2:4])
        if component is not None and begin.year in wanted:
            reported[(office_id, begin.year, component)] += Decimal(amount)
    out = []
    for office_id, year in sorted({(o, y) for o, y, _ in (*billed, *reported)}):
        office = offices[office_id]
        for component in COMPONENT_ORDER:
            expected = billed.get((office_id, year, component), ZERO)
            actual = reported.get((office_id, year, component), ZERO)
            if abs(actual - expected) > tolerance:
                detail = "Soll: Monatsabrechnungen, Ist: Jahresmeldungen und Abmeldungen"
                out.append(
                    _at(
                        office,
                        "jahressumme_abweichend",
                        str(year),
                        expected,
                        actual,
                        component=component,
                        detail=detail,
                    )
                )
    return out
