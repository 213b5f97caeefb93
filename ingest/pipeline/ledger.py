"""The delivery ledger: every state change of a delivery, its verdict, the queries about it.

A delivery's row is entered once (received, or refused before it could be checked), moved to
``checking``, finished with its result and findings in the transaction that stores its reports
(``committed`` or ``rejected``; ``failed`` for an error of the service), and ``answered`` once
its protocol is written. A re-run makes a failed or rejected delivery ``received`` again. Every
state is durable: a restart continues from it. The verdict (the protocol's content) and the
views of ``zvk deliveries`` are read from here, so they always agree with the ledger.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import structlog
from sqlalchemy import and_, delete, func, insert, or_, select
from sqlalchemy.orm import Session, sessionmaker

from ingest.answering.protocol import Assigned, Verdict
from ingest.errors import UsageError
from ingest.pipeline.results import Result
from ingest.receiving.intake import Archived, Arrival
from ingest.receiving.names import ledger_name
from ingest.rerun import archive_quarantined
from ingest.settings import Settings
from ingest.storing.models import Delivery, DeliveryState, FindingRow, Report
from ingest.storing.refusals import NOT_ARCHIVED, RefusedUpload, is_quarantined, record_refusal
from ingest.storing.registry import find_sender
from ingest.storing.rows import StoredRows
from ingest.validating.findings import Catalogue, Finding
from ingest.validating.rules_delivery import internal_error
from ingest.validating.submission import Channel

log = structlog.stdlib.get_logger("ingest.ledger")

FINAL_STATES = {DeliveryState.ANSWERED.value, DeliveryState.ACKNOWLEDGED.value}
IN_PROGRESS = (DeliveryState.RECEIVED.value, DeliveryState.CHECKING.value)
UNANSWERED = "protocol not written: "  # Delivery.error of a delivery whose protocol failed


@dataclass
class Ledger:
    """The ledger of one installation."""

    settings: Settings
    sessions: sessionmaker[Session]
    catalogue: Catalogue
    # Sessions that only read, for streaming a protocol: on SQLite they do not take the write
    # lock, so other workers go on committing meanwhile.
    readers: sessionmaker[Session] | None = None

    @property
    def ruleset(self) -> str:
        return f"Meldedatei 1, Regelwerk {self.catalogue.version}"

    @staticmethod
    def delivery(session: Session, delivery_id: str) -> Delivery:
        """The row of a delivery; :class:`LookupError` when the ledger has none."""
        found = session.scalar(select(Delivery).where(Delivery.delivery_id == delivery_id))
        if found is None:
            raise LookupError(delivery_id)
        return found

    def key(self, delivery_id: str) -> int:
        """The row's primary key (what claims are taken on)."""
        with self.sessions() as session:
            return self.delivery(session, delivery_id).id

    def taken(self, delivery_id: str) -> bool:
        """Whether the ledger has a delivery of that LieferungsId."""
        with self.sessions() as session:
            found = session.scalar(select(Delivery.id).where(Delivery.delivery_id == delivery_id))
            return found is not None

    # -- entering ---------------------------------------------------------------------------
    def enter(self, archived: Archived) -> None:
        """Enter an archived arrival as ``received`` (nothing happens when it is there)."""
        arrival: Arrival = archived.arrival
        with self.sessions.begin() as session:
            exists = session.scalar(
                select(Delivery.id).where(Delivery.delivery_id == arrival.delivery_id)
            )
            if exists is not None:
                return
            sender = find_sender(session, arrival.sender_number)
            session.add(
                Delivery(
                    delivery_id=arrival.delivery_id,
                    sender_number=arrival.sender_number,
                    sender_id=sender.id if sender else None,
                    filename=ledger_name(arrival.filename),
                    sha256=archived.sha256,
                    size=archived.size,
                    test=arrival.test,
                    channel=Channel(arrival.channel).value,
                    received_at=datetime.fromisoformat(arrival.received_at),
                    state=DeliveryState.RECEIVED.value,
                    archive_path=str(archived.path.relative_to(self.settings.home)),
                )
            )

    def enter_refusal(self, refused: RefusedUpload) -> None:
        """Enter a file refused before it could be checked; the worker answers it."""
        with self.sessions.begin() as session:
            record_refusal(session, self.catalogue, self.ruleset, refused)

    # -- processing -------------------------------------------------------------------------
    def unfinished(self) -> list[tuple[str, str]]:
        """Deliveries that have no protocol yet, oldest first: (LieferungsId, sender)."""
        query = (
            select(Delivery.delivery_id, Delivery.sender_number)
            .where(
                or_(
                    Delivery.state.not_in([*FINAL_STATES, DeliveryState.FAILED.value]),
                    and_(
                        Delivery.state == DeliveryState.FAILED.value,
                        Delivery.protocol_path.is_(None),
                    ),
                )
            )
            .order_by(Delivery.id)
        )
        with self.sessions() as session:
            return [(delivery_id, sender) for delivery_id, sender in session.execute(query)]

    def start_check(self, delivery_id: str) -> str:
        """A received delivery is ``checking`` from now on; returns the state it was in."""
        with self.sessions.begin() as session:
            delivery = self.delivery(session, delivery_id)
            state = delivery.state
            if state == DeliveryState.RECEIVED.value:
                delivery.state = DeliveryState.CHECKING.value
        return state

    def finish(
        self,
        session: Session,
        delivery: Delivery,
        result: Result,
        findings: list[Finding],
        *,
        total: int = 0,
        accepted: int = 0,
        duplicate_of: str | None = None,
    ) -> None:
        """Record the result and findings in the same transaction as the reports."""
        committed = result.commits and not delivery.test
        delivery.state = (
            DeliveryState.COMMITTED.value if committed else DeliveryState.REJECTED.value
        )
        delivery.result = result.value
        delivery.total, delivery.accepted, delivery.rejected = total, accepted, total - accepted
        delivery.duplicate_of = duplicate_of
        delivery.processed_at = datetime.now(UTC)
        delivery.ruleset = self.ruleset
        if not delivery.test and result != Result.DOPPELT:
            delivery.original_sha256 = delivery.sha256
        session.flush()
        if findings:
            # one executemany: a file with 1 % faulty reports of a million brings ten thousand
            # findings, too many for an ORM object each
            session.execute(
                insert(FindingRow),
                [
                    {
                        "delivery_id": delivery.id,
                        "code": f.code,
                        "severity": f.severity,
                        "satz": f.satz,
                        "meldungs_id": f.meldungs_id,
                        "field": f.field,
                        "line": f.line,
                        "column": f.column,
                        "message": f.message,
                    }
                    for f in findings
                ],
            )

    def fail(self, delivery_id: str, reason: str) -> None:
        """Internal error: nothing committed, the file stays archived for a re-run (ZVSY999)."""
        with self.sessions.begin() as session:
            delivery = self.delivery(session, delivery_id)
            finding = internal_error(self.catalogue)
            self.finish(session, delivery, Result.ABGEWIESEN, [finding])
            delivery.state = DeliveryState.FAILED.value
            delivery.original_sha256 = None
            delivery.error = reason

    def note_error(self, delivery_id: str, reason: str) -> None:
        with self.sessions.begin() as session:
            self.delivery(session, delivery_id).error = reason

    def answered(self, delivery_id: str) -> bool:
        """Whether the delivery's protocol is written."""
        with self.sessions() as session:
            delivery = self.delivery(session, delivery_id)
            return delivery.state in FINAL_STATES and bool(delivery.protocol_path)

    def record_answer(self, delivery_id: str, protocol_path: str) -> None:
        """The protocol is written (``protocol_path`` relative to the home)."""
        with self.sessions.begin() as session:
            delivery = self.delivery(session, delivery_id)
            delivery.protocol_path = protocol_path
            if delivery.error and delivery.error.startswith(UNANSWERED):
                delivery.error = None  # written now
            if delivery.state != DeliveryState.FAILED.value:
                delivery.state = DeliveryState.ANSWERED.value

    def reset_for_rerun(self, delivery_id: str) -> None:
        """Make a failed or rejected delivery new again, so that a worker checks it afresh.

        Raises :class:`~ingest.errors.UsageError` for a delivery that cannot be re-run, saying
        why (see :mod:`ingest.rerun`).
        """
        with self.sessions.begin() as session:
            delivery = self.delivery(session, delivery_id)
            if delivery.state in IN_PROGRESS:
                return
            if delivery.archive_path == NOT_ARCHIVED:
                raise UsageError(
                    f"{delivery_id} was refused before the file was complete or was no regular "
                    "file, and nothing of it was kept; the sender has to send the file again"
                )
            if (
                delivery.state != DeliveryState.FAILED.value
                and (delivery.result is None or Result(delivery.result).commits)
                and not delivery.test
            ):
                raise UsageError(
                    f"{delivery_id} has committed reports ({delivery.result}); "
                    "send a Storno and a corrected file instead"
                )
            if is_quarantined(delivery.archive_path):
                archive_quarantined(self.settings, delivery)
            session.execute(delete(FindingRow).where(FindingRow.delivery_id == delivery.id))
            delivery.state = DeliveryState.RECEIVED.value
            delivery.result = None
            delivery.original_sha256 = None
            delivery.file_number_used = None
            delivery.duplicate_of = None
            delivery.protocol_path = None
            delivery.processed_at = None
            delivery.error = None
            delivery.total = delivery.accepted = delivery.rejected = 0
        log.info("delivery reset for a re-run", delivery_id=delivery_id)

    # -- reading ----------------------------------------------------------------------------
    def verdict(self, delivery_id: str) -> Verdict:
        """The protocol's content, rebuilt from the ledger (the same after a restart).

        Findings and assigned numbers are not loaded here: they are read from the ledger in
        chunks whenever they are iterated, so that writing the protocol of a file of a million
        Anmeldungen needs no more memory than that of ten.
        """
        with self.sessions() as session:
            d = self.delivery(session, delivery_id)
            readers = self.readers or self.sessions
            findings = StoredRows(
                readers,
                select(
                    FindingRow.code,
                    FindingRow.severity,
                    FindingRow.message,
                    FindingRow.satz,
                    FindingRow.meldungs_id,
                    FindingRow.field,
                    FindingRow.line,
                    FindingRow.column,
                )
                .where(FindingRow.delivery_id == d.id)
                .order_by(FindingRow.id),
                self._finding,
                columns_only=True,
            )
            assignments = StoredRows(
                readers,
                select(Report.satz, Report.meldungs_id, Report.versicherungsnummer)
                .where(
                    Report.delivery_id == d.id,
                    Report.assigned.is_(True),
                    Report.versicherungsnummer.is_not(None),
                )
                .order_by(Report.satz),
                lambda row: Assigned(*row),  # satz, meldungs_id, versicherungsnummer
                columns_only=True,
            )
            return Verdict(
                delivery_id=d.delivery_id,
                sender=d.sender_number,
                filename=d.filename,
                sha256=d.sha256,
                received_at=aware(d.received_at),
                processed_at=aware(d.processed_at or datetime.now(UTC)),
                test=d.test,
                ruleset=d.ruleset or self.ruleset,
                result=Result(d.result) if d.result else Result.ABGEWIESEN,
                total=d.total,
                accepted=d.accepted,
                rejected=d.rejected,
                file_number=d.file_number,
                file_kind=d.file_kind,
                duplicate_of=d.duplicate_of,
                findings=findings,
                assignments=assignments,
            )

    def _finding(self, row: Any) -> Finding:
        code, severity, message, satz, meldungs_id, fld, line, column = row
        return Finding(
            code=code,
            severity="F" if severity == "F" else "H",
            scope=self.catalogue.codes[code].scope,
            message=message,
            satz=satz,
            meldungs_id=meldungs_id,
            field=fld,
            line=line,
            column=column,
        )

    def count_committed(self) -> int:
        """The reports stored, of every delivery."""
        with self.sessions() as session:
            return session.scalar(select(func.count(Report.id))) or 0


# -- the views of `zvk deliveries` ----------------------------------------------------------------
def deliveries(
    session: Session,
    *,
    sender: str | None = None,
    result: Result | None = None,
    state: DeliveryState | None = None,
    limit: int = 100,
) -> list[Delivery]:
    """The deliveries, newest first, at most ``limit``; only those of the filters given."""
    query = select(Delivery).order_by(Delivery.id.desc()).limit(limit)
    if sender is not None:
        query = query.where(Delivery.sender_number == sender)
    if result is not None:
        query = query.where(Delivery.result == result.value)
    if state is not None:
        query = query.where(Delivery.state == state.value)
    return list(session.scalars(query))


def delivery_with_findings(
    session: Session, delivery_id: str
) -> tuple[Delivery, list[FindingRow]] | None:
    """One delivery and its findings in the order found; ``None`` when the ledger has none."""
    found = session.scalar(select(Delivery).where(Delivery.delivery_id == delivery_id))
    if found is None:
        return None
    findings = session.scalars(
        select(FindingRow).where(FindingRow.delivery_id == found.id).order_by(FindingRow.id)
    )
    return found, list(findings)


def aware(moment: datetime) -> datetime:
    """SQLite returns naive datetimes; everything stored is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
