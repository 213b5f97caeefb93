"""What the fund knew on a day: the reports and deliveries that had arrived by its end.

A reconciliation as of day D (or the evaluations of D) looks only at deliveries received before
midnight after D in Europe/Berlin, at the reports they brought, and at a Storno or Abmeldung only
when its own delivery had arrived by then. A run for a day in the past therefore finds what
was missing on that day, not what arrived later.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, and_, case, or_, select
from sqlalchemy.orm import aliased

from ingest.storing.models import Delivery, Insurance, Report

BERLIN = ZoneInfo("Europe/Berlin")


def day_end(as_of: date) -> datetime:
    """The first moment (UTC) after the day ``as_of`` in Europe/Berlin."""
    return datetime.combine(as_of + timedelta(days=1), time(0), BERLIN).astimezone(UTC)


def arrived_by(moment: datetime, as_of: date) -> bool:
    """``moment`` (UTC; naive means UTC) lies within or before the day ``as_of``."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware < day_end(as_of)


def known_reports(as_of: date) -> Select[int]:
    """The ids of the reports whose delivery had arrived by the end of ``as_of``.

    Aliased, so that it never correlates with a query over the reports it is used in.
    """
    report, delivery = aliased(Report), aliased(Delivery)
    return (
        select(report.id)
        .join(delivery, delivery.id == report.delivery_id)
        .where(delivery.received_at < day_end(as_of))
    )


def cancelled_by_day(as_of: date) -> Select[int]:
    """The ids of the reports cancelled by a Storno whose delivery had arrived by ``as_of``."""
    report = aliased(Report)
    return select(report.id).where(report.cancelled_by.in_(known_reports(as_of)))


def valid_on(as_of: date) -> ColumnElement[bool]:
    """A report counts on ``as_of``: it had arrived and no Storno that had arrived cancelled it."""
    known = known_reports(as_of)
    cancelled_later = and_(Report.cancelled_by.is_not(None), Report.cancelled_by.not_in(known))
    return and_(Report.id.in_(known), or_(Report.cancelled.is_(False), cancelled_later))


def insurances_on(as_of: date) -> Select[int, int, date, date | None]:
    """(person, office, begin, end) of the relationships reported by ``as_of``; an end that
    only a later Abmeldung reported is no end yet."""
    known = known_reports(as_of)
    end = case((Insurance.closed_by.in_(known), Insurance.end), else_=None)
    return select(
        Insurance.person_id, Insurance.billing_office_id, Insurance.begin, end.label("end")
    ).where(Insurance.opened_by.in_(known))
