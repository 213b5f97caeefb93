"""How the stored-state lookups learn what a file's accepted report changed.

:class:`Remembering` is part of :class:`~ingest.storing.view.StoredView`: after a report is
accepted, its :class:`~ingest.storing.decision.Decision` is remembered in the lookups' caches
(which answer for the rest of the batch) and, while nothing is written, marked in the overlay
(which answers for the file's later batches). The database itself is changed only by
:mod:`ingest.storing.apply`.
"""

from __future__ import annotations

from typing import Any

from ingest.storing.decision import (
    CancelReport,
    CloseRelationship,
    Decision,
    DropRelationship,
    NewPerson,
    OpenRelationship,
    ReopenRelationship,
    SetRvnr,
)
from ingest.storing.overlay import Overlay, Span, pair_key
from ingest.validating.records import PeriodData, StatementData

PARENTAL_LEAVE = "28"


class Remembering:
    """The caches of the lookups, as far as the file's own reports change them."""

    overlay: Overlay | None
    year: int | None
    _used: dict[str, bool]
    _persons: dict[int, Any]
    _by_rvnr: dict[str, Any]
    _by_number: dict[str, Any]
    _spans: dict[tuple[int, int], list[Span]]
    _annual: dict[tuple[int, int], bool]
    _provisional_reports: int  # the file's reports numbered while nothing is written: -1, …

    def spans_of(self, person_id: int, office_id: int) -> list[Span]:
        raise NotImplementedError

    def leave_of(self, person_id: int) -> list[Any]:
        raise NotImplementedError

    def _remember_person(self, pid: int, number: str, rvnr: str | None) -> Any:
        raise NotImplementedError

    def remember(self, decision: Decision) -> None:
        """The file's later reports see what the accepted ``decision`` changes."""
        report = decision.report
        self._used[report.meldungs_id] = True
        overlay = self.overlay
        pid, oid = decision.person_id, decision.office_id
        changes = decision.changes
        if overlay is not None:
            overlay.mark("used", report.meldungs_id, True)
            if report.kind != "Storno":  # a later Storno may refer to it
                self._provisional_reports -= 1
                overlay.mark("report", report.meldungs_id, self._kept_report(decision))
        for change in changes:  # none for most Jahresmeldungen
            if isinstance(change, NewPerson):
                self._new_person(change)
                if oid is not None:
                    self._spans[(change.id, oid)] = []  # a new person has no relationship yet
            elif isinstance(change, SetRvnr):
                self._set_rvnr(change)
            elif isinstance(change, OpenRelationship):
                assert pid is not None and oid is not None
                spans = self.spans_of(pid, oid)
                spans.append((change.begin, None))
                spans.sort(key=lambda span: span[0])
                self._mark_spans(pid, oid, spans)
            elif isinstance(change, CloseRelationship):
                assert pid is not None and oid is not None
                spans = self.spans_of(pid, oid)
                spans[:] = [
                    (b, change.end if b == change.begin and e is None else e) for b, e in spans
                ]
                self._mark_spans(pid, oid, spans)
            elif isinstance(change, StatementData) and overlay is not None:
                overlay.mark("statement", f"{oid}/{change.month}", True)
            elif overlay is not None:
                self._remember_storno(change, oid)
        if report.kind == "Jahresmeldung" and pid is not None and oid is not None:
            self._annual[(pid, oid)] = True
            if overlay is not None:
                overlay.mark("annual", pair_key((pid, oid)), True)
        if pid is not None and report.kind in ("Jahresmeldung", "Abmeldung"):
            for period in report.periods:  # a plain loop: rarely any (hot path)
                if period.booking_key[2:4] == PARENTAL_LEAVE:
                    self._remember_leave(pid, report.periods)
                    break

    def _remember_leave(self, pid: int, periods: tuple[PeriodData, ...]) -> None:
        stored = self.leave_of(pid)
        stored.extend((p.begin, p.end, p.children) for p in periods if p.merkmal == PARENTAL_LEAVE)
        if self.overlay is not None:
            self.overlay.mark("leave", str(pid), stored)

    def _kept_report(self, decision: Decision) -> list[Any]:
        """A report of the file as a Storno looks at it (see ``StoredView.storno_target``)."""
        report = decision.report
        month = report.statement.month if report.statement is not None else None
        begin = report.begin
        for change in decision.changes:
            if isinstance(change, CloseRelationship):
                begin = change.begin
        return [
            self._provisional_reports,
            report.kind,
            decision.office_id,
            decision.person_id,
            decision.year,
            month,
            begin,
            report.end,
        ]

    def _new_person(self, change: NewPerson) -> None:
        data = change.data
        ref = self._remember_person(change.id, change.versicherungsnummer, data.rvnr)
        self._by_number[change.versicherungsnummer] = ref
        if data.rvnr is not None:
            self._by_rvnr[data.rvnr] = ref
            if self.overlay is not None:
                self.overlay.mark(
                    "rvnr", data.rvnr, [change.id, change.versicherungsnummer, data.rvnr]
                )

    def _set_rvnr(self, change: SetRvnr) -> None:
        ref = self._persons[change.person_id]
        ref.rvnr = change.rvnr
        self._by_rvnr[change.rvnr] = ref
        if self.overlay is not None:
            value = [ref.id, ref.versicherungsnummer, change.rvnr]
            self.overlay.mark("rvnr", change.rvnr, value)
            self.overlay.mark("number", ref.versicherungsnummer, value)

    def _mark_spans(self, pid: int, oid: int, spans: list[Span]) -> None:
        if self.overlay is not None:
            self.overlay.mark("spans", pair_key((pid, oid)), spans)

    def _remember_storno(self, change: Any, oid: int | None) -> None:
        """While nothing is written: what a Storno changed, for the file's later reports."""
        overlay = self.overlay
        assert overlay is not None
        if isinstance(change, CancelReport):
            overlay.mark("cancelled", str(change.target_id), True)
            if change.kind == "Jahresmeldung" and change.person_id is not None:
                if change.year == self.year:
                    self._annual[(change.person_id, oid or 0)] = False
                    overlay.mark("annual", pair_key((change.person_id, oid or 0)), False)
            elif change.kind == "Monatsabrechnung" and change.month is not None:
                overlay.mark("statement", f"{oid}/{change.month}", False)
        elif isinstance(change, DropRelationship):
            spans = self.spans_of(change.person_id, oid or 0)
            spans[:] = [s for s in spans if s[0] != change.begin]
            self._mark_spans(change.person_id, oid or 0, spans)
        elif isinstance(change, ReopenRelationship):
            spans = self.spans_of(change.person_id, oid or 0)
            spans[:] = [(b, None if b == change.begin else e) for b, e in spans]
            self._mark_spans(change.person_id, oid or 0, spans)
