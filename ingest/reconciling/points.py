"""Pension points of the ATV-K points model (``Punktemodell``), from committed Jahresmeldungen.

Points of a year = (points-earning pay ÷ 12) ÷ 1,000 EUR × age factor, rounded half-up to two
decimals, where age = calendar year − birth year. The points-earning pay is the ZV-Entgelt of the
levy and funded-contribution periods (Versicherungsmerkmale whose catalogue entry earns points:
10 and 15); parental leave (28) counts 500 EUR per full calendar month and child, at most 36
months per child. Points are derived from committed data: :func:`refresh_points` adds them for
every uncancelled Jahresmeldung that has none and drops those of cancelled ones.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ingest.reconciling.models import PensionPoints
from ingest.storing.models import Period, Person, Report
from ingest.validating.booking_keys import load_booking_keys

PARENTAL_LEAVE = "28"
PARENTAL_LEAVE_PAY = Decimal(500)
MONTHS_PER_CHILD = 36
_HUNDREDTH = Decimal("0.01")

# Age → factor (the ATV-K tariff table). Below 17 the factor of 17 applies, from 62 on 0.8.
AGE_FACTORS: dict[int, Decimal] = {
    age: Decimal(factor)
    for age, factor in {
        17: "3.1", 18: "3.0", 19: "2.9", 20: "2.8", 21: "2.7", 22: "2.6", 23: "2.5",
        24: "2.4", 25: "2.4", 26: "2.3", 27: "2.2", 28: "2.2", 29: "2.1", 30: "2.0",
        31: "2.0", 32: "1.9", 33: "1.9", 34: "1.8", 35: "1.7", 36: "1.7", 37: "1.6",
        38: "1.6", 39: "1.6", 40: "1.5", 41: "1.5", 42: "1.4", 43: "1.4", 44: "1.3",
        45: "1.3", 46: "1.3", 47: "1.2", 48: "1.2", 49: "1.2", 50: "1.1", 51: "1.1",
        52: "1.1", 53: "1.0", 54: "1.0", 55: "1.0", 56: "1.0", 57: "0.9", 58: "0.9",
        59: "0.9", 60: "0.9", 61: "0.9",
    }.items()
}  # fmt: skip
OLDEST_FACTOR = Decimal("0.8")


def age_factor(age: int) -> Decimal:
    """The age factor of the table; ages below 17 take 17's, 62 and older take 0.8."""
    if age >= 62:
        return OLDEST_FACTOR
    return AGE_FACTORS[max(age, 17)]


def points_for(pay: Decimal, age: int) -> Decimal:
    """(pay ÷ 12) ÷ 1,000 × factor, rounded half-up to two decimals."""
    return (pay * age_factor(age) / Decimal(12_000)).quantize(_HUNDREDTH, ROUND_HALF_UP)


@dataclass(frozen=True, slots=True)
class PeriodFigures:
    """What the points need of one insurance period."""

    begin: date
    end: date
    booking_key: str
    pay: Decimal
    children: int | None


@dataclass(frozen=True, slots=True)
class YearPoints:
    age: int
    factor: Decimal
    pay: Decimal
    child_months: int
    points: Decimal


def _month_index(day: date) -> int:
    return day.year * 12 + day.month - 1


def full_months(begin: date, end: date) -> int:
    """Calendar months lying wholly inside ``begin``..``end``."""
    first = _month_index(begin) + (0 if begin.day == 1 else 1)
    after_last = _month_index(end + timedelta(days=1))
    return max(0, after_last - first)


def earning_pay(periods: Iterable[PeriodFigures]) -> Decimal:
    """The points-earning pay: per date range, the pay of the levy/funded periods, once.

    The same pay may be reported under several keys (employer's and employee's share, levy and
    funded contribution); it earns points once, so each distinct range counts its largest pay.
    """
    merkmale = load_booking_keys().merkmale
    by_range: dict[tuple[date, date], Decimal] = {}
    for p in periods:
        merkmal = merkmale.get(p.booking_key[2:4])
        if merkmal is None or not merkmal.earns_points:
            continue
        key = (p.begin, p.end)
        by_range[key] = max(by_range.get(key, Decimal(0)), p.pay)
    return sum(by_range.values(), Decimal(0))


def child_months(periods: Iterable[PeriodFigures]) -> int:
    """Full months of parental leave times children, at most 36 months per child."""
    total = 0
    for p in periods:
        if p.booking_key[2:4] != PARENTAL_LEAVE:
            continue
        total += min(full_months(p.begin, p.end), MONTHS_PER_CHILD) * max(p.children or 1, 1)
    return total


def year_points(year: int, birth_date: date, periods: list[PeriodFigures]) -> YearPoints:
    """The points of one Jahresmeldung."""
    age = year - birth_date.year
    pay = earning_pay(periods)
    months = child_months(periods)
    total_pay = pay + PARENTAL_LEAVE_PAY * months
    return YearPoints(
        age=age,
        factor=age_factor(age),
        pay=pay,
        child_months=months,
        points=points_for(total_pay, age),
    )


def refresh_points(session: Session) -> tuple[list[int], list[int]]:
    """Bring the stored points in line with the committed Jahresmeldungen.

    Returns the ids of the Jahresmeldungen whose points were added and of those whose points
    were dropped."""
    dropped_ids = list(
        session.scalars(
            select(PensionPoints.report_id)
            .join(Report, Report.id == PensionPoints.report_id)
            .where(Report.cancelled.is_(True))
        )
    )
    if dropped_ids:
        session.execute(delete(PensionPoints).where(PensionPoints.report_id.in_(dropped_ids)))
    missing = session.execute(
        select(
            Report.id, Report.person_id, Report.billing_office_id, Report.year, Person.birth_date
        )
        .join(Person, Person.id == Report.person_id)
        .outerjoin(PensionPoints, PensionPoints.report_id == Report.id)
        .where(
            Report.kind == "Jahresmeldung",
            Report.cancelled.is_(False),
            Report.year.is_not(None),
            PensionPoints.report_id.is_(None),
        )
        .order_by(Report.id)
    ).all()
    periods = _periods_of(session, [row[0] for row in missing])
    now = datetime.now(UTC)
    for report_id, person_id, office_id, year, born in missing:
        assert person_id is not None and year is not None  # selected so
        figures = year_points(year, born, periods.get(report_id, []))
        session.add(
            PensionPoints(
                report_id=report_id,
                person_id=person_id,
                billing_office_id=office_id,
                year=year,
                age=figures.age,
                factor=figures.factor,
                pay=figures.pay,
                child_months=figures.child_months,
                points=figures.points,
                computed_at=now,
            )
        )
    session.flush()
    return [row[0] for row in missing], dropped_ids


def _periods_of(session: Session, report_ids: list[int]) -> dict[int, list[PeriodFigures]]:
    found: dict[int, list[PeriodFigures]] = {}
    for start in range(0, len(report_ids), 500):
        chunk = report_ids[start : start + 500]
        rows = session.execute(
            select(
                Period.report_id,
                Period.begin,
                Period.end,
                Period.booking_key,
                Period.pay,
                Period.children,
            ).where(Period.report_id.in_(chunk))
        )
        for report_id, begin, end, key, pay, children in rows:
            found.setdefault(report_id, []).append(
                PeriodFigures(begin, end, key, Decimal(pay), children)
            )
    return found
