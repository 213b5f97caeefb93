"""Large and hostile shapes of input: whitespace is accepted, what one element may build is
bounded, and the memory of a check stays flat whatever the file holds."""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from conftest import assert_protocol_valid, codes
from hostile import (
    _parts,
    empty_reports,
    header_of_elements,
    much_whitespace,
    report_of_attributes,
    report_of_elements,
)

from ingest.pipeline import Service
from ingest.samples.builder import FileBuilder, period_node
from ingest.settings import Settings, load_settings
from ingest.validating.checker import FileCheck, FileOutcome

MIB = 1024 * 1024
LIMIT = 10_000_000  # libxml2's longest text node without XML_PARSE_HUGE (XML_MAX_TEXT_LENGTH)


@pytest.fixture
def plain(tmp_path: Path) -> Settings:
    return load_settings(tmp_path / "no-home")


def check(path: Path, settings: Settings) -> FileOutcome:
    return FileCheck.without_database(path, settings).run()


def peak_of_check(path: Path, tmp_path: Path) -> tuple[str, int]:
    """`zvk check` in a process of its own: its output and its peak RSS in bytes."""
    measure = (
        "import resource, subprocess, sys\n"
        "done = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
        "print(done.stdout)\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", measure, sys.executable, "-m", "ingest", "check", str(path)],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
        env={"ZVK_HOME": str(tmp_path / "none"), "PATH": "/usr/bin:/bin"},
    )
    output, peak = done.stdout.rstrip().rsplit("\n", 1)
    return output, int(peak) * 1024


# -- whitespace ---------------------------------------------------------------------------
def test_whitespace_beyond_the_text_limit_between_elements_is_accepted(
    plain: Settings, tmp_path: Path
) -> None:
    """More whitespace than libxml2 takes as one text node, between the Vorlauf and a report,
    between two children of a report and before the Nachlauf: the file is valid."""
    path = tmp_path / "luftig.xml"
    path.write_bytes(much_whitespace(LIMIT + 2 * MIB))
    outcome = check(path, plain)
    assert outcome.findings == []
    assert (outcome.total, outcome.accepted) == (2, 2)


def test_whitespace_file_is_committed_by_the_service(service: Service, tmp_path: Path) -> None:
    """The same through the pipeline, large enough to be read in a second process."""
    path = tmp_path / "luftig.xml"
    path.write_bytes(much_whitespace(LIMIT + 2 * MIB))
    assert path.stat().st_size >= 16 * MIB  # intake.parallel_min_bytes
    verdict = service.ingest(path, sender_number="66667777", test=False)
    assert verdict.result == "fehlerfrei", codes(verdict)
    assert service.count_committed() == 2
    assert_protocol_valid(service.settings, verdict)


def test_positions_after_long_whitespace_are_positions_in_the_file(
    plain: Settings, tmp_path: Path
) -> None:
    """Lines and columns of findings behind shortened whitespace count every character of it."""
    head, (first, second), tail = _parts()
    bad = second.replace(b"<Geschlecht>W<", b"<Geschlecht>Q<")
    broken = b" " * (LIMIT + 5) + b"<Nachlauf><</Nachlauf>"
    data = head + b"\n" * (LIMIT + 3) + first + b"\r\n \t" * 3_000_000 + bad + broken + tail
    path = tmp_path / "zeilen.xml"
    path.write_bytes(data)
    outcome = check(path, plain)
    schema = [f for f in outcome.findings if f.code == "ZVDA010"]
    assert [f.satz for f in schema] == [2]
    assert schema[0].line == data[: data.index(b"<Geschlecht>Q")].count(b"\n") + 1
    (frame,) = [f for f in outcome.findings if f.code == "ZVDA001"]
    before = data[: data.index(b"<</Nachlauf>") + 1]  # libxml2 names the last column it took
    assert frame.line == before.count(b"\n") + 1
    assert frame.column == len(before) - before.rfind(b"\n") - 1


