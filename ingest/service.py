"""``zvk serve``: the long-running service (drop-folder watcher; SFTP and scheduler to come)."""

from __future__ import annotations

import signal
import threading
from types import FrameType

import structlog

from ingest.pipeline import Service
from ingest.receiving.dropfolder import Drop, DropFolderWatcher
from ingest.receiving.intake import NotARegularFile
from ingest.settings import Settings

log = structlog.stdlib.get_logger("ingest.service")


def serve(settings: Settings, stop: threading.Event | None = None) -> None:
    """Run until SIGTERM or SIGINT (or ``stop``); finish the delivery at hand, then leave."""
    stop = stop or threading.Event()
    service = Service.open(settings)

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("stopping", signal=signal.Signals(signum).name)
        stop.set()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)

    recovered = service.recover()
    if recovered:
        log.info("finished interrupted deliveries", count=len(recovered))

    def handle(drop: Drop) -> None:
        try:
            delivery_id = service.receive(
                drop.path, sender_number=drop.sender_number, test=drop.test, channel="drop"
            )
        except NotARegularFile:
            return
        if delivery_id is not None:
            service.process(delivery_id)

    watcher = DropFolderWatcher(settings, handle)
    watcher.start()
    log.info("serving", inbox=str(settings.inbox))
    try:
        watcher.run(stop)
    finally:
        watcher.stop()
        log.info("stopped")
