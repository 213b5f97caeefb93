"""One pass over a report file: frame, schema, header, reports, trailer.

The same code serves ``zvk check`` (no database: ``hooks`` is ``None``) and the pipeline, where
``hooks`` adds the checks against stored state and commits each accepted report as it goes.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import IO, Protocol

from ingest.settings import Settings
from ingest.validating import extract
from ingest.validating.booking_keys import BookingKeys
from ingest.validating.findings import Catalogue, Finding
from ingest.validating.frame_rules import check_header, check_trailer
from ingest.validating.reader import FrameProblem, Item, Reader, sniff
from ingest.validating.records import Header, ReportData
from ingest.validating.report_rules import CheckContext, check_report
from ingest.validating.schema import validate_element

BATCH = 1000  # reports checked against stored state and written together
GC_THRESHOLD = 100_000  # allocations between two young-generation collections during a pass
Progress = Callable[[int, int], None]  # reports read so far, bytes read so far


class StateHooks(Protocol):
    """The checks against stored state (implemented by ``ingest.storing.state``).

    Reports come in batches, in file order: ``prefetch`` sees a batch's schema-valid reports
    before ``report`` is called for each of them, so that the stored state they ask about can be
    loaded in a few queries; ``finish`` comes once after the last report.
    """

    def header(self, header: Header) -> list[Finding]:
        """Sender and file-number checks; called once, before the first report."""
        ...

    def prefetch(self, reports: Sequence[ReportData]) -> None:
        """A batch of reports is about to be checked, in this order."""
        ...

    def report(self, report: ReportData, earlier: list[Finding]) -> list[Finding]:
        """Stored-state findings of one report; applies it when nothing rejects it."""
        ...

    def finish(self) -> None:
        """Every report was checked: write what is still pending."""
        ...


@dataclass(slots=True)
class _Checked:
    """A report after the checks that need only the file, waiting for its batch."""

    report: ReportData | None  # None: the schema refused it
    findings: list[Finding]


@contextmanager
def relaxed_gc() -> Iterator[None]:
    """Fewer cyclic garbage collections during a pass over a file.

    A pass makes millions of short-lived objects and almost no cycles; with the default
    thresholds, the collector traverses the long-lived heap (the imported libraries) again and
    again, which cost about a quarter of the time of a large file. The objects alive at the start
    are frozen (excluded from collection) and the collector runs less often; both are restored at
    the end.
    """
    before = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(GC_THRESHOLD, 50, 1000)
    try:
        yield
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()


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
    _ids_in_file: set[str] = field(default_factory=set)
    _batch: list[_Checked] = field(default_factory=list)
    _sum_pay: Decimal = Decimal(0)
    _sum_amount: Decimal = Decimal(0)

    def run(self) -> FileOutcome:
        out = FileOutcome(test=self.test)
        if self.size > self.settings.intake.max_file_bytes:
            out.findings.append(
                self.catalogue.finding(
                    "ZVDA005", f"{self.size} Bytes, erlaubt {self.settings.intake.max_file_bytes}"
                )
            )
            return out
        problem = sniff(self.path)
        if problem is not None:
            out.findings.append(self._frame_finding(problem))
            return out
        with self.path.open("rb") as stream, relaxed_gc():
            reader = Reader(stream)
            for item in reader.items():
                if item.kind == "header":
                    self._header(item, out)
                elif item.kind == "report":
                    self._batch.append(self._prepare(item, out))
                    if len(self._batch) >= BATCH:
                        self._drain(out)
                        self._report_progress(reader.reports, stream)
                else:
                    self._drain(out)
                    self._trailer(item, out, reader.reports)
            self._drain(out)
            if reader.problem is not None:
                out.findings.append(self._frame_finding(reader.problem))
            out.total = reader.reports
            self._report_progress(reader.reports, stream)
        if self.hooks is not None:
            self.hooks.finish()
        return out

    def _report_progress(self, reports: int, stream: IO[bytes]) -> None:
        if self.progress is not None:
            self.progress(reports, stream.tell())

    def _frame_finding(self, problem: FrameProblem) -> Finding:
        return self.catalogue.finding(
            problem.code, problem.detail, line=problem.line, column=problem.column
        )

    def _schema_findings(self, item: Item, code: str, prefix: str | None = None) -> list[Finding]:
        errors = validate_element(item.element)
        if not errors:
            return []
        meldungs_id = extract.meldungs_id(item.element) if item.kind == "report" else None
        return [
            self.catalogue.finding(
                code,
                error.message,
                satz=item.satz or None,
                meldungs_id=meldungs_id,
                field=f"{prefix}/{error.field}" if prefix and error.field else error.field,
                line=error.line,
                column=error.column,
            )
            for error in errors
        ]

    def _header(self, item: Item, out: FileOutcome) -> None:
        errors = self._schema_findings(item, "ZVDA002", "Vorlauf")
        if errors:
            out.findings.extend(errors)
            return
        header = extract.header(item.element)
        out.header = header
        out.test = self.test or header.test
        out.findings.extend(
            check_header(header, self.catalogue, self.settings.checks, self.received_at)
        )
        if self.hooks is not None:
            out.findings.extend(self.hooks.header(header))

    def _context(self, out: FileOutcome) -> CheckContext:
        return CheckContext(
            catalogue=self.catalogue,
            booking_keys=self.booking_keys,
            checks=self.settings.checks,
            header=out.header,
            received_at=self.received_at,
            test=out.test,
        )

    def _prepare(self, item: Item, out: FileOutcome) -> _Checked:
        """Everything that needs the element itself: it is cleared once the reader moves on."""
        errors = self._schema_findings(item, "ZVDA010")
        if errors:
            self._add_sums(*extract.trailer_sums(item.element))
            return _Checked(None, errors)
        report = extract.report(item.element, item.report_kind, item.satz)  # type: ignore[arg-type]
        self._add_sums(*extract.report_sums(report))
        return _Checked(report, check_report(report, self._context(out)))

    def _add_sums(self, pay: Decimal, amount: Decimal) -> None:
        self._sum_pay += pay
        self._sum_amount += amount

    def _drain(self, out: FileOutcome) -> None:
        """Check the waiting reports against stored state, in file order."""
        stateful = self.hooks is not None and out.header is not None
        if stateful and self.hooks is not None:
            self.hooks.prefetch([c.report for c in self._batch if c.report is not None])
        for checked in self._batch:
            if checked.report is not None:
                self._report(checked.report, checked.findings, out, stateful)
            else:
                out.findings.extend(checked.findings)
        self._batch.clear()

    def _report(
        self, report: ReportData, findings: list[Finding], out: FileOutcome, stateful: bool
    ) -> None:
        if stateful and self.hooks is not None:
            findings.extend(self.hooks.report(report, findings))
        elif report.meldungs_id in self._ids_in_file:
            findings.append(
                self.catalogue.finding(
                    "ZVME061",
                    "in dieser Datei schon verwendet",
                    satz=report.satz,
                    meldungs_id=report.meldungs_id,
                    field="MeldungsId",
                    line=report.line,
                )
            )
        out.findings.extend(findings)
        if not any(f.rejects for f in findings):
            out.accepted += 1
            if self.hooks is None:
                self._ids_in_file.add(report.meldungs_id)

    def _trailer(self, item: Item, out: FileOutcome, count: int) -> None:
        errors = self._schema_findings(item, "ZVDA002", "Nachlauf")
        if errors:
            out.findings.extend(errors)
            return
        trailer = extract.trailer(item.element)
        out.findings.extend(
            check_trailer(trailer, self.catalogue, count, self._sum_pay, self._sum_amount)
        )
