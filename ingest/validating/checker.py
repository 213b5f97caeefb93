"""One pass over a report file: the rules of the frame, the Vorlauf, each report and the
Nachlauf run where the pass reaches them (the rules: :mod:`ingest.validating.registry`).

The same code serves ``zvk check`` (no database: ``hooks`` is ``None``) and the pipeline, where
``hooks`` adds the rules on stored state and applies each accepted report as it goes (unless
the delivery is a test or its Vorlauf is refused: then its reports are decided only). The
reports are checked in the :class:`~ingest.validating.submission.Submission` that the Vorlauf
and the delivery (``received_at``, ``test``, ``channel``) describe, never in the file header.
"""

from __future__ import annotations

import multiprocessing.forkserver
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Protocol

from lxml import etree

from ingest.settings import Settings
from ingest.validating import extract
from ingest.validating.booking_keys import BookingKeys, load_booking_keys
from ingest.validating.findings import Catalogue, Finding, Findings, Kept, load_catalogue
from ingest.validating.frame_rules import check_header, check_trailer
from ingest.validating.reader import Item, Reader
from ingest.validating.reading import (
    Batch,
    Checked,
    End,
    Event,
    HeaderSeen,
    ReadFailed,
    TrailerSeen,
    decode,
    read_into,
    reading_context,
    relaxed_gc,
    widen,
)
from ingest.validating.records import Header, ReportData
from ingest.validating.report_rules import CheckContext, check_report
from ingest.validating.rules_frame import FrameProblem, frame_schema, sniff, within_size
from ingest.validating.rules_report import report_schema
from ingest.validating.rules_trailer import Totals, unreadable_sums
from ingest.validating.seen import SeenIds
from ingest.validating.submission import Channel, Submission

BATCH = 1000  # reports checked against stored state and written together
Progress = Callable[[int, int], None]  # reports read so far, bytes read so far


class StateHooks(Protocol):
    """The checks against stored state (implemented by ``ingest.storing.state``).

    Reports come in batches, in file order: ``prefetch`` sees a batch's schema-valid reports
    before ``report`` is called for each of them, so that the stored state they ask about can be
    loaded in a few queries; ``finish`` comes once after the last report.
    """

    def header(self, header: Header, *, apply: bool = True) -> list[Finding]:
        """Sender and file-number checks; called once, before the first report. ``apply``
        False: the reports are decided but none is applied (a test delivery, or a file that
        its Vorlauf already rejects)."""
        ...

    def prefetch(self, reports: Sequence[ReportData]) -> None:
        """A batch of reports is about to be checked, in this order."""
        ...

    def report(self, report: ReportData, earlier: list[Finding]) -> list[Finding]:
        """Stored-state findings of one report; applies it when nothing rejects it (and
        reports are applied)."""
        ...

    def finish(self) -> None:
        """Every report was checked: write what is still pending."""
        ...


@dataclass
class FileOutcome:
    header: Header | None = None
    total: int = 0
    accepted: int = 0
    test: bool = False
    findings: list[Finding] = field(default_factory=list)


