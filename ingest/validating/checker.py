"""One pass over a report file: frame, schema, header, reports, trailer.

The same code serves ``zvk check`` (no database: ``hooks`` is ``None``) and the pipeline, where
``hooks`` adds the checks against stored state and commits each accepted report as it goes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Protocol

from ingest.settings import Settings
from ingest.validating import extract
from ingest.validating.booking_keys import BookingKeys
from ingest.validating.findings import Catalogue, Finding
from ingest.validating.frame_rules import check_header, check_trailer
from ingest.validating.reader import FrameProblem, Item, Reader, sniff
from ingest.validating.records import Header, ReportData
from ingest.validating.report_rules import CheckContext, check_report
from ingest.validating.schema import validate_element


class StateHooks(Protocol):
    """The checks against stored state (implemented by ``ingest.storing.state``)."""

    def header(self, header: Header) -> list[Finding]:
        """Sender and file-number checks; called once, before the first report."""
        ...

    def report(self, report: ReportData, earlier: list[Finding]) -> list[Finding]:
        """Stored-state findings of one report; applies it when nothing rejects it."""
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
    _ids_in_file: set[str] = field(default_factory=set)
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
        with self.path.open("rb") as stream:
            reader = Reader(stream)
            for item in reader.items():
                if item.kind == "header":
                    self._header(item, out)
                elif item.kind == "report":
                    self._report(item, out)
                else:
                    self._trailer(item, out, reader.reports)
            if reader.problem is not None:
                out.findings.append(self._frame_finding(reader.problem))
            out.total = reader.reports
        return out

    def _frame_finding(self, problem: FrameProblem) -> Finding:
        return self.catalogue.finding(
            problem.code, problem.detail, line=problem.line, column=problem.column
        )

    def _schema_findings(self, item: Item, code: str, prefix: str | None = None) -> list[Finding]:
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
            for error in validate_element(item.element)
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

    def _report(self, item: Item, out: FileOutcome) -> None:
        pay, amount = extract.trailer_sums(item.element)
        self._sum_pay += pay
        self._sum_amount += amount
        errors = self._schema_findings(item, "ZVDA010")
        if errors:
            out.findings.extend(errors)
            return
        report = extract.report(item.element, item.report_kind, item.satz)  # type: ignore[arg-type]
        findings = check_report(report, self._context(out))
        if self.hooks is not None and out.header is not None:
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
