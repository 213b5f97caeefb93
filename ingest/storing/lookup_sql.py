"""When the planner's statistics are renewed during one delivery (a database whose backend
refreshes statistics: PostgreSQL). How a lookup binds its keys is the backend's
(:meth:`ingest.storing.backend.Backend.among`).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ingest.storing.backend import Backend
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

    def renew_when_grown(self, session: Session, backend: Backend, coming: int) -> None:
        """Renew the planner's statistics when this delivery has grown the tables by half.

        The statistics lag behind a file that adds a million rows in one transaction, and
        stale ones turn the batch lookups into sequential scans. Every table grows at most as
        fast as the reports (one row per report; persons, relationships and periods follow
        them), so their count decides: at the start, and then whenever the reports written
        since the last ANALYZE are half of what the table held then (17 times for a million
        reports into an empty database, twice for a million on top of a million).
        """
        if self.analyzed_reports is None:
            backend.analyze(session, ANALYZED)
            self.analyzed_reports = session.scalar(select(func.count(Report.id))) or 0
        elif self.written_reports >= max(ANALYZE_MIN_ROWS, ANALYZE_GROWTH * self.analyzed_reports):
            backend.analyze(session, ANALYZED)
            self.analyzed_reports += self.written_reports
            self.written_reports = 0
        self.written_reports += coming
