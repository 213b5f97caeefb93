"""Large files are read in a second process: the outcome is the same as in one process."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from hostile import CORPUS
from test_batches import load_generator

from ingest.pipeline import Service
from ingest.validating import checker
from tests.conftest import SENDER


def outcome(service: Service, path: Path, *, test: bool, parallel: bool) -> tuple[object, ...]:
    service.settings.intake.parallel_min_bytes = 0 if parallel else None
    v = service.ingest(path, sender_number=SENDER, test=test)
    findings = [dataclasses.astuple(f) for f in v.findings]
    assignments = [(a.satz, a.meldungs_id) for a in v.assignments]
    return v.result, v.total, v.accepted, v.rejected, findings, assignments


def test_reading_in_a_second_process_changes_nothing(
    service: Service, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    generate = load_generator()
    monthly = generate.generate(
        generate.Plan(reports=300, kind="monthly", year=2025, faulty_share=0.05, offices=2),
        tmp_path / "monat.xml",
    )
    annual = generate.generate(
        generate.Plan(
            reports=300, kind="annual", year=2025, faulty_share=0.05, file_number=2, offices=2
        ),
        tmp_path / "jahr.xml",
    )
    split = 0
    reading_elsewhere = checker.FileCheck._reading_elsewhere

    def counted(self: checker.FileCheck) -> object:
        nonlocal split
        split += 1
        return reading_elsewhere(self)

    monkeypatch.setattr(checker.FileCheck, "_reading_elsewhere", counted)

    # Test deliveries are checked like real ones against stored state, then rolled back.
    serial = outcome(service, monthly, test=True, parallel=False)
    assert outcome(service, monthly, test=True, parallel=True) == serial
    assert split == 1
    assert serial[0] == "teilweise_abgewiesen" and serial[3] > 0

    first = outcome(service, monthly, test=False, parallel=True)
    assert first[:4] == serial[:4]
    assert len(first[5]) == first[2]  # a Versicherungsnummer for every accepted Anmeldung

    serial_annual = outcome(service, annual, test=True, parallel=False)
    assert outcome(service, annual, test=True, parallel=True) == serial_annual
    assert serial_annual[0] == "teilweise_abgewiesen"
    assert {f[0] for f in serial_annual[4]} >= {"ZVDA010", "ZVME061"}
    real = outcome(service, annual, test=False, parallel=True)
    assert real[:5] == serial_annual[:5]
    assert split == 4
    assert service.count_committed() == first[2] + real[2]


def test_hostile_files_get_the_same_answer_from_a_second_process(
    service: Service, tmp_path: Path
) -> None:
    """Frame problems found by the reading process reach the protocol unchanged."""
    for path in sorted(CORPUS.iterdir()):
        if path.name.startswith("big_"):
            continue  # refused by size before anything is read
        serial = outcome(service, path, test=True, parallel=False)
        parallel = outcome(service, path, test=True, parallel=True)
        assert parallel == serial, path.name
        assert serial[0] == "abgewiesen", path.name
