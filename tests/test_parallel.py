"""Large files are read in a second process: the outcome is the same as in one process."""

from __future__ import annotations

import dataclasses
import fcntl
import multiprocessing
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from hostile import CORPUS
from test_batches import load_generator

from ingest.pipeline import Service
from ingest.validating import checker, reading
from ingest.validating.findings import Finding
from ingest.validating.records import PeriodData, PersonData, ReportData, StatementData
from tests.conftest import SENDER


def outcome(service: Service, path: Path, *, test: bool, parallel: bool) -> tuple[object, ...]:
    service.settings.intake.parallel_min_bytes = 0 if parallel else None
    v = service.ingest(path, sender_number=SENDER, test=test)
    findings = [dataclasses.astuple(f) for f in v.findings]
    assignments = [(a.satz, a.meldungs_id) for a in v.assignments]
    return v.result, v.total, v.accepted, v.rejected, findings, assignments


def generated(
    tmp_path: Path, reports: int, monthly_faulty: float, annual_faulty: float
) -> tuple[Path, Path]:
    """A monthly file of Anmeldungen at two offices and the annual file that rests on it."""
    generate = load_generator()
    monthly = generate.generate(
        generate.Plan(
            reports=reports, kind="monthly", year=2025, faulty_share=monthly_faulty, offices=2
        ),
        tmp_path / "monat.xml",
    )
    annual = generate.generate(
        generate.Plan(
            reports=reports,
            kind="annual",
            year=2025,
            faulty_share=annual_faulty,
            file_number=2,
            offices=2,
        ),
        tmp_path / "jahr.xml",
    )
    return monthly, annual


def test_reading_in_a_second_process_changes_nothing(
    service: Service, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monthly, annual = generated(tmp_path, 300, 0.05, 0.05)
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


@pytest.mark.parametrize("pattern", ["here", "there", "alternating"])
def test_the_report_checks_give_the_same_findings_in_either_process(
    service: Service, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pattern: str
) -> None:
    """The reading process leaves a batch's stateless checks to the receiver, or not: the
    protocol is the same. The pass runs as in two processes, events encoded and decoded, but in
    this one, so that the choice can be dictated batch by batch."""
    monthly, annual = generated(tmp_path, 240, 0, 0.1)
    assert outcome(service, monthly, test=False, parallel=False)[0] == "fehlerfrei"
    monkeypatch.setattr(checker, "BATCH", 25)
    serial = outcome(service, annual, test=True, parallel=False)

    asked = 0
    left: list[bool] = []

    def leave() -> bool:
        nonlocal asked
        asked += 1
        return pattern == "there" or (pattern == "alternating" and asked % 2 == 0)

    def in_this_process(self: checker.FileCheck) -> object:
        reader = dataclasses.replace(self, hooks=None, progress=None, _seen=None)
        for event in reader.read(leave_checks=leave):
            back = reading.decode(reading.encode(event))
            if isinstance(back, reading.Batch):
                left.extend(c.findings is None for c in back.checked if c.report is not None)
            yield back

    monkeypatch.setattr(checker.FileCheck, "_reading_elsewhere", in_this_process)
    assert outcome(service, annual, test=True, parallel=True) == serial
    assert asked == 240 // 25 + 1  # once per batch: 9 full ones and the rest
    assert len(left) > 200
    expected = {"here": {False}, "there": {True}, "alternating": {False, True}}[pattern]
    assert set(left) == expected
    assert serial[0] == "teilweise_abgewiesen"


def test_the_reading_process_sees_whether_the_receiver_waits() -> None:
    """The receiver is about to wait when the pipe holds less than one batch."""
    receiving, sending = multiprocessing.Pipe(duplex=False)
    try:
        reading.widen(receiving)
        waits = reading.ReceiverWaits(sending.fileno())
        assert not waits()  # before the first batch: nothing to compare with
        waits.batch_bytes = 100_000
        assert waits()
        sending.send_bytes(b"x" * 60_000)
        assert waits()
        sending.send_bytes(b"x" * 60_000)
        assert not waits()  # 120,000 bytes queued: more than a batch
        receiving.recv_bytes()
        assert waits()
        receiving.recv_bytes()
        assert waits()
    finally:
        receiving.close()
        sending.close()


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


def test_batches_cross_the_pipe_unchanged() -> None:
    """Every field of every kind of record, and findings, survive the batch encoding."""
    person = PersonData("1000000016", None, "Groß", "Ünal", "", date(1970, 2, 28), "D", "P-1")
    periods = (
        PeriodData(
            1, date(2025, 1, 1), date(2025, 6, 30), "011001", Decimal("0.10"), Decimal("-1"), None
        ),
        PeriodData(
            2, date(2025, 7, 1), date(2025, 12, 31), "012801", Decimal("12.345"), Decimal("0"), 2
        ),
    )
    statement = StatementData("2025-03", 7, *(Decimal(v) for v in ("1e3", "1.5", "2", "0", "3.5")))
    finding = Finding("ZVME088", "F", "Meldung", "Prüfziffer falsch.", 3, "M-3", "Person/RVNR", 9)
    checked = [
        reading.Checked(
            ReportData("Jahresmeldung", 1, 4, "M-1", "100001", "001", person, periods=periods),
            [],
        ),
        reading.Checked(
            ReportData(
                "Abmeldung",
                2,
                None,
                "M-2",
                "100001",
                "002",
                person,
                date(2025, 1, 1),
                date(2025, 3, 31),
                "11",
                reference="M-1",
            ),
            [finding],
        ),
        reading.Checked(
            ReportData("Monatsabrechnung", 3, 7, "M-3", "100001", "003", statement=statement),
            [finding, finding],
        ),
        reading.Checked(None, [finding]),
    ]
    batch = reading.Batch(checked, 4, 1234)
    back = reading.decode(reading.encode(batch))
    assert back == batch
    assert back is not batch
    assert isinstance(back, reading.Batch)
    first = back.checked[0].report
    assert first is not None and first.periods[0].pay == Decimal("0.10")
    assert str(first.periods[1].pay) == "12.345"  # the digits as written, not a float
    header_seen = reading.HeaderSeen(None, [finding])
    assert reading.decode(reading.encode(header_seen)) == header_seen


def test_the_pipe_holds_several_batches() -> None:
    """The pipe between the processes is widened to 1 MiB where Linux allows it."""
    receiving, sending = multiprocessing.Pipe(duplex=False)
    try:
        reading.widen(receiving)
        size = fcntl.fcntl(receiving.fileno(), getattr(fcntl, "F_GETPIPE_SZ", 1032))
        limit = int(Path("/proc/sys/fs/pipe-max-size").read_text())
        # (a system that caps pipes below 1 MiB keeps its default; root may exceed the cap)
        assert size >= reading.PIPE_BYTES or limit < reading.PIPE_BYTES
    finally:
        receiving.close()
        sending.close()
