"""The drop-folder watcher: every complete file in ``inbox/<Betriebsnummer>/`` exactly once.

Events (inotify close-after-write, moved-into) are hints that make pick-up fast. The source of
truth is a periodic rescan of the inbox: a file that got no event counts as complete once its
size and modification time have stayed the same for ``intake.settle_seconds``. Claiming renames
the file out of the inbox, so a file is never taken twice, even by two watchers.
"""

from __future__ import annotations

import os
import queue
import stat
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog
from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.polling import PollingObserver

from ingest.receiving.intake import NotARegularFile, in_transfer
from ingest.receiving.names import escaped_name
from ingest.receiving.quarantine import Refused, is_transient, reason_of
from ingest.settings import Settings
from ingest.validating.identifiers import sender_number_shaped

log = structlog.stdlib.get_logger("ingest.dropfolder")
TEST_FOLDER = "test"
NOT_REGULAR = "kein gewöhnlicher Dateiinhalt (symbolischer Link, Ordner, FIFO oder Gerät)"


@dataclass(frozen=True, slots=True)
class Drop:
    """A file in an inbox, with the sender and test flag its folder stands for."""

    path: Path
    sender_number: str
    test: bool


def classify(inbox: Path, path: Path, ignore_suffixes: list[str]) -> Drop | None:
    """Which sender a path in the inbox belongs to; ``None`` for anything to leave alone."""
    try:
        parts = path.relative_to(inbox).parts
    except ValueError:
        return None
    if len(parts) == 2:
        sender, name = parts
        test = False
    elif len(parts) == 3 and parts[1] == TEST_FOLDER:
        sender, _, name = parts
        test = True
    else:
        return None
    if not sender_number_shaped(sender) or in_transfer(name, ignore_suffixes):
        return None
    return Drop(path=path, sender_number=sender, test=test)


class _Events(FileSystemEventHandler):
    def __init__(self, hint: Callable[[Path], None]) -> None:
        self._hint = hint

    def on_closed(self, event: FileSystemEvent) -> None:
        if not event.is_directory:
            self._hint(Path(os.fsdecode(event.src_path)))

    def on_moved(self, event: FileSystemEvent) -> None:
        if not event.is_directory:
            self._hint(Path(os.fsdecode(event.dest_path)))


