"""``zvk serve``: the long-running service.

The drop-folder watcher and the SFTP server only register deliveries in the ledger; a worker
thread processes them (more workers can run as separate `zvk worker` processes on PostgreSQL).
"""

from __future__ import annotations

import signal
import threading
from types import FrameType

import structlog

from ingest.pipeline import Service
from ingest.receiving.dropfolder import Drop, DropFolderWatcher
from ingest.receiving.quarantine import refuse_entry
from ingest.reconciling.scheduler import start_scheduler
from ingest.settings import Settings

log = structlog.stdlib.get_logger("ingest.service")


def install_signal_handlers(stop: threading.Event, wake: threading.Event | None = None) -> None:
    """SIGTERM and SIGINT ask for a clean stop (the delivery at hand is finished first)."""

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("stopping", signal=signal.Signals(signum).name)
        stop.set()
        if wake is not None:
            wake.set()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)


def serve(settings: Settings, stop: threading.Event | None = None) -> None:
    """Run until SIGTERM or SIGINT (or ``stop``)."""
    stop = stop or threading.Event()
    wake = threading.Event()
    service = Service.open(settings)
    install_signal_handlers(stop, wake)

    def handle(drop: Drop) -> None:
        # A failure to claim is raised to the watcher, which refuses that entry alone; once
        # claimed, the file is registered now or by the worker's recovery pass.
        service.receive(drop.path, sender_number=drop.sender_number, test=drop.test, channel="drop")
        wake.set()

    worker = threading.Thread(target=service.work, args=(stop, wake), name="worker")
    sftp = None
    if settings.sftp.enabled:
        # Imported here, after the signal handlers: paramiko and its crypto take a while to load.
        from ingest.receiving.sftp import SftpServer

        sftp = SftpServer(settings, service, wake)

    def refuse(drop: Drop, exc: BaseException) -> None:
        # Quarantined and entered in the ledger (the worker answers it); a transient failure
        # of the ledger leaves the entry in the inbox for the next rescan.
        refuse_entry(settings, service, drop.path, drop.sender_number, drop.test, exc)
        wake.set()

    watcher = DropFolderWatcher(settings, handle, refuse)
    watcher.start()
    worker.start()
    if sftp is not None:
        sftp.start()
    log.info("serving", inbox=str(settings.inbox))
    scheduler = start_scheduler(settings, service.sessions)  # nightly reconciliation, payments
    try:
        watcher.run(stop)
    finally:
        scheduler.shutdown()  # lets a running nightly job finish
        stop.set()
        wake.set()
        if sftp is not None:
            sftp.stop()
        watcher.stop()
        worker.join()
        log.info("stopped")


def run_worker(settings: Settings, stop: threading.Event | None = None) -> None:
    """``zvk worker``: process deliveries from the ledger, nothing else."""
    stop = stop or threading.Event()
    wake = threading.Event()
    service = Service.open(settings)
    install_signal_handlers(stop, wake)
    log.info("worker started")
    service.work(stop, wake)
    log.info("worker stopped")
