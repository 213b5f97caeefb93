"""``zvk serve``: the long-running service.

The drop-folder watcher and the SFTP server only register deliveries in the ledger; a worker
thread processes them (more workers can run as separate `zvk worker` processes on PostgreSQL).
"""

from __future__ import annotations

import resource
import signal
import threading
from types import FrameType

import structlog

from ingest.pipeline import Service
from ingest.receiving.dropfolder import Drop, DropFolderWatcher
from ingest.receiving.intake import NotARegularFile
from ingest.reconciling.scheduler import start_scheduler
from ingest.settings import Settings

log = structlog.stdlib.get_logger("ingest.service")
_MOST_DESCRIPTORS = 1 << 20  # the kernel's usual ceiling (fs.nr_open)


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


def raise_descriptor_limit() -> int:
    """Raise the soft limit of open files to the hard limit (allowed without privileges);
    returns the soft limit in effect. Every upload, connection and database connection holds a
    descriptor, and the common soft limit of 1,024 is far below what the hard limit allows."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = min(hard, _MOST_DESCRIPTORS) if hard != resource.RLIM_INFINITY else _MOST_DESCRIPTORS
    if soft != resource.RLIM_INFINITY and soft < wanted:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
            soft = wanted
        except (ValueError, OSError) as exc:
            log.warning("descriptor limit not raised", soft=soft, hard=hard, error=str(exc))
    log.info("descriptor limit", soft=soft, hard=hard)
    return soft


def serve(settings: Settings, stop: threading.Event | None = None) -> None:
    """Run until SIGTERM or SIGINT (or ``stop``)."""
    stop = stop or threading.Event()
    raise_descriptor_limit()
    wake = threading.Event()
    service = Service.open(settings)
    install_signal_handlers(stop, wake)

    def handle(drop: Drop) -> None:
        try:
            service.receive(
                drop.path, sender_number=drop.sender_number, test=drop.test, channel="drop"
            )
        except NotARegularFile:
            return
        except Exception:
            # Claimed into the spool but not yet in the ledger: the worker registers it later.
            log.exception("could not register a delivery now", sender=drop.sender_number)
        wake.set()

    worker = threading.Thread(target=service.work, args=(stop, wake), name="worker")
    sftp = None
    if settings.sftp.enabled:
        # Imported here, after the signal handlers: paramiko and its crypto take a while to load.
        from ingest.receiving.sftp import SftpServer

        sftp = SftpServer(settings, service, wake)
    watcher = DropFolderWatcher(settings, handle)
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
