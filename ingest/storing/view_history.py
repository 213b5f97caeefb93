"""The stored-state lookups of the rarer report kinds (Monatsabrechnung, Storno), part of
:class:`~ingest.storing.view.StoredView`: the queries of :mod:`ingest.storing.history`, with what
the file's own earlier reports changed while nothing is written (the overlay).

A report of the file that a later Storno may refer to is kept in the overlay with a negative id
(it has no row); its relationship is found among the overlay's spans.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ingest.storing.backend import Backend
from ingest.storing.history import (
    StoredRelationship,
    StoredReport,
    has_dependants,
    insured_count,
    relationship_closed_by,
    relationship_opened_by,
    statement_exists,
    storno_target,
)
from ingest.storing.models import Insurance
from ingest.storing.overlay import Overlay, Span
from ingest.validating.moments import month_bounds


class HistoryLookups:
    """Read-only lookups for Monatsabrechnung and Storno."""

    session: Session
    sender_number: str
    overlay: Overlay | None

    _backend: Backend

    def spans_of(self, person_id: int, office_id: int) -> list[Span]:
        raise NotImplementedError

    def _lookup(self, statement: Any, values: Sequence[Any]) -> Any:
        raise NotImplementedError

    def statement_exists(self, office_id: int, month: str) -> bool:
        """An uncancelled Monatsabrechnung of the office for the month (the file's included)."""
        if self.overlay is not None:
            kept = self.overlay.get("statement", [f"{office_id}/{month}"])
            if kept:
                return bool(kept[f"{office_id}/{month}"])
        return statement_exists(self.session, office_id, month)

    def insured_count(self, office_id: int, month: str) -> int:
        """The persons with a relationship at the office in the month (the file's changes to
        relationships included)."""
        count = insured_count(self.session, office_id, month)
        changed = self.overlay.spans_at(office_id) if self.overlay is not None else {}
        if not changed:
            return count
        first, after = month_bounds(month)

        def overlaps(begin: date, end: date | None) -> bool:
            return (end is None or end >= first) and (after is None or begin < after)

        stored = sorted(p for p in changed if p > 0)
        statement = select(Insurance.person_id, Insurance.begin, Insurance.end).where(
            Insurance.billing_office_id == office_id,
            self._backend.among(Insurance.person_id),
        )
        counted = {
            pid for pid, begin, end in self._lookup(statement, stored) if overlaps(begin, end)
        }
        now = sum(1 for spans in changed.values() if any(overlaps(b, e) for b, e in spans))
        return count - len(counted) + now

    def storno_target(self, reference: str, office_id: int) -> StoredReport | None:
        """The report a Storno refers to: the file's own accepted report of that MeldungsId
        at the office, else the stored one; cancelled when the file cancelled it."""
        overlay = self.overlay
        if overlay is None:
            return storno_target(self.session, reference, self.sender_number, office_id)
        kept = overlay.get("report", [reference]).get(reference)
        target: StoredReport | None
        if kept is not None and kept[2] == office_id:
            rid, kind, oid, pid, year, month, begin, end = kept
            target = StoredReport(rid, kind, oid, pid, False, year, month, _day(begin), _day(end))
        else:
            target = storno_target(self.session, reference, self.sender_number, office_id)
        if (
            target is not None
            and not target.cancelled
            and overlay.get("cancelled", [str(target.id)])
        ):
            target = replace(target, cancelled=True)
        return target

    def relationship_opened_by(self, target: StoredReport) -> StoredRelationship | None:
        if target.id < 0:  # the file's own Anmeldung
            return self._file_relationship(target, lambda b, _e: b == target.begin)
        return relationship_opened_by(self.session, target)

    def relationship_closed_by(self, target: StoredReport) -> StoredRelationship | None:
        if target.id < 0:  # the file's own Abmeldung
            return self._file_relationship(target, lambda _b, e: e == target.end)
        return relationship_closed_by(self.session, target)

    def _file_relationship(
        self, target: StoredReport, match: Callable[[date, date | None], bool]
    ) -> StoredRelationship | None:
        """A relationship the file's own report opened or closed (no row of it exists)."""
        pid, oid = target.person_id, target.billing_office_id
        if pid is None or oid is None:
            return None
        for begin, end in self.spans_of(pid, oid):
            if match(begin, end):
                closed_by = None if end is None else target.id
                return StoredRelationship(0, pid, oid, begin, end, closed_by)
        return None

    def has_dependants(self, relationship: StoredRelationship) -> bool:
        return has_dependants(self.session, relationship)


def _day(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None
