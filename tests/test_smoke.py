"""The pipeline end to end on the simplest files."""

from __future__ import annotations

from datetime import date

from conftest import codes

from ingest.samples.builder import FileBuilder


def test_clean_file_is_committed_without_findings(deliver, service) -> None:
    """A valid Anmeldung file gets `fehlerfrei` and every report is committed."""
    b = FileBuilder()
    b.anmeldung(1, date(2026, 10, 1))
    b.anmeldung(2, date(2026, 10, 1))
    verdict = deliver(b)
    assert verdict.result == "fehlerfrei", codes(verdict)
    assert (verdict.total, verdict.accepted, verdict.rejected) == (2, 2, 0)
    assert service.count_committed() == 2
    assert len(verdict.assignments) == 2
