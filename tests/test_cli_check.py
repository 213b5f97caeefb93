"""`zvk check` as a data center scripts it: several files, standard input, a FIFO, process
substitution; each protocol XML stands on its own and is valid against protokoll-1.xsd.

Standard input, a FIFO and process substitution are a real process's; the rest runs in this
process (``zvk_in``)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from lxml import etree
from zvk_inprocess import Done, zvk_in

from ingest.answering.protocol import validate_xml
from ingest.samples.builder import FileBuilder

ZVK = [sys.executable, "-m", "ingest"]
NS = {"p": "urn:zvk-ingest:protokoll:1"}


def zvk(
    *args: str, stdin: bytes | None = None, cwd: Path | None = None, bash_line: str | None = None
) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "ZVK_HOME": str((cwd or Path.cwd()) / "no-home")}
    command: list[str] | str = [*ZVK, *args]
    if bash_line is not None:
        command = ["bash", "-c", bash_line.replace("ZVK", " ".join(ZVK))]
    return subprocess.run(
        command, input=stdin, capture_output=True, env=env, cwd=cwd, timeout=120, check=False
    )


def zvk_without_home(*args: str, cwd: Path) -> Done:
    """``zvk ARGS…`` in this process, in ``cwd``, with ZVK_HOME naming a missing folder."""
    previous = Path.cwd()
    os.chdir(cwd)
    try:
        return zvk_in(None, *args, env={"ZVK_HOME": str(cwd / "no-home")})
    finally:
        os.chdir(previous)


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    good = FileBuilder(file_number=1)
    good.anmeldung(1)
    bad = FileBuilder(file_number=2)
    bad.anmeldung(2).set("Person/RVNR", "15070649C102")
    return good.write(tmp_path / "a.xml"), bad.write(tmp_path / "b.xml")


def result_and_codes(document: bytes) -> tuple[str, list[str]]:
    assert validate_xml(document) == []
    tree = etree.fromstring(document)
    return tree.findtext("p:Ergebnis", namespaces=NS) or "", tree.xpath(
        "//p:Befund/@Code", namespaces=NS
    )


def test_several_files_in_xml_need_an_output_folder(
    files: tuple[Path, Path], tmp_path: Path
) -> None:
    """Two XML documents back to back are no XML document: refused, and written one per file."""
    a, b = files
    refused = zvk_without_home("check", "--format", "xml", str(a), str(b), cwd=tmp_path)
    assert refused.returncode == 2 and "--output-dir" in refused.stderr
    assert refused.stdout == ""
    out = tmp_path / "protokolle"
    done = zvk_without_home(
        "check", "--format", "xml", "--output-dir", str(out), str(a), str(b), cwd=tmp_path
    )
    assert done.returncode == 1, done.stderr
    lines = done.stdout.splitlines()
    assert [line.split("\t")[:2] for line in lines] == [
        ["a.xml", "fehlerfrei"],
        ["b.xml", "abgewiesen"],
    ]
    written = sorted(out.iterdir())
    assert [p.name.split(".")[0] for p in written] == ["a", "b"]
    assert all(p.name.endswith(".protokoll.xml") for p in written)
    assert all(p.name.count(".") == 3 for p in written)  # a.PRUEFUNG-….protokoll.xml
    assert result_and_codes(written[0].read_bytes()) == ("fehlerfrei", [])
    assert result_and_codes(written[1].read_bytes())[1] == ["ZVME088"]
    text = zvk_without_home("check", "--output-dir", str(tmp_path / "txt"), str(a), cwd=tmp_path)
    assert text.returncode == 0
    assert [p.suffix for p in (tmp_path / "txt").iterdir()] == [".txt"]


def test_standard_input(files: tuple[Path, Path], tmp_path: Path) -> None:
    _, b = files
    done = zvk("check", "--format", "xml", "-", stdin=b.read_bytes(), cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    assert result_and_codes(done.stdout) == ("abgewiesen", ["ZVME088"])
    assert b"<Dateiname>stdin</Dateiname>" in done.stdout


def test_a_fifo_and_process_substitution(files: tuple[Path, Path], tmp_path: Path) -> None:
    a, b = files
    fifo = tmp_path / "rohr.xml"
    os.mkfifo(fifo)
    writer = threading.Thread(target=lambda: fifo.write_bytes(b.read_bytes()))
    writer.start()
    done = zvk("check", "--format", "xml", str(fifo), cwd=tmp_path)
    writer.join(timeout=60)
    assert done.returncode == 1, done.stderr
    assert result_and_codes(done.stdout) == ("abgewiesen", ["ZVME088"])
    substituted = zvk(bash_line=f"ZVK check --format xml <(cat {a})", cwd=tmp_path)
    assert substituted.returncode == 0, substituted.stderr
    assert b"fehlerfrei" in substituted.stdout
    assert b"<Dateiname>/dev/fd/" in substituted.stdout  # the path as given, not "63"


@pytest.mark.parametrize(
    "args",
    [("check", "nirgends.xml"), ("check", "."), ("check", "-", "-")],
)
def test_what_cannot_be_checked_is_named(tmp_path: Path, args: tuple[str, ...]) -> None:
    done = zvk_without_home(*args, cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and done.stderr.startswith("zvk: ")
