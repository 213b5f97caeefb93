"""The checks of one report sent without a file: those a file's report gets without the database.

A report typed into a form (see ``ingest.validating.forms``) is checked here with the same
report checks :class:`~ingest.validating.checker.FileCheck` runs on each schema-valid report of a
file, in the context of its :class:`~ingest.validating.submission.Submission` instead of a
Vorlauf.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from ingest.settings import ChecksSettings, Settings
from ingest.validating.booking_keys import BookingKeys, load_booking_keys
from ingest.validating.findings import Catalogue, Finding, load_catalogue
from ingest.validating.forms import FormReading, read_form
from ingest.validating.records import ReportData, ReportKind
from ingest.validating.report_rules import CheckContext, check_report
from ingest.validating.submission import Submission


def check_single(
    report: ReportData,
    submission: Submission,
    checks: ChecksSettings,
    catalogue: Catalogue | None = None,
    booking_keys: BookingKeys | None = None,
) -> list[Finding]:
    """Every stateless finding about ``report`` in ``submission``, in the order a file gives
    them (the checks against the fund's stored state are not among them)."""
    context = CheckContext(
        catalogue=catalogue if catalogue is not None else load_catalogue(),
        booking_keys=booking_keys if booking_keys is not None else load_booking_keys(),
        checks=checks,
        submission=submission,
    )
    return check_report(report, context)


@dataclass(frozen=True, slots=True)
class FormCheck:
    """A form checked: what was read of it, the submission it was checked in, its findings
    (ZVDA010 when the schema refuses it, else those of :func:`check_single`)."""

    reading: FormReading
    submission: Submission
    findings: list[Finding]


def check_form(
    kind: ReportKind,
    fields: Mapping[str, str | None],
    settings: Settings,
    *,
    received_at: datetime,
    year: int | None = None,
    month: str | None = None,
    test: bool = False,
    sender: str | None = None,
) -> FormCheck:
    """Read a form (:func:`~ingest.validating.forms.read_form`) and check the report in the
    submission it implies (:meth:`Submission.of_report`; a Monatsabrechnung's month is its
    Monat)."""
    catalogue = load_catalogue()
    reading = read_form(kind, fields, catalogue)
    report = reading.report
    if report is not None and report.statement is not None:
        month = report.statement.month
    submission = Submission.of_report(
        kind, received_at=received_at, year=year, month=month, test=test, sender=sender
    )
    if report is None:
        return FormCheck(reading, submission, list(reading.findings))
    return FormCheck(
        reading, submission, check_single(report, submission, settings.checks, catalogue)
    )
