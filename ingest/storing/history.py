"""Read-only queries of the fund's history for the rarer report kinds (Storno, Monatsabrechnung)
and the parental-leave periods of a person.

Each returns plain values, never an ORM object: the rules that ask decide, and only the apply
step (:mod:`ingest.storing.apply`) changes rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session

from ingest.storing.models import Insurance, MonthlyStatement, Period, Report
from ingest.validating.moments import month_bounds

PARENTAL_LEAVE = "28"


@dataclass(frozen=True, slots=True)
class StoredReport:
    """A stored report as a Storno looks at it."""

    id: int
    kind: str
    billing_office_id: int | None
    person_id: int | None
    cancelled: bool
    year: int | None
    month: str | None
    begin: date | None = None
    end: date | None = None


@dataclass(frozen=True, slots=True)
class StoredRelationship:
    """An insurance relationship as a Storno of the report that opened it looks at it."""

    id: int
    person_id: int
    billing_office_id: int
    begin: date
    end: date | None
    closed_by: int | None


def stored_leave(session: Session, person_id: int) -> list[tuple[date, date, int | None]]:
    """The person's uncancelled parental-leave (28) periods: begin, end, children."""
    rows = session.execute(
        select(Period.begin, Period.end, Period.children)
        .join(Report, Report.id == Period.report_id)
        .where(
            Report.person_id == person_id,
            Report.cancelled.is_(False),
            func.substr(Period.booking_key, 3, 2) == PARENTAL_LEAVE,
        )
    )
    return [(b, e, c) for b, e, c in rows]


def statement_exists(session: Session, office_id: int, month: str) -> bool:
    """An uncancelled Monatsabrechnung of the office for the month."""
    found = session.scalar(
        select(Report.id)
        .join(MonthlyStatement, MonthlyStatement.report_id == Report.id)
        .where(
            MonthlyStatement.billing_office_id == office_id,
            MonthlyStatement.month == month,
            Report.cancelled.is_(False),
        )
    )
    return found is not None


def insured_count(session: Session, office_id: int, month: str) -> int:
    """The persons with a relationship at the office in the month."""
    first, after = month_bounds(month)  # after None: 9999-12, no day follows
    overlapping = [
        Insurance.billing_office_id == office_id,
        or_(Insurance.end.is_(None), Insurance.end >= first),
    ]
    if after is not None:
        overlapping.append(Insurance.begin < after)
    return (
        session.scalar(select(func.count(func.distinct(Insurance.person_id))).where(*overlapping))
        or 0
    )


def storno_target(
    session: Session, reference: str, sender_number: str, office_id: int
) -> StoredReport | None:
    """The report a Storno refers to: of its office, the sender's own first, newest first."""
    rows = session.execute(
        select(
            Report.id,
            Report.kind,
            Report.billing_office_id,
            Report.person_id,
            Report.cancelled,
            Report.year,
            Report.month,
            Report.begin,
            Report.end,
        )
        .where(Report.meldungs_id == reference, Report.kind != "Storno")
        .order_by((Report.sender_number == sender_number).desc(), Report.id.desc())
    )
    for row in rows:
        if row.billing_office_id == office_id:
            return StoredReport(*row)
    return None


def relationship_opened_by(session: Session, target: StoredReport) -> StoredRelationship | None:
    return _relationship(session, target, Insurance.opened_by == target.id)


def relationship_closed_by(session: Session, target: StoredReport) -> StoredRelationship | None:
    return _relationship(session, target, Insurance.closed_by == target.id)


def _relationship(
    session: Session, target: StoredReport, condition: ColumnElement[bool]
) -> StoredRelationship | None:
    """A relationship of the report's person at its office (searched through their index;
    ``opened_by`` and ``closed_by`` have none of their own)."""
    row = session.execute(
        select(
            Insurance.id,
            Insurance.person_id,
            Insurance.billing_office_id,
            Insurance.begin,
            Insurance.end,
            Insurance.closed_by,
        ).where(
            Insurance.person_id == target.person_id,
            Insurance.billing_office_id == target.billing_office_id,
            condition,
        )
    ).first()
    return StoredRelationship(*row) if row is not None else None


def has_dependants(session: Session, relationship: StoredRelationship) -> bool:
    """The Abmeldung that closed this relationship, or a Jahresmeldung for a year it spans.

    Reports of an earlier, already closed relationship of the same person and office do not
    count: they rest on that relationship, not on this one.
    """
    if relationship.closed_by is not None:
        return True
    years = [Report.year >= relationship.begin.year]
    if relationship.end is not None:
        years.append(Report.year <= relationship.end.year)
    dependant = session.scalar(
        select(Report.id).where(
            Report.person_id == relationship.person_id,
            Report.billing_office_id == relationship.billing_office_id,
            Report.cancelled.is_(False),
            Report.kind == "Jahresmeldung",
            *years,
        )
    )
    return dependant is not None