@dataclass
class FileCheck:
    path: Path
    size: int
    sender_number: str | None
    test: bool
    received_at: datetime
    settings: Settings
    catalogue: Catalogue
    booking_keys: BookingKeys
    hooks: StateHooks | None = None
    progress: Progress | None = None
    channel: Channel = Channel.CLI  # how the file reached the fund
    _seen: SeenIds | None = None  # without a database: the MeldungsIds of accepted reports
    _check_context: CheckContext | None = None
    _kept: Kept | None = None  # where the findings go, bounded (made by run)
    _sum_pay: Decimal = Decimal(0)
    _sum_amount: Decimal = Decimal(0)
    _unreadable_sums: set[str] = field(default_factory=set)  # trailer sums not to compare

    @classmethod
    def without_database(
        cls, path: Path, settings: Settings, catalogue: Catalogue | None = None
    ) -> FileCheck:
        """The check of ``zvk check``: the file alone, as received now, from no known sender."""
        return cls(
            path=path,
            size=path.stat().st_size,
            sender_number=None,
            test=False,
            received_at=datetime.now(UTC),
            settings=settings,
            catalogue=catalogue if catalogue is not None else load_catalogue(),
            booking_keys=load_booking_keys(),
        )

    def run(self) -> FileOutcome:
        out = FileOutcome(test=self.test)
        problem = within_size(self.size, self.settings.intake.max_file_bytes) or sniff(self.path)
        if problem is not None:
            out.findings.extend(self._frame_findings(problem))
            return out
        split = self.hooks is not None and read_elsewhere(self.settings, self.size)
        checks = self.settings.checks
        self._kept = Kept(
            self.catalogue,
            checks.max_findings_per_report,
            checks.max_findings_per_file,
            out.findings,
        )
        try:
            with relaxed_gc():
                for event in self._reading_elsewhere() if split else self.read():
                    self._consume(event, out)
        finally:
            if self._seen is not None:
                self._seen.close()
                self._seen = None
        self._kept.close()
        if self.hooks is not None:
            self.hooks.finish()
        return out

    # -- the pass over the file: everything that needs only the file ------------------------
    def read(self, leave_checks: Callable[[], bool] | None = None) -> Iterator[Event]:
        """Read and check the file, yielding what the stored-state checks need, in file order.

        ``leave_checks`` is asked before each batch is handed on: when it says yes, the batch's
        stateless report checks are left to the receiver (see :meth:`_reading_elsewhere`).
        """
        with self.path.open("rb") as stream:
            reader = Reader(stream, shed=self._shed)
            batch: list[Checked] = []
            for item in reader.items():
                if item.kind == "header":
                    yield self._header(item)
                elif item.kind == "report":
                    batch.append(self._prepare(item))
                    if len(batch) >= BATCH:
                        yield self._batch(batch, reader.reports, stream.tell(), leave_checks)
                        batch = []
                else:
                    if batch:
                        yield self._batch(batch, reader.reports, stream.tell(), leave_checks)
                        batch = []
                    yield TrailerSeen(self._trailer(item, reader.reports))
            yield self._batch(batch, reader.reports, stream.tell(), leave_checks)
            frame = self._frame_findings(reader.problem) if reader.problem is not None else []
            yield End(reader.reports, frame)

    def _batch(
        self, batch: list[Checked], reports: int, position: int, leave: Callable[[], bool] | None
    ) -> Batch:
        """A batch to hand on; its stateless checks run here unless ``leave`` says otherwise."""
        if batch and (leave is None or not leave()):
            context = self._context()
            for checked in batch:
                if checked.report is not None:
                    checked.findings = check_report(checked.report, context)
        return Batch(batch, reports, position)

    def _reading_elsewhere(self) -> Iterator[Event]:
        """:meth:`read` in a second process, so that both cores work on a large file.

        The child sends its events through a pipe (at most a few batches ahead: the pipe's
        buffer holds it back); this process checks stored state and writes meanwhile. An
        error in the child ends the pass with an exception here, as it would in-process.

        The stateless report checks run in whichever process has room. Which process sets the
        pace depends on the file (annual reports cost more to read, monthly ones more to
        store) and on the machine. The child leaves a batch's checks to this process when the
        pipe holds less than one batch (this process is about to wait for it), and runs them
        itself otherwise. The findings are the same either way, in the same order.
        """
        context = reading_context()
        receiving, sending = context.Pipe(duplex=False)
        widen(receiving)
        reader = replace(self, hooks=None, progress=None, _seen=None, _kept=None)
        child = context.Process(target=read_into, args=(reader, sending), daemon=True)
        child.start()
        sending.close()
        try:
            while True:
                try:
                    event = decode(receiving.recv_bytes())
                except EOFError:
                    raise RuntimeError(f"reading process ended early ({child.exitcode})") from None
                if isinstance(event, ReadFailed):
                    raise RuntimeError(f"reading process failed:\n{event.traceback}")
                yield event
                if isinstance(event, End):
                    return
        finally:
            receiving.close()
            child.join(5)
            if child.is_alive():
                child.kill()
                child.join()

    # -- what the reading pass found, with the stored-state checks -----------------------
    def _consume(self, event: Event, out: FileOutcome) -> None:
        kept = self._kept
        assert kept is not None
        if isinstance(event, HeaderSeen):
            kept.file(event.findings)
            if event.header is None:
                return
            out.header = event.header
            out.test = self.test or event.header.test
            if self._check_context is None:  # read in another process: checks may be left here
                self._check_context = self._new_context(event.header)
            if self.hooks is not None:
                refused = any(f.rejects and f.file_level for f in out.findings)
                kept.file(self.hooks.header(event.header, apply=not (out.test or refused)))
        elif isinstance(event, Batch):
            self._drain(event.checked, out)
            if self.progress is not None:
                self.progress(event.reports, event.position)
        elif isinstance(event, TrailerSeen):
            kept.file(event.findings)
        else:
            kept.file(event.frame)
            out.total = event.total

    def _frame_findings(self, problem: FrameProblem) -> list[Finding]:
        out = Findings(self.catalogue)
        problem.add_to(out)
        return out.items

    def _header(self, item: Item) -> HeaderSeen:
        errors = frame_schema(item, self.catalogue)
        if errors is not None:
            return HeaderSeen(None, errors)
        header = extract.header(item.element, item.line)
        self._check_context = self._new_context(header)
        return HeaderSeen(header, check_header(header, self._check_context))

    def _context(self) -> CheckContext:
        """What the report checks know of the file: made once, from the Vorlauf if it is valid."""
        if self._check_context is None:
            self._check_context = self._new_context(None)
        return self._check_context

    def _new_context(self, header: Header | None) -> CheckContext:
        submission = Submission.of_header(
            header, received_at=self.received_at, test=self.test, channel=self.channel
        )
        return CheckContext(
            catalogue=self.catalogue,
            booking_keys=self.booking_keys,
            checks=self.settings.checks,
            submission=submission,
        )

    def _prepare(self, item: Item) -> Checked:
        """Everything that needs the element itself: it is cleared once the reader moves on."""
        errors = report_schema(item, self.catalogue)
        if errors is not None:
            self._add_sums(*extract.trailer_sums(item.element))
            if not item.oversized:  # its parts' sums were added as they were dropped (_shed)
                self._unreadable_sums |= unreadable_sums(item.element)
            return Checked(None, errors)
        report = extract.report(item.element, item.report_kind, item.satz, item.line)  # type: ignore[arg-type]
        self._add_sums(*extract.report_sums(report))
        return Checked(report, None)  # stateless checks: see _batch

    def _shed(self, report: etree._Element, last: etree._Element) -> None:
        """The children of an oversized report but ``last`` are dropped: their share of the
        trailer's sums."""
        self._add_sums(*extract.children_sums(report, last))

    def _add_sums(self, pay: Decimal, amount: Decimal) -> None:
        self._sum_pay += pay
        self._sum_amount += amount

    def _drain(self, batch: list[Checked], out: FileOutcome) -> None:
        """Check a batch of reports against stored state, in file order."""
        stateful = self.hooks is not None and out.header is not None
        if stateful and self.hooks is not None:
            self.hooks.prefetch([c.report for c in batch if c.report is not None])
        # Without a database, the file's own earlier reports are asked once per batch.
        seen = None
        earlier: set[str] = set()
        added: list[str] = []
        if self.hooks is None:
            seen = self._seen = self._seen or SeenIds()
            earlier = seen.earlier([c.report.meldungs_id for c in batch if c.report is not None])
        context = self._context()
        kept = self._kept
        assert kept is not None
        for checked in batch:
            if checked.report is None:
                kept.report(checked.findings or [])
                continue
            findings = checked.findings
            if findings is None:  # left here by the reading process
                findings = check_report(checked.report, context)
            accepted = self._report(checked.report, findings, out, stateful, earlier)
            if accepted and seen is not None:
                earlier.add(checked.report.meldungs_id)
                added.append(checked.report.meldungs_id)
        if seen is not None and added:
            seen.add(added)

    def _report(
        self,
        report: ReportData,
        findings: list[Finding],
        out: FileOutcome,
        stateful: bool,
        earlier: set[str],
    ) -> bool:
        """Check one report; ``earlier``: the MeldungsIds of the file's accepted reports so far
        (without a database). True when it is accepted."""
        kept = self._kept
        assert kept is not None
        if stateful and self.hooks is not None:
            findings.extend(self.hooks.report(report, findings))
        elif report.meldungs_id in earlier:
            again = Findings(
                self.catalogue, satz=report.satz, meldungs_id=report.meldungs_id, line=report.line
            )
            again.add("ZVME061", "in dieser Datei schon verwendet", "MeldungsId")
            findings.extend(again.items)
        kept.report(findings)
        if findings and any(f.rejects for f in findings):
            return False
        out.accepted += 1
        return True

    def _trailer(self, item: Item, count: int) -> list[Finding]:
        errors = frame_schema(item, self.catalogue)
        if errors is not None:
            return errors
        trailer = extract.trailer(item.element, item.line)
        totals = Totals(count, self._sum_pay, self._sum_amount, self._unreadable_sums)
        return check_trailer(trailer, self.catalogue, totals)


def read_elsewhere(settings: Settings, size: int) -> bool:
    """Whether a file of ``size`` bytes is read in a second process (`parallel_min_bytes`)."""
    threshold = settings.intake.parallel_min_bytes
    return threshold is not None and size >= threshold


def prepare_reading() -> None:
    """Start the reading processes' server now, in a thread, so that it is ready when a large
    file's pass begins (``zvk ingest`` calls this before it copies and hashes the file)."""
    reading_context()
    threading.Thread(
        target=multiprocessing.forkserver.ensure_running, name="zvk-forkserver", daemon=True
    ).start()
