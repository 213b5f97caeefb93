"""A report typed into a form and checked by a dry run gets the findings the same report gets
inside a delivered file: the stateless rules and the rules on the fund's stored state alike."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from code_helpers import ok, one_report

from ingest.samples.builder import FileBuilder
from ingest.settings import Settings
from ingest.storing.dry_run import check_against_stored
from ingest.validating.findings import Finding
from ingest.validating.forms import read_form, report_fields
from ingest.validating.submission import Submission
from tests.conftest import SENDER, Deliver

PERIOD = "2026-10"

# One report each, against a fund where person 1 is insured at 100001/001 since 1 October 2026.
CASES: dict[str, Callable[[FileBuilder], object]] = {
    "second Anmeldung of an insured person (ZVME130)": lambda b: b.anmeldung(
        1, date(2026, 10, 15), meldungs_id="F1"
    ),
    "Anmeldung of a new person": lambda b: b.anmeldung(2, date(2026, 10, 1), meldungs_id="F2"),
    "Anmeldung at an unknown billing office (ZVME100)": lambda b: b.anmeldung(
        3, date(2026, 10, 1), meldungs_id="F3", office="999"
    ),
    "Abmeldung without a relationship (ZVME140)": lambda b: b.abmeldung(
        4, date(2026, 10, 31), meldungs_id="F4"
    ),
    "Abmeldung of the insured person": lambda b: b.abmeldung(
        1, date(2026, 10, 31), meldungs_id="F5"
    ),
    "Monatsabrechnung with a wrong count (ZVMA040)": lambda b: b.monatsabrechnung(
        insured=5, meldungs_id="F6"
    ),
    "Storno of an unknown report (ZVME160)": lambda b: b.storno("NIRGENDS", meldungs_id="F7"),
    "Anmeldung with a wrong RVNR check digit and a known person": lambda b: _bad_digit(
        b.anmeldung(1, date(2026, 10, 15), meldungs_id="F8")
    ),
}


def _bad_digit(node):  # type: ignore[no-untyped-def]
    rvnr = str(node.get("Person/RVNR"))
    node.set("Person/RVNR", rvnr[:-1] + str((int(rvnr[-1]) + 1) % 10))
    return node


def shown(findings: list[Finding]) -> list[tuple[str, str, str | None, str]]:
    """What a clerk sees of a report's findings (a form has no line or Satz)."""
    return [(f.code, f.severity, f.field, f.message) for f in findings if not f.file_level]


@pytest.fixture
def registered(deliver: Deliver) -> None:
    b = FileBuilder(period=PERIOD)
    b.anmeldung(1, date(2026, 10, 1))
    ok(deliver, b)


@pytest.mark.parametrize("case", list(CASES))
def test_a_form_checked_by_a_dry_run_gets_the_findings_of_the_same_report_in_a_file(
    settings: Settings, deliver: Deliver, tmp_path: Path, registered: None, case: str
) -> None:
    b = FileBuilder(period=PERIOD, file_number=2)
    CASES[case](b)
    in_file = one_report(settings, tmp_path, b)

    # The form: the report's fields as a clerk would type them, read without any file.
    reading = read_form(in_file.kind, report_fields(in_file))
    assert reading.report is not None, reading.findings
    submission = Submission.of_report(
        in_file.kind, received_at=datetime.now(UTC), month=PERIOD, sender=SENDER
    )
    dry = check_against_stored(settings, reading.report, submission, SENDER)

    delivered = deliver(b)  # after the dry run, which must not have changed what it sees
    assert shown(dry) == shown(list(delivered.findings))
    assert delivered.total == 1


def test_the_cases_cover_stored_and_stateless_findings(
    settings: Settings, deliver: Deliver, tmp_path: Path, registered: None
) -> None:
    """The comparison above is not empty-handed: it meets findings of both kinds."""
    seen: set[str] = set()
    for make in CASES.values():
        b = FileBuilder(period=PERIOD)
        make(b)
        report = one_report(settings, tmp_path, b)
        submission = Submission.of_report(
            report.kind, received_at=datetime.now(UTC), month=PERIOD, sender=SENDER
        )
        seen |= {f.code for f in check_against_stored(settings, report, submission, SENDER)}
    assert {"ZVME130", "ZVME100", "ZVME140", "ZVMA040", "ZVME160", "ZVME088"} <= seen
