"""The progress bar of `zvk ingest` on a terminal: share of the file, reports/s, time left."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from ingest.progress import Listener


@dataclass
class IngestBar:
    """One bar per file; ``listener`` is handed to the pipeline, which calls it every batch."""

    progress: Progress | None
    _task: TaskID | None = None

    def listener(self, name: str) -> Listener | None:
        if self.progress is None:
            return None
        progress = self.progress
        self._task = progress.add_task(name, total=None, reports=0, rate="")

        def update(_delivery_id: str, reports: int, bytes_read: int, size: int) -> None:
            assert self._task is not None
            task = progress.tasks[self._task]
            elapsed = task.elapsed or 0.0
            rate = f"{reports / elapsed:,.0f} Meldungen/s" if elapsed > 0 else ""
            progress.update(
                self._task, total=size, completed=bytes_read, reports=reports, rate=rate
            )

        return update

    def done(self) -> None:
        if self.progress is not None and self._task is not None:
            task = self.progress.tasks[self._task]
            self.progress.update(self._task, completed=task.total or 0)
            self.progress.stop_task(self._task)
            self._task = None


def make_progress(console: Console | None = None) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[reports]:,} Meldungen"),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TextColumn("Rest"),
        TimeRemainingColumn(),
        console=console or Console(stderr=True),
        transient=False,
    )


@contextmanager
def progress_bar(*, enabled: bool, console: Console | None = None) -> Iterator[IngestBar]:
    """A bar on standard error when ``enabled`` (a terminal), else nothing at all."""
    if not enabled:
        yield IngestBar(None)
        return
    with make_progress(console) as progress:
        yield IngestBar(progress)
