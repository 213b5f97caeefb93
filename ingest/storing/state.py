"""The checks of one delivery against the fund's stored state, and the writing of its accepted
reports: the pipeline's :class:`~ingest.validating.checker.StateHooks`.

Each report is decided by reading only (:func:`ingest.storing.decide.decide`, through the
lookups of :class:`~ingest.storing.view.StoredView`); an accepted report is remembered by the
lookups, so that the file's later reports see it (a Storno followed by the corrected report),
and then applied (:class:`~ingest.storing.apply.Applier`), in file order, inside the
delivery's open transaction.

A delivery that must leave nothing behind (a test delivery, a file refused by its Vorlauf) is
decided the same way, with the same findings, but nothing is applied: its changes are kept in
an :class:`~ingest.storing.overlay.Overlay` for its later reports instead.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from ingest.storing.apply import ORM_KINDS, Applier
from ingest.storing.decide import decide
from ingest.storing.models import Sender
from ingest.storing.overlay import Overlay
from ingest.storing.rules_access import VORLAUF_RULES, VorlaufCase
from ingest.storing.view import StoredView
from ingest.validating.findings import Catalogue, Finding, Findings
from ingest.validating.moments import year_of_period
from ingest.validating.records import Header, ReportData


class StoredChecks:
    """The pipeline's :class:`~ingest.validating.checker.StateHooks` for one delivery."""

    def __init__(
        self,
        session: Session,
        catalogue: Catalogue,
        sender: Sender | None,
        sender_number: str,
        delivery_pk: int,
    ) -> None:
        self.session = session
        self.catalogue = catalogue
        self.sender = sender
        self.sender_number = sender_number
        self.delivery_pk = delivery_pk
        self.view: StoredView | None = None
        self.applier: Applier | None = None  # None: decide only, write nothing

    def header(self, header: Header, *, apply: bool = True) -> list[Finding]:
        """The Vorlauf's stored-state findings; ``apply`` False: the file's reports are to be
        decided only (a test delivery, or the Vorlauf was refused)."""
        findings = Findings(self.catalogue, line=header.line, prefix="Vorlauf")
        case = VorlaufCase(self.session, self.sender, self.sender_number, header, findings)
        for check in VORLAUF_RULES:
            check(case)
            if any(f.rejects for f in findings.items):
                return findings.items  # a sender or file number refused: no report is checked
        year = year_of_period(header.period)  # None for a year `date` cannot hold: ZVVO030
        self.view = StoredView(
            self.session,
            self.sender,
            self.sender_number,
            year,
            overlay=None if apply else Overlay(),
        )
        if apply:
            self.applier = Applier(self.session, self.view, self.sender_number, self.delivery_pk)
        return findings.items

    def prefetch(self, reports: Sequence[ReportData]) -> None:
        view = self.view
        if view is None:
            return
        if self.applier is not None:
            self.applier.write()
            self.session.flush()  # the lookups go around the ORM: it must have written all
        else:
            view.forget_batch()
        view.prefetch(reports)

    def report(self, report: ReportData, earlier: list[Finding]) -> list[Finding]:
        view = self.view
        if view is None:
            return []
        applier = self.applier
        if applier is not None and report.kind in ORM_KINDS:
            applier.before_decision()
        decision = decide(view, self.catalogue, report, earlier)
        if decision.accepted:
            view.remember(decision)
            if applier is not None:
                applier.apply(decision)
        return decision.findings

    def finish(self) -> None:
        if self.applier is not None:
            self.applier.write()
        if self.view is not None and self.view.overlay is not None:
            self.view.overlay.close()
