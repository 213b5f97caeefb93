"""How far the check of a delivery has come, for operators watching a large file.

The check of a delivery and its commit are one database transaction, and on SQLite that
transaction holds the database's only write lock from start to end: no other connection can
record anything in the ledger meanwhile, and writing progress inside the transaction would show
nothing to anybody until the commit. So a running check reports its progress in a small side
file, ``spool/progress/<LieferungsId>``, replaced atomically at most once a second; it never
touches the transaction, so it cannot break the all-or-nothing commit. The ledger itself gets the
final count (``deliveries.progress``) in the delivery's own transaction, and the side file is
removed once the delivery has left the state ``checking``. ``zvk deliveries show`` reads it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from ingest.settings import Settings

WRITE_EVERY_SECONDS = 1.0

# A listener for the foreground (the progress bar of `zvk ingest`): LieferungsId, reports read,
# bytes read, file size.
Listener = Callable[[str, int, int, int], None]


@dataclass(frozen=True, slots=True)
class Progress:
    """What the side file says."""

    reports: int
    bytes_read: int
    size: int
    updated: datetime

    @property
    def share(self) -> float:
        return min(self.bytes_read / self.size, 1.0) if self.size else 0.0


def progress_path(settings: Settings, delivery_id: str) -> Path:
    return settings.spool / "progress" / delivery_id


def read_progress(settings: Settings, delivery_id: str) -> Progress | None:
    """The progress of a running check, or ``None`` when there is none (or it is unreadable)."""
    path = progress_path(settings, delivery_id)
    try:
        reports, bytes_read, size, stamp = path.read_text(encoding="ascii").split()
        return Progress(int(reports), int(bytes_read), int(size), datetime.fromisoformat(stamp))
    except (OSError, ValueError):
        return None


def clear_progress(settings: Settings, delivery_id: str) -> None:
    progress_path(settings, delivery_id).unlink(missing_ok=True)


class ProgressWriter:
    """Called by the check every batch; writes the side file at most once a second."""

    def __init__(
        self,
        settings: Settings,
        delivery_id: str,
        size: int,
        listener: Listener | None = None,
    ) -> None:
        self.path = progress_path(settings, delivery_id)
        self.delivery_id = delivery_id
        self.size = size
        self.listener = listener
        self._last = 0.0

    def __call__(self, reports: int, bytes_read: int) -> None:
        if self.listener is not None:
            self.listener(self.delivery_id, reports, bytes_read, self.size)
        now = time.monotonic()
        if now - self._last < WRITE_EVERY_SECONDS:
            return
        self._last = now
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_name(f".{self.path.name}.tmp")
        stamp = datetime.now(UTC).isoformat(timespec="seconds")
        temporary.write_text(f"{reports} {bytes_read} {self.size} {stamp}\n", encoding="ascii")
        os.replace(temporary, self.path)
