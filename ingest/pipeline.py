"""The journey of one delivery: intake → parse → schema → checks → commit → protocol.

``Service`` ties the stages together for every entry point (drop folder, ``zvk ingest``, SFTP).
Findings are collected as data; only failures of the service itself raise.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import structlog
from sqlalchemy import Engine, and_, func, insert, or_, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from ingest.answering.outbox import write_protocol
from ingest.answering.protocol import Assigned, Verdict
from ingest.errors import TransientError, UsageError, ZvkError
from ingest.home import protect
from ingest.progress import Listener, ProgressWriter, clear_progress
from ingest.receiving import intake
from ingest.receiving.names import ledger_name
from ingest.receiving.quarantine import is_transient, reason_of, refuse_arrival
from ingest.rerun import reset
from ingest.settings import Settings
from ingest.storing.claims import Claims, claimed, claims_for
from ingest.storing.db import (
    Checkpoint,
    commit_without_checkpoint,
    make_engine,
    open_database,
    session_factory,
)
from ingest.storing.models import Delivery, DeliveryState, FindingRow, Report
from ingest.storing.refusals import RefusedUpload, record_refusal
from ingest.storing.registry import find_sender
from ingest.storing.rows import StoredRows
from ingest.storing.state import StoredChecks
from ingest.validating.booking_keys import load_booking_keys
from ingest.validating.checker import FileCheck, prepare_reading, read_elsewhere
from ingest.validating.findings import Catalogue, Finding, load_catalogue
from ingest.validating.rules_delivery import duplicate_file, internal_error

log = structlog.stdlib.get_logger("ingest.pipeline")

INGEST_WAIT_SECONDS = 600.0
FINAL_STATES = {DeliveryState.ANSWERED.value, DeliveryState.ACKNOWLEDGED.value}
UNANSWERED = "protocol not written: "  # Delivery.error of a delivery whose protocol failed
RETRY_SECONDS = (1.0, 600.0)  # a failing delivery is tried again after 1 s, 2 s, … 10 min


def grade(total: int, accepted: int, findings: list[Finding]) -> str:
    """The `Ergebnis` of a checked file (not a duplicate)."""
    if any(f.rejects and f.file_level for f in findings):
        return "abgewiesen"
    if total and accepted == 0:
        return "abgewiesen"
    if accepted < total:
        return "teilweise_abgewiesen"
    if findings:
        return "hinweise"
    return "fehlerfrei"


@dataclass
class Service:
    """The pipeline bound to one installation."""

    settings: Settings
    sessions: sessionmaker[Session]
    catalogue: Catalogue
    claims: Claims
    on_progress: Listener | None = None  # the foreground's progress bar, if any
    # Sessions that only read, for streaming a protocol: on SQLite they do not take the write
    # lock, so other workers go on committing meanwhile.
    readers: sessionmaker[Session] | None = None
    # LieferungsId -> (failures so far, monotonic time before which it is not tried again,
    # whether the sender's later deliveries wait for it)
    _retry: dict[str, tuple[int, float, bool]] = field(default_factory=dict)

    @classmethod
    def open(cls, settings: Settings) -> Service:
        protect(settings)  # home 0700, database files 0600, umask 077
        engine = open_database(settings, writer=True)
        sqlite = engine.dialect.name == "sqlite"
        return cls(
            settings=settings,
            sessions=session_factory(engine),
            readers=session_factory(make_engine(settings)) if sqlite else None,
            catalogue=load_catalogue(),
            claims=claims_for(engine, settings.home),
        )

    def _engine(self) -> Engine:
        bind = self.sessions.kw["bind"]
        assert isinstance(bind, Engine)
        return bind

    # -- receiving ------------------------------------------------------------------------
    def receive(
        self,
        source: Path,
        *,
        sender_number: str,
        test: bool,
        channel: str,
        keep_source: bool = False,
    ) -> str | None:
        """Claim a file and register it in the ledger; returns its LieferungsId.

        ``None`` when another process claimed it first or it was refused (quarantined and
        answered); a transient failure of the registration leaves it to the recovery pass.
        """
        arrival = intake.claim(
            self.settings,
            source,
            sender_number=sender_number,
            test=test,
            channel=channel,
            keep_source=keep_source,
            taken=self.taken,
        )
        if arrival is None:
            return None
        try:
            registered = self._register(arrival)
        except Exception as exc:  # transient: claimed, the recovery pass registers it
            self._postpone(arrival.delivery_id, "could not register a delivery now", exc)
            return arrival.delivery_id
        return arrival.delivery_id if registered else None

    def taken(self, delivery_id: str) -> bool:
        """Whether the ledger has a delivery of that LieferungsId."""
        with self.sessions() as session:
            found = session.scalar(select(Delivery.id).where(Delivery.delivery_id == delivery_id))
            return found is not None

    def enter_refusal(self, refused: RefusedUpload) -> None:
        """Enter a file refused before it could be checked; the worker answers it."""
        with self.sessions.begin() as session:
            record_refusal(session, self.catalogue, self.ruleset, refused)

    def _register(self, arrival: intake.Arrival, *, wait: bool = True) -> bool:
        """Archive the spooled file and enter it in the ledger (once, whoever asks).

        A failure that is about this file refuses it alone (quarantine, protocol) and returns
        ``False``; a transient one is raised and the file stays in the spool.
        """
        with intake.registering(self.settings, arrival, wait=wait) as mine:
            if mine:
                try:
                    self._enter(arrival)
                except Exception as exc:
                    if is_transient(exc):
                        raise
                    refuse_arrival(self.settings, self, arrival, exc)  # transient: raised
                    return False
        return True

    def _enter(self, arrival: intake.Arrival) -> None:
        archived = intake.archive(self.settings, arrival)
        with self.sessions.begin() as session:
            exists = session.scalar(
                select(Delivery.id).where(Delivery.delivery_id == arrival.delivery_id)
            )
            if exists is None:
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
                        channel=arrival.channel,
                        received_at=datetime.fromisoformat(arrival.received_at),
                        state=DeliveryState.RECEIVED.value,
                        archive_path=str(archived.path.relative_to(self.settings.home)),
                    )
                )
        intake.forget(self.settings, arrival)
        log.info(
            "delivery received",
            delivery_id=arrival.delivery_id,
            sender=arrival.sender_number,
            size=archived.size,
            channel=arrival.channel,
        )

    def ingest(
        self, source: Path, *, sender_number: str, test: bool, channel: str = "cli"
    ) -> Verdict:
        """Receive and process a file in the foreground (waits while another worker is busy)."""
        if read_elsewhere(self.settings, source.stat().st_size):
            prepare_reading()  # meanwhile the file is copied and hashed
        delivery_id = self.receive(
            source, sender_number=sender_number, test=test, channel=channel, keep_source=True
        )
        if delivery_id is None:  # a copy cannot be claimed by anybody else: refused
            raise UsageError(f"{source}: refused, see the quarantine and the sender's outbox")
        verdict = self.process(delivery_id, wait_seconds=INGEST_WAIT_SECONDS)
        if verdict is None:
            raise TransientError(f"{delivery_id}: another worker holds the delivery")
        return verdict

    # -- processing -----------------------------------------------------------------------
    def unfinished(self) -> list[tuple[str, str]]:
        """Deliveries that have no protocol yet, oldest first: (LieferungsId, sender)."""
        with self.sessions() as session:
            return list(
                session.execute(
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
                ).tuples()
            )

    def recover(self) -> None:
        """Register what an interrupted run left in the spool (the worker does the rest).

        Each arrival on its own: one that cannot be registered now stays for the next pass.
        """
        for arrival in intake.pending_arrivals(self.settings):
            if not self._due(arrival.delivery_id):
                continue
            try:
                self._register(arrival, wait=False)  # the receiver may be registering it now
            except Exception as exc:
                self._postpone(arrival.delivery_id, "could not register an arrival now", exc)
                continue
            self._retry.pop(arrival.delivery_id, None)

    def _due(self, delivery_id: str) -> bool:
        return self._retry.get(delivery_id, (0, 0.0, True))[1] <= time.monotonic()

    def _postpone(
        self, delivery_id: str, event: str, exc: BaseException, *, blocks: bool = True
    ) -> None:
        """Try a delivery again later, waiting twice as long after every failure; ``blocks``:
        the sender's later deliveries wait for it (it is not yet checked)."""
        failures = self._retry.get(delivery_id, (0, 0.0, True))[0] + 1
        delay = min(RETRY_SECONDS[0] * 2 ** (failures - 1), RETRY_SECONDS[1])
        quiet = isinstance(exc, intake.NotYetComplete)
        if quiet:  # a file still being written: looked at again as often as the inbox
            failures, delay = 0, max(RETRY_SECONDS[0], self.settings.intake.settle_seconds)
        self._retry[delivery_id] = (failures, time.monotonic() + delay, blocks)
        (log.info if quiet else log.error)(
            event,
            delivery_id=delivery_id,
            reason=reason_of(exc),
            failures=failures,
            retry_seconds=delay,
            exc_info=failures == 1,
        )

    def work(
        self,
        stop: threading.Event,
        wake: threading.Event | None = None,
        idle_seconds: float = 1.0,
    ) -> None:
        """A worker: process unfinished deliveries from the ledger until ``stop`` is set.

        The deliveries of one sender are processed in the order they arrived, whatever the
        number of workers: a later file may rest on an earlier one (a Storno, an Abmeldung), so a
        worker skips a sender while another worker holds that sender's oldest open delivery.
        Different senders are processed in parallel, and in turns: a pass takes at most one
        delivery of each sender, so one sender's backlog does not hold up another's file.
        ``wake`` lets a receiver in the same process cut the idle wait short.
        """
        wake = wake or threading.Event()
        while not stop.is_set():
            done = 0
            try:
                self.recover()
                busy: set[str] = set()  # senders whose oldest open delivery another worker has
                for delivery_id, sender in self.unfinished():
                    if stop.is_set():
                        break
                    if sender in busy:
                        continue
                    if not self._due(delivery_id):
                        if self._retry[delivery_id][2]:
                            busy.add(sender)  # not yet checked: its later files wait, in order
                        continue
                    try:
                        processed = self.process(delivery_id)
                    except Exception as exc:  # this delivery only: the others go on
                        checked = isinstance(exc, AnswerFailed)
                        self._postpone(
                            delivery_id, "could not process a delivery now", exc, blocks=not checked
                        )
                        if not checked:
                            busy.add(sender)
                        continue
                    self._retry.pop(delivery_id, None)
                    if processed is not None:
                        done += 1
                    # One delivery per sender and pass: a sender's backlog never holds up
                    # another sender's file for longer than one delivery of each sender.
                    busy.add(sender)
            except Exception:  # the database went away, the disk is full: retry later
                log.exception("worker pass failed")
            if not done:
                wake.wait(idle_seconds)
                wake.clear()

    def process(self, delivery_id: str, wait_seconds: float = 0.0) -> Verdict | None:
        """Check, commit and answer one delivery; safe to call again after a crash.

        Returns ``None`` when another worker holds the delivery right now.
        """
        structlog.contextvars.bind_contextvars(delivery_id=delivery_id)
        try:
            with self.sessions() as session:
                pk = self._delivery(session, delivery_id).id
            with claimed(self.claims, pk, wait_seconds) as got:
                if not got:
                    return None
                try:
                    return self._process_claimed(delivery_id)
                except AnswerFailed as failed:
                    # Checked and recorded; only the protocol is missing: the reason goes into
                    # the ledger, the worker tries again later (the sender's next files need
                    # not wait for it).
                    self._note_error(delivery_id, UNANSWERED + reason_of(failed.cause))
                    raise
        finally:
            structlog.contextvars.unbind_contextvars("delivery_id")

    def _process_claimed(self, delivery_id: str) -> Verdict:
        with self.sessions.begin() as session:
            delivery = self._delivery(session, delivery_id)
            state = delivery.state
            if state == DeliveryState.RECEIVED.value:
                delivery.state = DeliveryState.CHECKING.value
        if state in (DeliveryState.RECEIVED.value, DeliveryState.CHECKING.value):
            try:
                self._check_and_commit(delivery_id)
            except Exception as exc:
                if is_transient(exc):
                    raise  # database or disk unavailable: the state stays, a later pass retries
                log.exception("internal error while checking")
                self._fail(delivery_id, reason_of(exc))
            clear_progress(self.settings, delivery_id)
        checkpoint = Checkpoint(self._engine())  # beside the protocol, not before it
        try:
            verdict = self.verdict(delivery_id)
            try:
                answered = self._answer(delivery_id, verdict)
            except Exception as exc:
                if is_transient(exc):
                    raise
                raise AnswerFailed(exc) from exc
        finally:
            checkpoint.wait()
        if not answered:
            return verdict  # another worker finished it before this one got the claim
        log.info(
            "delivery answered",
            result=verdict.result,
            total=verdict.total,
            accepted=verdict.accepted,
            rejected=verdict.rejected,
        )
        return verdict

    @staticmethod
    def _delivery(session: Session, delivery_id: str) -> Delivery:
        delivery = session.scalar(select(Delivery).where(Delivery.delivery_id == delivery_id))
        if delivery is None:
            raise LookupError(delivery_id)
        return delivery

    def _check_and_commit(self, delivery_id: str) -> None:
        for attempt in range(2):
            try:
                self._run_check(delivery_id)
                return
            except IntegrityError:
                # A concurrent delivery claimed the same hash or file number first; the
                # second attempt sees it and answers `doppelt` or ZVVO060.
                if attempt:
                    raise
                log.warning("unique constraint hit, checking again")

    def _run_check(self, delivery_id: str) -> None:
        with self.sessions() as session:
            delivery = self._delivery(session, delivery_id)
            # Only real deliveries are originals; a test delivery of such a file is told what
            # a real one would be told.
            first = session.scalar(
                select(Delivery.delivery_id).where(
                    Delivery.sender_number == delivery.sender_number,
                    Delivery.original_sha256 == delivery.sha256,
                )
            )
            if first is not None:
                finding = duplicate_file(self.catalogue, first)
                self._finish(session, delivery, "doppelt", [finding], duplicate_of=first)
                session.commit()
                return
            cost = self.settings.db.random_page_cost
            if cost is not None and session.get_bind().dialect.name == "postgresql":
                session.execute(text(f"SET LOCAL random_page_cost = {float(cost)}"))
            hooks = StoredChecks(
                session=session,
                catalogue=self.catalogue,
                sender=find_sender(session, delivery.sender_number),
                sender_number=delivery.sender_number,
                delivery_pk=delivery.id,
            )
            outcome = FileCheck(
                path=self.settings.home / delivery.archive_path,
                size=delivery.size,
                sender_number=delivery.sender_number,
                test=delivery.test,
                received_at=_aware(delivery.received_at),
                settings=self.settings,
                catalogue=self.catalogue,
                booking_keys=load_booking_keys(),
                hooks=hooks,
                progress=ProgressWriter(
                    self.settings, delivery_id, delivery.size, self.on_progress
                ),
            ).run()
            file_rejected = any(f.rejects and f.file_level for f in outcome.findings)
            if file_rejected or outcome.test:
                # Nothing of this file may stay: drop every report applied during the pass.
                session.rollback()
                delivery = self._delivery(session, delivery_id)
            header = outcome.header
            delivery.test = outcome.test
            delivery.progress = outcome.total
            if header is not None:
                delivery.file_number = header.file_number
                delivery.file_kind = header.file_kind
                delivery.period = header.period
                if not file_rejected and not outcome.test:
                    delivery.file_number_used = header.file_number
            self._finish(
                session,
                delivery,
                grade(outcome.total, outcome.accepted, outcome.findings),
                outcome.findings,
                total=outcome.total,
                accepted=0 if file_rejected else outcome.accepted,
            )
            commit_without_checkpoint(session)

    def _finish(
        self,
        session: Session,
        delivery: Delivery,
        result: str,
        findings: list[Finding],
        *,
        total: int = 0,
        accepted: int = 0,
        duplicate_of: str | None = None,
    ) -> None:
        """Record the result and findings in the same transaction as the reports."""
        committed = result not in ("abgewiesen", "doppelt") and not delivery.test
        delivery.state = (
            DeliveryState.COMMITTED.value if committed else DeliveryState.REJECTED.value
        )
        delivery.result = result
        delivery.total, delivery.accepted, delivery.rejected = total, accepted, total - accepted
        delivery.duplicate_of = duplicate_of
        delivery.processed_at = datetime.now(UTC)
        delivery.ruleset = self.ruleset
        if not delivery.test and result != "doppelt":
            delivery.original_sha256 = delivery.sha256
        session.flush()
        if findings:
            # one executemany: ORM objects cost about 40 µs each, and a file with 1 % faulty
            # reports of a million brings ten thousand findings
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

    def _fail(self, delivery_id: str, reason: str) -> None:
        """Internal error: nothing committed, the file stays archived for a re-run (ZVSY999)."""
        with self.sessions.begin() as session:
            delivery = self._delivery(session, delivery_id)
            finding = internal_error(self.catalogue)
            self._finish(session, delivery, "abgewiesen", [finding])
            delivery.state = DeliveryState.FAILED.value
            delivery.original_sha256 = None
            delivery.error = reason

    def _note_error(self, delivery_id: str, reason: str) -> None:
        with self.sessions.begin() as session:
            self._delivery(session, delivery_id).error = reason

    def reset_for_rerun(self, delivery_id: str) -> None:
        """Make a failed or rejected delivery new again (see :func:`ingest.rerun.reset`)."""
        reset(self, delivery_id)

    @property
    def ruleset(self) -> str:
        return f"Meldedatei 1, Regelwerk {self.catalogue.version}"

    # -- answering ------------------------------------------------------------------------
    def verdict(self, delivery_id: str) -> Verdict:
        """The protocol's content, rebuilt from the ledger (the same after a restart).

        Findings and assigned numbers are not loaded here: they are read from the ledger in
        chunks whenever they are iterated, so that writing the protocol of a file of a million
        Anmeldungen needs no more memory than that of ten.
        """
        with self.sessions() as session:
            d = self._delivery(session, delivery_id)
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
                received_at=_aware(d.received_at),
                processed_at=_aware(d.processed_at or datetime.now(UTC)),
                test=d.test,
                ruleset=d.ruleset or self.ruleset,
                result=d.result or "abgewiesen",
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

    def _answer(self, delivery_id: str, verdict: Verdict) -> bool:
        """Write the protocol unless it is written; ``True`` when this call wrote it.

        The caller holds the delivery's claim, so no other worker answers it meanwhile; the
        files are written outside a transaction because writing them reads the ledger.
        """
        with self.sessions() as session:
            delivery = self._delivery(session, delivery_id)
            if delivery.state in FINAL_STATES and delivery.protocol_path:
                return False
        path = write_protocol(self.settings.outbox, verdict)
        with self.sessions.begin() as session:
            delivery = self._delivery(session, delivery_id)
            delivery.protocol_path = str(path.relative_to(self.settings.home))
            if delivery.error and delivery.error.startswith(UNANSWERED):
                delivery.error = None  # written now
            if delivery.state != DeliveryState.FAILED.value:
                delivery.state = DeliveryState.ANSWERED.value
            return True

    def count_committed(self) -> int:
        with self.sessions() as session:
            return session.scalar(select(func.count(Report.id))) or 0


class AnswerFailed(ZvkError):
    """Writing the protocol failed after the delivery's result was recorded."""

    def __init__(self, cause: Exception) -> None:
        super().__init__(reason_of(cause))
        self.cause = cause


def _aware(moment: datetime) -> datetime:
    """SQLite returns naive datetimes; everything stored is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
