"""Findings are bounded per report and per file; the protocol says how many were left out, and
its counts stay exact."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from conftest import assert_protocol_valid, codes
from hostile import empty_reports
from sqlalchemy import func, select

from ingest.answering.protocol import to_text
from ingest.pipeline import Service
from ingest.samples.builder import FileBuilder, period_node
from ingest.settings import Settings, load_settings
from ingest.storing.models import FindingRow
from ingest.validating.checker import FileCheck


def bounded(settings: Settings, per_report: int = 20, per_file: int = 20_000) -> Settings:
    checks = settings.checks.model_copy(
        update={"max_findings_per_report": per_report, "max_findings_per_file": per_file}
    )
    return settings.model_copy(update={"checks": checks})


def test_findings_of_a_file_are_bounded_and_the_rest_counted(tmp_path: Path) -> None:
    """5,000 empty Anmeldungen, at most 1,000 report findings per file: the first 1,000 are
    listed, one ZVSY011 says that 4,000 more were left out; all 5,000 reports are rejected."""
    path = tmp_path / "leer.xml"
    path.write_bytes(empty_reports(5_000))
    settings = bounded(load_settings(tmp_path / "no-home"), per_file=1_000)
    outcome = FileCheck.without_database(path, settings).run()
    assert (outcome.total, outcome.accepted) == (5_000, 0)
    assert [f.satz for f in outcome.findings if f.code == "ZVDA010"] == list(range(1, 1_001))
    last = outcome.findings[-1]
    assert (last.code, last.severity, last.satz) == ("ZVSY011", "H", None)
    assert "4000 weitere Befunde ausgelassen" in last.message
    assert len(outcome.findings) == 1_001


def test_findings_of_a_report_are_bounded_and_the_rest_counted(tmp_path: Path) -> None:
    """Twelve identical Abschnitte overlap pairwise (66 findings): 20 are listed, then one
    ZVSY010 for that report with the number left out; the next report is not affected."""
    b = FileBuilder(kind="Jahresmeldung", period="2026")
    month = (date(2026, 1, 1), date(2026, 1, 31))
    b.jahresmeldung(1, [period_node(*month) for _ in range(12)])
    b.jahresmeldung(2)
    path = b.write(tmp_path / "jahr.xml")
    outcome = FileCheck.without_database(path, load_settings(tmp_path / "no-home")).run()
    assert (outcome.total, outcome.accepted) == (2, 1)
    first = [f for f in outcome.findings if f.satz == 1]
    assert len(first) == 21 and first[-1].code == "ZVSY010"
    assert first[-1].meldungs_id is not None and first[-1].severity == "H"
    left = int(first[-1].message.rsplit(": ", 1)[1].split()[0])
    assert left >= 66 - 20
    assert [f for f in outcome.findings if f.satz == 2] == []


@pytest.fixture
def capped(settings: Settings) -> Service:
    return Service.open(bounded(settings, per_file=500))


def test_protocol_and_ledger_hold_the_bounded_findings(capped: Service, tmp_path: Path) -> None:
    """Through the pipeline: the ledger keeps the bounded findings, the protocol is valid
    against its schema, says how many were left out, and counts every report."""
    path = tmp_path / "leer.xml"
    path.write_bytes(empty_reports(3_000))
    verdict = capped.ingest(path, sender_number="66667777", test=False)
    assert (verdict.total, verdict.accepted, verdict.rejected) == (3_000, 0, 3_000)
    assert verdict.result == "abgewiesen"
    assert codes(verdict).count("ZVDA010") == 500 and codes(verdict)[-1] == "ZVSY011"
    with capped.sessions() as session:
        assert session.scalar(select(func.count()).select_from(FindingRow)) == 501
    assert_protocol_valid(capped.settings, verdict)
    written = next((capped.settings.outbox / "66667777").glob("*.protokoll.xml")).read_text()
    assert 'Gesamt="3000" Angenommen="0" Abgewiesen="3000"' in written
    assert 'Code="ZVSY011" Schwere="H"' in written and "2500 weitere Befunde" in written
    assert "2500 weitere Befunde ausgelassen" in to_text(verdict)
