"""What the batch lookups of :mod:`ingest.storing.view` need of the database's dialect: how a
statement takes all the keys of a batch in one parameter, and when PostgreSQL's planner gets new
statistics. The one place where the lookups differ by database.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, String, any_, bindparam, func, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from ingest.storing.models import Report

ANALYZE_GROWTH = 0.5  # share by which the reports grow between two ANALYZE (PostgreSQL)
ANALYZE_MIN_ROWS = 1000  # and at least this many rows
# The columns that the statements of a delivery filter or join on: statistics of the others
# are not needed during the pass, and computing them doubled the time of each ANALYZE.
ANALYZED = (
    "persons (versicherungsnummer, rvnr)",
    "reports (sender_number, meldungs_id, person_id, billing_office_id, kind, year, cancelled)",
    "periods (report_id)",
    "insurances (person_id, billing_office_id, opened_by)",
)


@dataclass
class Statistics:
    """When PostgreSQL's planner statistics are renewed during one delivery."""

    analyzed_reports: int | None = None  # reports in the table at the last ANALYZE
    written_reports: int = 0  # reports written by this delivery since then

    def renew_when_grown(self, session: Session, coming: int) -> None:
        """Renew the planner's statistics when this delivery has grown the tables by half.

        The statistics lag behind a file that adds a million rows in one transaction, and
        stale ones turn the batch lookups into sequential scans. Every table grows at most as
        fast as the reports (one row per report; persons, relationships and periods follow
        them), so their count decides: at the start, and then whenever the reports written
        since the last ANALYZE are half of what the table held then (17 times for a million
        reports into an empty database, twice for a million on top of a million).
        """
        if self.analyzed_reports is None:
            session.execute(text(f"ANALYZE {', '.join(ANALYZED)}"))
            self.analyzed_reports = session.scalar(select(func.count(Report.id))) or 0
        elif self.written_reports >= max(ANALYZE_MIN_ROWS, ANALYZE_GROWTH * self.analyzed_reports):
            session.execute(text(f"ANALYZE {', '.join(ANALYZED)}"))
            self.analyzed_reports += self.written_reports
            self.written_reports = 0
        self.written_reports += coming


def keys_condition(column: Any, postgres: bool) -> ColumnElement[bool]:
    """``column`` is one of the keys of a batch lookup, all bound as one parameter ``keys``.

    The one place where the lookups differ by database. PostgreSQL: ``= ANY(:keys)`` with an
    array. SQLite: ``IN (SELECT value FROM json_each(:keys))`` with a JSON array (SQLite has no
    array parameters); the planner searches the column's index for each key, as with a list of
    placeholders. The values are never part of the statement, so SQLAlchemy's statement cache
    does not keep them.
    """
    condition: ColumnElement[bool]
    if postgres:
        # an array of unbounded text: a cast to the column's VARCHAR(n)[] would cut longer keys
        element = String() if isinstance(column.type, String) else column.type
        condition = column == any_(bindparam("keys", type_=ARRAY(element)))
    else:
        values = func.json_each(bindparam("keys", type_=String())).table_valued("value")
        condition = column.in_(select(values.c.value))
    return condition
