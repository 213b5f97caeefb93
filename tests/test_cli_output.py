"""What a person at a terminal reads: help that names what to type, the command's own lines
without log lines between them, times in local time with their offset."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from conftest import Deliver
from zvk_inprocess import zvk_here

from ingest.cli.main import command
from ingest.samples.builder import FileBuilder
from ingest.settings import Settings

ZVK = [sys.executable, "-m", "ingest"]


def _command_paths(command: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    paths = [prefix]
    for name, sub in getattr(command, "commands", {}).items():
        paths += _command_paths(sub, (*prefix, name))
    return paths


def _all_commands() -> list[tuple[str, ...]]:
    return _command_paths(command())


def test_there_are_commands_to_look_at() -> None:
    assert {("check",), ("senders", "show"), ("members", "list")} <= set(_all_commands())


@pytest.mark.parametrize("path", _all_commands(), ids=" ".join)
def test_help_names_what_to_type(capsys: pytest.CaptureFixture[str], path: tuple[str, ...]) -> None:
    """No Python types (`<bool>`, `<list[Path]>`), no `{files}`; examples line by line."""
    done = zvk_here(capsys, None, *path, "--help")
    assert done.returncode == 0, done.stderr
    assert not re.search(r"<(bool|str|int|float|list|path)", done.stdout, re.I), done.stdout
    assert not re.search(r"\{\w+\}", done.stdout), done.stdout
    assert not re.search(r"Examples?: {2,}", done.stdout), done.stdout  # rewrapped examples


def test_deliveries_show_local_time_with_offset(
    settings: Settings, deliver: Deliver, capsys: pytest.CaptureFixture[str]
) -> None:
    b = FileBuilder(file_number=1)
    b.anmeldung(1)
    verdict = deliver(b)
    offset = datetime.now(UTC).astimezone(_berlin()).strftime("%z")
    offset = f"{offset[:3]}:{offset[3:]}"
    listed = zvk_here(capsys, settings.home, "deliveries", "list").stdout.splitlines()
    received = listed[1].split("\t")[2]
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d\d:\d\d", received), received
    assert received.endswith(offset)
    shown = zvk_here(capsys, settings.home, "deliveries", "show", verdict.delivery_id).stdout
    assert re.search(rf"Eingang:\s+\S+ \S+ {re.escape(offset)}\n", shown), shown
    assert re.search(rf"Verarbeitet:\s+\S+ \S+ {re.escape(offset)}\n", shown), shown
    assert "UTC" not in shown


def _berlin() -> Any:
    from zoneinfo import ZoneInfo

    return ZoneInfo("Europe/Berlin")


@pytest.mark.e2e
def test_at_a_terminal_log_lines_go_to_the_log_file(settings: Settings, tmp_path: Path) -> None:
    """`zvk ingest` at a terminal: the terminal shows its summary line only; the log lines are
    in <home>/logs/zvk.log. Piped, the log lines go to standard error, not standard output."""
    b = FileBuilder(file_number=1)
    b.anmeldung(1)
    path = b.write(tmp_path / "a.xml")
    primary, secondary = os.openpty()
    process = subprocess.Popen(
        [*ZVK, "--home", str(settings.home), "ingest", str(path)],
        stdout=secondary,
        stderr=secondary,
        stdin=subprocess.DEVNULL,
    )
    os.close(secondary)
    seen = b""
    while True:
        try:
            chunk = os.read(primary, 65536)
        except OSError:  # the terminal is closed once the command has ended
            break
        if not chunk:
            break
        seen += chunk
    assert process.wait(timeout=120) == 0
    os.close(primary)
    terminal = seen.decode("utf-8", "replace")
    assert "a.xml\t" in terminal.replace("\r\n", "\n")
    assert '"event"' not in terminal, terminal
    logged = (settings.home / "logs" / "zvk.log").read_text(encoding="utf-8")
    assert '"event"' in logged

    b = FileBuilder(file_number=2)
    b.anmeldung(2)
    piped = subprocess.run(
        [*ZVK, "--home", str(settings.home), "ingest", str(b.write(tmp_path / "b.xml"))],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert piped.returncode == 0, piped.stderr
    assert piped.stdout.startswith("b.xml\t") and '"event"' not in piped.stdout
    assert '"event"' in piped.stderr
