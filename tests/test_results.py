"""The result of a delivery: every value decided by `grade` (or a duplicate), and the same
text in the protocol, the ledger and the command line as before it was an enum."""

from __future__ import annotations

import pytest

from ingest.answering.protocol import RESULT_SENTENCES
from ingest.pipeline import Result, grade
from ingest.validating.findings import Finding

FILE_ERROR = Finding(code="ZVNC010", severity="F", scope="Datei", message="Nachlauf")
REPORT_ERROR = Finding(code="ZVME061", severity="F", scope="Meldung", message="MeldungsId")
FILE_NOTE = Finding(code="ZVDA010", severity="H", scope="Datei", message="Hinweis")
REPORT_NOTE = Finding(code="ZVME089", severity="H", scope="Meldung", message="Hinweis")

# (total, accepted, findings) -> result; every result `grade` can give, and its edges
CASES = [
    ((3, 3, []), Result.FEHLERFREI),
    ((0, 0, []), Result.FEHLERFREI),  # a file without reports and without findings
    ((3, 3, [REPORT_NOTE]), Result.HINWEISE),
    ((3, 3, [FILE_NOTE]), Result.HINWEISE),
    ((3, 2, [REPORT_ERROR]), Result.TEILWEISE_ABGEWIESEN),
    ((3, 0, [REPORT_ERROR] * 3), Result.ABGEWIESEN),  # no report accepted
    ((3, 3, [FILE_ERROR]), Result.ABGEWIESEN),  # a finding of the file rejects all of it
    ((0, 0, [FILE_ERROR]), Result.ABGEWIESEN),
    ((3, 2, [REPORT_NOTE, REPORT_ERROR, FILE_ERROR]), Result.ABGEWIESEN),
]


@pytest.mark.parametrize(("counts", "expected"), CASES, ids=lambda c: str(c))
def test_grade_decides_the_result_of_a_checked_file(
    counts: tuple[int, int, list[Finding]], expected: Result
) -> None:
    total, accepted, findings = counts
    assert grade(total, accepted, findings) is expected


def test_every_result_but_doppelt_is_graded_and_doppelt_is_not() -> None:
    """A duplicate is recognised before any check; every other result comes from `grade`."""
    graded = {expected for _, expected in CASES}
    assert graded == set(Result) - {Result.DOPPELT}


def test_the_values_are_those_of_the_protocol_and_the_ledger() -> None:
    assert [r.value for r in Result] == [
        "fehlerfrei",
        "hinweise",
        "teilweise_abgewiesen",
        "abgewiesen",
        "doppelt",
    ]
    assert f"{Result.TEILWEISE_ABGEWIESEN}" == "teilweise_abgewiesen"
    assert Result("doppelt") == "doppelt"
    assert set(RESULT_SENTENCES) == set(Result)


def test_which_results_accept_every_report_and_which_commit() -> None:
    """`zvk ingest` and `zvk check` exit 0 for the first; a real delivery stores reports for
    the second (the ledger's state `committed`)."""
    assert {r for r in Result if r.all_accepted} == {Result.FEHLERFREI, Result.HINWEISE}
    assert {r for r in Result if r.commits} == {
        Result.FEHLERFREI,
        Result.HINWEISE,
        Result.TEILWEISE_ABGEWIESEN,
    }
