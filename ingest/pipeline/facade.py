"""``Service``: the pipeline's parts opened on one installation, behind one object.

The entry points (``zvk serve``, ``zvk worker``, ``zvk ingest``, the SFTP server) hold one
:class:`Service`; it makes the parts and passes each call on to the part that does it. It
decides nothing itself: receiving is :class:`~ingest.pipeline.intake.Intake`, processing
:class:`~ingest.pipeline.worker.Worker`, every state and view of a delivery
:class:`~ingest.pipeline.ledger.Ledger`.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from ingest.answering.protocol import Verdict
from ingest.errors import TransientError, UsageError
from ingest.home import protect
from ingest.pipeline.intake import Intake
from ingest.pipeline.ledger import Ledger
from ingest.pipeline.retries import Retries
from ingest.pipeline.worker import Worker
from ingest.progress import Listener
from ingest.settings import Settings
from ingest.storing.backend import backend_of
from ingest.storing.db import make_engine, open_database, session_factory
from ingest.storing.refusals import RefusedUpload
from ingest.validating.checker import prepare_reading, read_elsewhere
from ingest.validating.findings import Catalogue, load_catalogue
from ingest.validating.submission import Channel

INGEST_WAIT_SECONDS = 600.0  # `zvk ingest` waits this long for a worker busy with the delivery


@dataclass
class Service:
    """The pipeline bound to one installation: intake, worker and ledger."""

    settings: Settings
    ledger: Ledger
    intake: Intake
    worker: Worker

    @classmethod
    def open(cls, settings: Settings) -> Service:
        protect(settings)  # home 0700, database files 0600, umask 077
        engine = open_database(settings, writer=True)
        backend = backend_of(engine)
        readers = session_factory(make_engine(settings)) if backend.readers_apart else None
        ledger = Ledger(settings, session_factory(engine), load_catalogue(), readers)
        retries = Retries(settle_seconds=settings.intake.settle_seconds)
        intake = Intake(settings, ledger, retries)
        worker = Worker(
            settings=settings,
            ledger=ledger,
            intake=intake,
            retries=retries,
            claims=backend.claims(engine, settings.home),
            engine=engine,
            backend=backend,
        )
        return cls(settings=settings, ledger=ledger, intake=intake, worker=worker)

    @property
    def sessions(self) -> sessionmaker[Session]:
        return self.ledger.sessions

    @property
    def catalogue(self) -> Catalogue:
        return self.ledger.catalogue

    @property
    def ruleset(self) -> str:
        return self.ledger.ruleset

    @property
    def on_progress(self) -> Listener | None:
        """The foreground's progress bar, if any."""
        return self.worker.on_progress

    @on_progress.setter
    def on_progress(self, listener: Listener | None) -> None:
        self.worker.on_progress = listener

    # -- receiving (Intake) -------------------------------------------------------------------
    def receive(
        self,
        source: Path,
        *,
        sender_number: str,
        test: bool,
        channel: Channel,
        keep_source: bool = False,
    ) -> str | None:
        """See :meth:`Intake.receive`."""
        return self.intake.receive(
            source, sender_number=sender_number, test=test, channel=channel, keep_source=keep_source
        )

    def enter_refusal(self, refused: RefusedUpload) -> None:
        self.ledger.enter_refusal(refused)

    def taken(self, delivery_id: str) -> bool:
        return self.ledger.taken(delivery_id)

    def recover(self) -> None:
        self.intake.recover()

    # -- processing (Worker) ------------------------------------------------------------------
    def work(
        self,
        stop: threading.Event,
        wake: threading.Event | None = None,
        idle_seconds: float = 1.0,
    ) -> None:
        """See :meth:`Worker.work`."""
        self.worker.work(stop, wake, idle_seconds)

    def process(self, delivery_id: str, wait_seconds: float = 0.0) -> Verdict | None:
        """See :meth:`Worker.process`."""
        return self.worker.process(delivery_id, wait_seconds)

    def ingest(
        self, source: Path, *, sender_number: str, test: bool, channel: Channel = Channel.CLI
    ) -> Verdict:
        """Receive and process a file in the foreground (waits while another worker is busy)."""
        if read_elsewhere(self.settings, source.stat().st_size):
            prepare_reading()  # meanwhile the file is copied and hashed
        delivery_id = self.intake.receive(
            source, sender_number=sender_number, test=test, channel=channel, keep_source=True
        )
        if delivery_id is None:  # a copy cannot be claimed by anybody else: refused
            raise UsageError(f"{source}: refused, see the quarantine and the sender's outbox")
        verdict = self.worker.process(delivery_id, wait_seconds=INGEST_WAIT_SECONDS)
        if verdict is None:
            raise TransientError(f"{delivery_id}: another worker holds the delivery")
        return verdict

    # -- the ledger ---------------------------------------------------------------------------
    def verdict(self, delivery_id: str) -> Verdict:
        return self.ledger.verdict(delivery_id)

    def reset_for_rerun(self, delivery_id: str) -> None:
        self.ledger.reset_for_rerun(delivery_id)

    def count_committed(self) -> int:
        return self.ledger.count_committed()
