"""``zvk serve``: the long-running service.

The drop-folder watcher and the SFTP server only register deliveries in the ledger; a worker
thread processes them (more workers can run as separate `zvk worker` processes on PostgreSQL).
"""

from __future__ import annotations

import resource
import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import TypeVar

import structlog

from ingest.errors import ConfigurationError, ZvkError
from ingest.pipeline import Service
from ingest.receiving.dropfolder import Drop, DropFolderWatcher
from ingest.receiving.quarantine import refuse_entry
from ingest.reconciling.scheduler import start_scheduler
from ingest.settings import Settings
from ingest.storing.registry import sender_deactivated
from ingest.validating.submission import Channel

log = structlog.stdlib.get_logger("ingest.service")
T = TypeVar("T")
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
    """Run until SIGTERM or SIGINT (or ``stop``).

    Every component starts before the service counts as serving: one that cannot start (the
    SFTP port taken, …) stops what had started and raises :class:`ComponentFailed`.
    """
    stop = stop or threading.Event()
    raise_descriptor_limit()
    wake = threading.Event()
    service = Service.open(settings)
    install_signal_handlers(stop, wake)

    def handle(drop: Drop) -> None:
        with service.sessions() as session:
            if sender_deactivated(session, drop.sender_number):
                # Received all the same: its protocol refuses it with ZVVO021 (not admitted).
                log.warning("drop of a deactivated sender refused", sender=drop.sender_number)
        # A failure to claim is raised to the watcher, which refuses that entry alone; once
        # claimed, the file is registered now or by the worker's recovery pass.
        service.receive(
            drop.path, sender_number=drop.sender_number, test=drop.test, channel=Channel.DROPFOLDER
        )
        wake.set()

    worker = threading.Thread(target=service.work, args=(stop, wake), name="worker")

    def refuse(drop: Drop, exc: BaseException) -> None:
        # Quarantined and entered in the ledger (the worker answers it); a transient failure
        # of the ledger leaves the entry in the inbox for the next rescan.
        refuse_entry(settings, service, drop.path, drop.sender_number, drop.test, exc)
        wake.set()

    watcher = DropFolderWatcher(settings, handle, refuse)
    stops: list[Callable[[], None]] = []
    try:
        if settings.sftp.enabled:
            # Imported here, after the signal handlers: paramiko and its crypto take a while.
            from ingest.receiving.sftp import SftpServer

            sftp = start_component("the SFTP server", lambda: SftpServer(settings, service, wake))
            start_component("the SFTP server", sftp.start)
            stops.append(sftp.stop)
        if settings.portal.enabled:
            from ingest.portal.server import PortalThread  # FastAPI and uvicorn: only when used

            portal = start_component("the portal", lambda: PortalThread(settings))
            start_component("the portal", portal.start)
            stops.append(portal.stop)
        start_component("the drop-folder watcher", watcher.start)
        stops.append(watcher.stop)
        worker.start()
        stops.append(worker.join)
        scheduler = start_component(
            "the scheduler", lambda: start_scheduler(settings, service.sessions)
        )
    except BaseException:
        stop.set()
        wake.set()
        for stop_one in stops:  # the order of the start: SFTP, portal, watcher, worker
            stop_one()
        raise
    log.info("serving", inbox=str(settings.inbox))
    try:
        watcher.run(stop)
    finally:
        scheduler.shutdown()  # lets a running nightly job finish
        stop.set()
        wake.set()
        for stop_one in stops:  # the order of the start: SFTP, portal, watcher, worker
            stop_one()
        log.info("stopped")


class ComponentFailed(ConfigurationError):
    """A part of `zvk serve` could not start; the service stops (exit status 2)."""


def start_component(name: str, start: Callable[[], T]) -> T:
    """Run one step of the start-up; a failure becomes :class:`ComponentFailed` with a
    one-line reason (the port taken, a missing host key, no inotify watch left …)."""
    try:
        return start()
    except ZvkError as exc:
        log.error("cannot start", component=name, error=str(exc))
        raise ComponentFailed(f"{name} cannot start: {exc}") from None
    except Exception as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        if isinstance(exc, OSError):
            log.error("cannot start", component=name, error=reason)
        else:
            log.exception("cannot start", component=name)
        raise ComponentFailed(f"{name} cannot start: {reason or type(exc).__name__}") from None


def run_worker(settings: Settings, stop: threading.Event | None = None) -> None:
    """``zvk worker``: process deliveries from the ledger, nothing else."""
    stop = stop or threading.Event()
    wake = threading.Event()
    service = Service.open(settings)
    install_signal_handlers(stop, wake)
    log.info("worker started")
    service.work(stop, wake)
    log.info("worker stopped")