def test_whitespace_inside_a_field_is_still_its_text(plain: Settings, tmp_path: Path) -> None:
    """A field of nothing but whitespace beyond the text limit is not a valid value."""
    head, reports, tail = _parts()
    head = head.replace(b"<Software>", b"<Software>" + b" " * (LIMIT + MIB))
    path = tmp_path / "feld.xml"
    path.write_bytes(head + b"".join(reports) + tail)
    outcome = check(path, plain)
    assert codes_of(outcome) == ["ZVDA002"]
    assert outcome.findings[0].field == "Vorlauf/Software"


def codes_of(outcome: FileOutcome) -> list[str]:
    return [f.code for f in outcome.findings]


# -- what one element may build -------------------------------------------------------------
def test_header_of_millions_of_elements_is_refused_early(tmp_path: Path) -> None:
    """Six million empty elements in the Vorlauf (24 MB): ZVDA002, in flat memory."""
    path = tmp_path / "vorlauf.xml"
    path.write_bytes(header_of_elements(6_000_000))
    output, peak = peak_of_check(path, tmp_path)
    assert "ZVDA002" in output and "Vorlauf" in output
    assert peak < 200 * MIB, peak


def test_report_of_nested_elements_is_rejected_alone(tmp_path: Path) -> None:
    """12 MB of elements inside one report: that report gets ZVDA010, the next is read and
    accepted, and the check's memory stays flat."""
    path = tmp_path / "meldung.xml"
    path.write_bytes(report_of_elements(12_000_000))
    output, peak = peak_of_check(path, tmp_path)
    assert "ZVDA010 (Fehler) Satz 1, MeldungsId M1-000001" in output
    assert "größer, als eine Meldung" in output
    assert "2 insgesamt, 1 angenommen, 1 abgewiesen" in output
    assert peak < 200 * MIB, peak


def test_tag_of_millions_of_attributes_is_refused_before_it_is_built(tmp_path: Path) -> None:
    """4.3 MB of attributes on one element inside a report: ZVDA002 before libxml2 builds them."""
    path = tmp_path / "attribute.xml"
    path.write_bytes(report_of_attributes(4_300_000))
    output, peak = peak_of_check(path, tmp_path)
    assert "ZVDA002" in output and "Attributen" in output
    assert peak < 200 * MIB, peak


def test_elements_outside_the_reports_are_refused_early(tmp_path: Path) -> None:
    """Millions of elements between two reports, where none may stand: ZVDA002, flat memory."""
    head, (first, second), tail = _parts()
    path = tmp_path / "dazwischen.xml"
    path.write_bytes(head + first + b"<a/>" * 5_000_000 + second + tail)
    output, peak = peak_of_check(path, tmp_path)
    assert "ZVDA002" in output
    assert peak < 200 * MIB, peak


def test_oversized_report_still_counts_towards_the_trailer_sums(
    plain: Settings, tmp_path: Path
) -> None:
    """A Jahresmeldung of more Abschnitte than a report may hold is rejected alone (ZVDA010)
    and its amounts still count in the Nachlauf's sums, so the file is not rejected by them."""
    b = FileBuilder(kind="Jahresmeldung", period="2026")
    month = (date(2026, 1, 1), date(2026, 1, 31))
    periods = [period_node(*month, pay="100.00", amount="1.60") for _ in range(2_000)]
    b.jahresmeldung(1, periods)
    b.jahresmeldung(2)
    path = b.write(tmp_path / "jahr.xml")
    outcome = check(path, plain)
    assert [(f.code, f.satz) for f in outcome.findings] == [("ZVDA010", 1)]
    assert outcome.findings[0].meldungs_id is not None
    assert (outcome.total, outcome.accepted) == (2, 1)


def test_empty_reports_are_each_rejected(plain: Settings, tmp_path: Path) -> None:
    path = tmp_path / "leer.xml"
    path.write_bytes(empty_reports(3))
    outcome = check(path, plain)
    assert [f.satz for f in outcome.findings if f.code == "ZVDA010"] == [1, 2, 3]
