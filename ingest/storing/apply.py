"""The apply step: write what an accepted report's decision changes, inside the delivery's
transaction.

The frequent kinds (Anmeldung, Jahresmeldung) only add rows: they are collected and written a
batch at a time (see :mod:`ingest.storing.bulk`). The rare kinds change stored rows (close or
reopen a relationship, cancel a report) and are written through the ORM, one flush each. The
decision was made by reading only (:mod:`ingest.storing.decide`); nothing here checks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from ingest.storing.bulk import IdAllocator, Pending, day
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
from ingest.storing.models import Insurance, MonthlyStatement, Period, Report
from ingest.storing.view import StoredView
from ingest.validating.records import StatementData

# Kinds applied through the ORM, one flush each: they change stored rows or count over them.
ORM_KINDS = frozenset({"Abmeldung", "Monatsabrechnung", "Storno"})


@dataclass
class Applier:
    """Writes the accepted reports of one delivery, in file order."""

    session: Session
    view: StoredView  # told when rows were written around it
    sender_number: str
    delivery_pk: int
    _pending: Pending = field(default_factory=Pending)
    _report_ids: IdAllocator = field(default_factory=lambda: IdAllocator(Report.__table__))  # type: ignore[arg-type]

    def write(self) -> None:
        """Write the batch's pending rows; the lookups forget what the batch knew."""
        if self._pending:
            self._pending.write(self.session)
        self.view.forget_batch()

    def before_decision(self) -> None:
        """A report of a rare kind (``ORM_KINDS``) is about to be decided: it reads the
        database directly, so the batch is written first."""
        if self._pending:
            self.write()
            self.session.expire_all()

    def apply(self, decision: Decision) -> None:
        """Write (or collect for the batch) what ``decision`` changes."""
        if decision.report.kind in ORM_KINDS:
            self._apply_rare(decision)
        else:
            self._collect(decision)

    # -- the frequent kinds: rows collected for the batch ----------------------------------
    def _collect(self, decision: Decision) -> None:
        pending = self._pending
        rid = self._report_ids.take(self.session)
        report = decision.report
        assigned = 0
        for change in decision.changes:
            if isinstance(change, NewPerson):
                data = change.data
                pending.persons.append(
                    (
                        change.id,
                        change.versicherungsnummer,
                        data.rvnr,
                        data.family_name,
                        data.first_name,
                        data.birth_name,
                        day(data.birth_date),
                        data.gender,
                    )
                )
                assigned = 1
            elif isinstance(change, SetRvnr):
                pending.rvnr_updates.append((change.person_id, change.rvnr))
            elif isinstance(change, OpenRelationship):
                pending.insurances.append(
                    (decision.person_id, decision.office_id, day(change.begin), None, rid)
                )
        pending.reports.append(
            (
                rid,
                self.delivery_pk,
                self.sender_number,
                report.satz,
                report.meldungs_id,
                report.kind,
                decision.office_id,
                decision.person_id,
                report.person.rvnr if report.person else None,
                decision.versicherungsnummer,
                day(report.begin),
                day(report.end),
                report.reason,
                decision.year,
                None,
                report.reference,
                0,  # cancelled
                assigned,
            )
        )
        periods = pending.periods
        for p in report.periods:  # a plain loop: a generator costs more than the rows it makes
            periods.append(
                (
                    rid,
                    p.position,
                    day(p.begin),
                    day(p.end),
                    p.booking_key,
                    str(p.pay),
                    str(p.amount),
                    p.children,
                )
            )

    # -- the rare kinds: through the ORM, one flush each -----------------------------------
    def _apply_rare(self, decision: Decision) -> None:
        report = decision.report
        statement = next((c for c in decision.changes if isinstance(c, StatementData)), None)
        row = Report(
            delivery_id=self.delivery_pk,
            sender_number=self.sender_number,
            satz=report.satz,
            meldungs_id=report.meldungs_id,
            kind=report.kind,
            billing_office_id=decision.office_id,
            person_id=decision.person_id,
            rvnr=report.person.rvnr if report.person else None,
            versicherungsnummer=decision.versicherungsnummer,
            begin=report.begin,
            end=report.end,
            reason=report.reason,
            reference=report.reference,
            cancelled=False,
            month=statement.month if statement is not None else None,
        )
        session = self.session
        session.add(row)
        session.flush()
        for period in report.periods:
            session.add(
                Period(
                    report_id=row.id,
                    position=period.position,
                    begin=period.begin,
                    end=period.end,
                    booking_key=period.booking_key,
                    pay=period.pay,
                    amount=period.amount,
                    children=period.children,
                )
            )
        for change in decision.changes:
            self._change(change, decision, row.id)
        session.flush()
        self.write()
        self.view.forget_ids()
        self._report_ids.forget()

    def _change(self, change: Any, decision: Decision, rid: int) -> None:
        session = self.session
        if isinstance(change, SetRvnr):
            self._pending.rvnr_updates.append((change.person_id, change.rvnr))
        elif isinstance(change, CloseRelationship):
            session.execute(
                update(Insurance)
                .where(
                    Insurance.person_id == decision.person_id,
                    Insurance.billing_office_id == decision.office_id,
                    Insurance.begin == change.begin,
                    Insurance.end.is_(None),
                )
                .values(end=change.end, closed_by=rid)
                .execution_options(synchronize_session=False)
            )
        elif isinstance(change, StatementData):
            session.add(
                MonthlyStatement(
                    report_id=rid,
                    billing_office_id=decision.office_id,
                    month=change.month,
                    insured_count=change.insured_count,
                    pay=change.pay,
                    levy=change.levy,
                    additional=change.additional,
                    restructuring=change.restructuring,
                    total=change.total,
                )
            )
        elif isinstance(change, CancelReport):
            session.execute(
                update(Report)
                .where(Report.id == change.target_id)
                .values(cancelled=True, cancelled_by=rid)
                .execution_options(synchronize_session=False)
            )
        elif isinstance(change, DropRelationship):
            session.execute(
                delete(Insurance)
                .where(Insurance.id == change.id)
                .execution_options(synchronize_session=False)
            )
        elif isinstance(change, ReopenRelationship):
            session.execute(
                update(Insurance)
                .where(Insurance.id == change.id)
                .values(end=None, closed_by=None)
                .execution_options(synchronize_session=False)
            )