class DropFolderWatcher:
    """Feeds complete inbox files to ``handle`` (one at a time, in the caller's thread)."""

    def __init__(
        self,
        settings: Settings,
        handle: Callable[[Drop], None],
        refuse: Callable[[Drop, BaseException], None],
    ) -> None:
        self.settings = settings
        self.inbox = settings.inbox
        self.handle = handle
        self.refuse = refuse  # quarantines the entry and enters it in the ledger
        self._hints: queue.Queue[Path] = queue.Queue()
        self._seen: dict[Path, tuple[int, int, float]] = {}
        self._failing: dict[Path, tuple[int, int]] = {}  # entries whose failure was logged
        self._strays: set[Path] = set()  # entries outside a sender's folder, logged once
        self._observer: Any = None

    def start(self) -> None:
        self.inbox.mkdir(parents=True, exist_ok=True)
        observer = PollingObserver() if self.settings.intake.polling else Observer()
        observer.schedule(_Events(self._hints.put), str(self.inbox), recursive=True)
        observer.start()
        self._observer = observer

    def stop(self) -> None:
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(timeout=5)

    def run(self, stop: threading.Event, on_idle: Callable[[], None] | None = None) -> None:
        """Work until ``stop`` is set: events first, a full rescan every ``rescan_seconds``."""
        self.rescan()
        next_scan = time.monotonic() + self.settings.intake.rescan_seconds
        settle_check = min(1.0, self.settings.intake.settle_seconds)
        while not stop.is_set():
            try:
                path = self._hints.get(timeout=settle_check)
            except queue.Empty:
                path = None
            if path is not None:
                self._offer(path)
            now = time.monotonic()
            if now >= next_scan or self._seen:
                self.rescan(full=now >= next_scan)
                if now >= next_scan:
                    next_scan = now + self.settings.intake.rescan_seconds
            if on_idle is not None and path is None:
                on_idle()

    def _offer(self, path: Path) -> None:
        drop = classify(self.inbox, path, self.settings.intake.ignore_suffixes)
        if drop is None or not os.path.lexists(path):
            return
        self._seen.pop(path, None)
        self._take(drop)

    def _take(self, drop: Drop) -> None:
        """Hand a settled entry over; one that fails is refused alone, the others go on."""
        try:
            info = os.lstat(drop.path)
        except FileNotFoundError:
            return
        if not stat.S_ISREG(info.st_mode):
            self._refuse(drop, Refused("ZVDA006", NOT_REGULAR))
            return
        try:
            self.handle(drop)
        except Exception as exc:
            if isinstance(exc, NotARegularFile):
                self._refuse(drop, Refused("ZVDA006", NOT_REGULAR))
                return
            if not is_transient(exc):
                self._refuse(drop, exc)
                return
            signature = (info.st_size, info.st_mtime_ns)
            if self._failing.get(drop.path) != signature:  # once per entry, not every rescan
                self._failing[drop.path] = signature
                log.warning(
                    "could not take a file from the inbox now",
                    sender=drop.sender_number,
                    reason=reason_of(exc),
                )
        else:
            self._failing.pop(drop.path, None)

    def _refuse(self, drop: Drop, exc: BaseException) -> None:
        """Move the entry aside untouched (a symlink itself, never its target) and enter it in
        the ledger; one that cannot be (the ledger unavailable) is tried again, logged once."""
        try:
            self.refuse(drop, exc)
        except Exception as failure:
            signature = (-1, -1)
            if self._failing.get(drop.path) != signature:
                self._failing[drop.path] = signature
                log.error(
                    "could not refuse an inbox entry now",
                    sender=drop.sender_number,
                    reason=reason_of(failure),
                )
        else:
            self._failing.pop(drop.path, None)

    def rescan(self, *, full: bool = True) -> None:
        """Pick up files whose size and mtime stood still for ``settle_seconds``."""
        candidates = self._walk() if full else list(self._seen)
        now = time.monotonic()
        settle = self.settings.intake.settle_seconds
        for path in candidates:
            drop = classify(self.inbox, path, self.settings.intake.ignore_suffixes)
            if drop is None:
                continue
            try:
                info = os.lstat(path)
            except FileNotFoundError:
                self._seen.pop(path, None)
                continue
            signature = (info.st_size, info.st_mtime_ns)
            previous = self._seen.get(path)
            if previous is None or previous[:2] != signature:
                self._seen[path] = (*signature, now)
            elif now - previous[2] >= settle:
                self._seen.pop(path, None)
                self._take(drop)

    def _walk(self) -> list[Path]:
        found: list[Path] = []
        strays: list[Path] = []
        if not self.inbox.is_dir():
            return found
        for sender in self.inbox.iterdir():
            if not sender.is_dir() or sender.is_symlink() or not sender_number_shaped(sender.name):
                strays.append(sender)
                continue
            for entry in sender.iterdir():
                if entry.name == TEST_FOLDER and entry.is_dir() and not entry.is_symlink():
                    for inner in entry.iterdir():
                        if not inner.is_dir() or inner.is_symlink():
                            found.append(inner)
                        else:
                            strays.append(inner)
                elif not entry.is_dir() or entry.is_symlink():
                    found.append(entry)
                else:
                    strays.append(entry)
        self._note_strays(strays)
        return found

    def _note_strays(self, strays: list[Path]) -> None:
        """Entries that stand for no sender are left alone, and said so once each."""
        current = set(strays)
        for path in sorted(current - self._strays):
            if path.name.startswith("."):
                continue
            log.warning(
                "inbox entry ignored: not a file in a sender's folder",
                entry=escaped_name(str(path.relative_to(self.inbox))),
            )
        self._strays = current
