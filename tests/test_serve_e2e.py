"""`zvk serve` as a real process: files dropped into an inbox get their protocol."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import wait_for
from lxml import etree

from ingest.samples.builder import FileBuilder

pytestmark = pytest.mark.e2e
ZVK = [sys.executable, "-m", "ingest"]
NS = {"p": "urn:zvk-ingest:protokoll:1"}
# The drop folder only: the SFTP server has its own tests (on free ports), and a fixed port would
# be taken when two test runs share the machine.
DROP_FOLDER_ONLY = {
    "ZVK_INTAKE__RESCAN_SECONDS": "1",
    "ZVK_INTAKE__SETTLE_SECONDS": "0.5",
    "ZVK_SFTP__ENABLED": "false",
}


def zvk(
    home: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*ZVK, "--home", str(home), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


@pytest.fixture
def home(tmp_path: Path, database_url: str | None) -> Path:
    home = tmp_path / "home"
    if database_url:
        home.mkdir()
        (home / "zvk.toml").write_text(f'[db]\nurl = "{database_url}"\n')
    for args in (
        ("init",),
        ("members", "add", "100001", "--name", "Stadt", "--abrechnungsstelle", "001"),
        (
            "senders",
            "add",
            "66667777",
            "--name",
            "RZ",
            "--kind",
            "rechenzentrum",
            "--authorize",
            "100001",
        ),
    ):
        done = zvk(home, *args)
        assert done.returncode == 0, done.stderr
    return home


@pytest.fixture
def server(home: Path) -> Iterator[subprocess.Popen[str]]:
    env = {**os.environ, **DROP_FOLDER_ONLY}
    log = (home / "serve.log").open("w")
    process = subprocess.Popen(
        [*ZVK, "--home", str(home), "serve"],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while '"serving"' not in (home / "serve.log").read_text(errors="replace"):
            assert process.poll() is None, (home / "serve.log").read_text(errors="replace")
            assert time.monotonic() < deadline, "zvk serve did not start"
            time.sleep(0.05)
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
        log.close()


def result_of(protocol: Path) -> tuple[str, str]:
    tree = etree.parse(str(protocol))
    return tree.findtext("p:Ergebnis", namespaces=NS), tree.findtext("p:Test", namespaces=NS)


def test_file_copied_into_inbox_gets_protocol(home: Path, server: subprocess.Popen[str]) -> None:
    """A file copied into inbox/<Betriebsnummer>/ while serve runs is answered in the outbox."""
    builder = FileBuilder()
    builder.anmeldung(1)
    builder.anmeldung(2)
    builder.write(home / "inbox" / "66667777" / "monat.xml")
    protocol = wait_for("monat.*.protokoll.xml", home / "outbox" / "66667777")
    assert result_of(protocol) == ("fehlerfrei", "false")
    assert not (home / "inbox" / "66667777" / "monat.xml").exists()
    export = zvk(home, "export", "meldungen", "--format", "csv")
    assert len(export.stdout.strip().splitlines()) == 3  # header and two reports


def test_test_folder_is_a_test_delivery(home: Path, server: subprocess.Popen[str]) -> None:
    """A file in inbox/<Betriebsnummer>/test/ is checked and answered, nothing committed."""
    builder = FileBuilder()
    builder.anmeldung(1)
    builder.write(home / "inbox" / "66667777" / "test" / "probe.xml")
    protocol = wait_for("probe.*.protokoll.xml", home / "outbox" / "66667777")
    assert result_of(protocol) == ("fehlerfrei", "true")
    export = zvk(home, "export", "meldungen", "--format", "csv")
    assert export.stdout.strip().splitlines()[1:] == []


def test_partial_upload_waits_for_rename(home: Path, server: subprocess.Popen[str]) -> None:
    """A `.part` file is left alone; renamed to its final name it is picked up."""
    inbox = home / "inbox" / "66667777"
    builder = FileBuilder()
    builder.anmeldung(3)
    part = builder.write(inbox / "gross.xml.part")
    time.sleep(2.5)  # longer than rescan and settle time
    assert part.exists()
    assert not list((home / "outbox" / "66667777").glob("gross*"))
    part.rename(inbox / "gross.xml")
    protocol = wait_for("gross.*.protokoll.xml", home / "outbox" / "66667777")
    assert result_of(protocol)[0] == "fehlerfrei"


def test_file_present_at_start_is_picked_up(home: Path) -> None:
    """A file that arrived while the service was down is processed after start-up."""
    builder = FileBuilder()
    builder.anmeldung(4)
    builder.write(home / "inbox" / "66667777" / "nachts.xml")
    env = {**os.environ, **DROP_FOLDER_ONLY}
    process = subprocess.Popen(
        [*ZVK, "--home", str(home), "serve"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    try:
        protocol = wait_for("nachts.*.protokoll.xml", home / "outbox" / "66667777")
        assert result_of(protocol)[0] == "fehlerfrei"
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0


def test_sigterm_stops_cleanly(server: subprocess.Popen[str]) -> None:
    """SIGTERM ends a running `zvk serve` with exit status 0."""
    server.send_signal(signal.SIGTERM)
    assert server.wait(timeout=15) == 0
