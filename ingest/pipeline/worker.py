"""The worker: claims a delivery of the ledger, checks it, commits it and answers it.

A worker takes unfinished deliveries from the ledger in turn (:meth:`Worker.work`), holds a
claim on one while it works on it (:mod:`ingest.storing.claims`), checks the archived file
against the rules and the stored state, records the result in the transaction that stores the
accepted reports, and writes the protocol from the ledger. Every step leaves a durable state,
so a worker that dies is followed by the next one where it stopped.

A delivery is checked and applied in one transaction, which also records its result in the
ledger. Its reports are decided by reading and applied as they are accepted; a test delivery and
a file whose Vorlauf is refused before the first report are decided only and write no report row.
A file found wrong only at its end (the Nachlauf's counts or sums, XML broken after the reports)
is the one case that applied reports and rolls them back with its transaction.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import structlog
from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError

from ingest.answering.outbox import write_protocol
from ingest.answering.protocol import Verdict
from ingest.errors import ZvkError
from ingest.pipeline.intake import Intake
from ingest.pipeline.ledger import IN_PROGRESS, UNANSWERED, Ledger, aware
from ingest.pipeline.results import Result, grade
from ingest.pipeline.retries import Retries
from ingest.progress import Listener, ProgressWriter, clear_progress
from ingest.receiving.quarantine import is_transient, reason_of
from ingest.settings import Settings
from ingest.storing.backend import Backend
from ingest.storing.claims import Claims, claimed
from ingest.storing.models import Delivery
from ingest.storing.registry import find_sender
from ingest.storing.state import StoredChecks
from ingest.validating.booking_keys import load_booking_keys
from ingest.validating.checker import FileCheck
from ingest.validating.findings import Catalogue
from ingest.validating.rules_delivery import duplicate_file
from ingest.validating.submission import Channel

log = structlog.stdlib.get_logger("ingest.pipeline")


@dataclass
class Worker:
    """Processes the deliveries of one installation's ledger."""

    settings: Settings
    ledger: Ledger
    intake: Intake  # its recovery pass runs before each pass over the ledger
    retries: Retries
    claims: Claims
    engine: Engine
    backend: Backend
    on_progress: Listener | None = None  # the foreground's progress bar, if any

    @property
    def catalogue(self) -> Catalogue:
        return self.ledger.catalogue

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
                self.intake.recover()
                busy: set[str] = set()  # senders whose oldest open delivery another worker has
                for delivery_id, sender in self.ledger.unfinished():
                    if stop.is_set():
                        break
                    if sender in busy:
                        continue
                    if not self.retries.due(delivery_id):
                        if self.retries.blocks(delivery_id):
                            busy.add(sender)  # not yet checked: its later files wait, in order
                        continue
                    try:
                        processed = self.process(delivery_id)
                    except Exception as exc:  # this delivery only: the others go on
                        checked = isinstance(exc, AnswerFailed)
                        self.retries.postpone(
                            delivery_id, "could not process a delivery now", exc, blocks=not checked
                        )
                        if not checked:
                            busy.add(sender)
                        continue
                    self.retries.forget(delivery_id)
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
            pk = self.ledger.key(delivery_id)
            with claimed(self.claims, pk, wait_seconds) as got:
                if not got:
                    return None
                try:
                    return self._process_claimed(delivery_id)
                except AnswerFailed as failed:
                    # Checked and recorded; only the protocol is missing: the reason goes into
                    # the ledger, the worker tries again later (the sender's next files need
                    # not wait for it).
                    self.ledger.note_error(delivery_id, UNANSWERED + reason_of(failed.cause))
                    raise
        finally:
            structlog.contextvars.unbind_contextvars("delivery_id")

    def _process_claimed(self, delivery_id: str) -> Verdict:
        state = self.ledger.start_check(delivery_id)
        if state in IN_PROGRESS:
            try:
                self._check_and_commit(delivery_id)
            except Exception as exc:
                if is_transient(exc):
                    raise  # database or disk unavailable: the state stays, a later pass retries
                log.exception("internal error while checking")
                self.ledger.fail(delivery_id, reason_of(exc))
            clear_progress(self.settings, delivery_id)
        checkpoint = self.backend.checkpoint(self.engine)  # beside the protocol, not before it
        try:
            verdict = self.ledger.verdict(delivery_id)
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
        with self.ledger.sessions() as session:
            delivery = self.ledger.delivery(session, delivery_id)
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
                self.ledger.finish(session, delivery, Result.DOPPELT, [finding], duplicate_of=first)
                session.commit()
                return
            self.backend.tune_worker(session, self.settings.db.random_page_cost)
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
                received_at=aware(delivery.received_at),
                channel=Channel(delivery.channel),
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
                # Nothing of this file may stay. A test delivery and a file refused by its
                # Vorlauf applied nothing; a file found wrong only at its end (the Nachlauf,
                # XML broken after the reports) applied its reports: they are rolled back.
                session.rollback()
                delivery = self.ledger.delivery(session, delivery_id)
            header = outcome.header
            delivery.test = outcome.test
            delivery.progress = outcome.total
            if header is not None:
                delivery.file_number = header.file_number
                delivery.file_kind = header.file_kind
                delivery.period = header.period
                if not file_rejected and not outcome.test:
                    delivery.file_number_used = header.file_number
            self.ledger.finish(
                session,
                delivery,
                grade(outcome.total, outcome.accepted, outcome.findings),
                outcome.findings,
                total=outcome.total,
                accepted=0 if file_rejected else outcome.accepted,
            )
            self.backend.commit_without_checkpoint(session)

    def _answer(self, delivery_id: str, verdict: Verdict) -> bool:
        """Write the protocol unless it is written; ``True`` when this call wrote it.

        The caller holds the delivery's claim, so no other worker answers it meanwhile; the
        files are written outside a transaction because writing them reads the ledger.
        """
        if self.ledger.answered(delivery_id):
            return False
        path = write_protocol(self.settings.outbox, verdict)
        self.ledger.record_answer(delivery_id, str(path.relative_to(self.settings.home)))
        return True


class AnswerFailed(ZvkError):
    """Writing the protocol failed after the delivery's result was recorded."""

    def __init__(self, cause: Exception) -> None:
        super().__init__(reason_of(cause))
        self.cause = cause
