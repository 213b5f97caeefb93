"""Deactivated senders and members, as operators switch them off: `zvk senders|members
deactivate|activate`, the real `sftp` client against `zvk serve`, the real drop folder."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from conftest import SENDER, Deliver, codes, wait_for
from test_sftp_e2e import (  # noqa: F401  (fixtures)
    Keys,
    Server,
    good_file,
    home,
    keys,
    protocol_fields,
    server,
    start_server,
)
from zvk_inprocess import zvk_here

from ingest.samples.builder import FileBuilder
from ingest.settings import Settings

pytestmark = pytest.mark.e2e


def wait_for_text(path: Path, text: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.is_file() and text in path.read_text(encoding="utf-8", errors="replace"):
            return
        time.sleep(0.1)
    raise AssertionError(f"{text!r} not in {path} after {timeout}s")


def test_a_deactivated_sender_cannot_log_in_nor_drop_a_file(
    server: Server,  # noqa: F811  (the fixture)
    keys: Keys,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = server.home
    assert server.sftp(keys.sender, "ls /inbox").returncode == 0
    done = zvk_here(capsys, root, "senders", "deactivate", SENDER)
    assert done.returncode == 0 and "inactive" in done.stdout, done.stderr
    shown = zvk_here(capsys, root, "senders", "show", SENDER)
    assert "inaktiv" in shown.stdout and "100001" in shown.stdout

    refused = server.sftp(keys.sender, "ls /inbox")
    assert refused.returncode != 0
    log = root / "serve.log"
    wait_for_text(log, "sftp login of a deactivated sender refused")

    # The drop folder: the file is answered (nothing lost) and refused with ZVVO021.
    good_file(root / "inbox" / SENDER, name="gesperrt.xml")
    protocol = wait_for("gesperrt.*.protokoll.xml", root / "outbox" / SENDER)
    fields = protocol_fields(protocol)
    assert fields["Ergebnis"] == "abgewiesen" and "ZVVO021" in fields["codes"]
    wait_for_text(log, "drop of a deactivated sender refused")

    done = zvk_here(capsys, root, "senders", "activate", SENDER)
    assert done.returncode == 0 and "active" in done.stdout
    assert server.sftp(keys.sender, "ls /inbox").returncode == 0


def test_a_deactivated_member_gets_zvme100(
    settings: Settings, deliver: Deliver, capsys: pytest.CaptureFixture[str]
) -> None:
    listed = zvk_here(capsys, settings.home, "members", "list")
    assert listed.returncode == 0
    assert "100001\taktiv\t001, 002\tStadt Musterhausen" in listed.stdout.splitlines()
    done = zvk_here(capsys, settings.home, "members", "deactivate", "100001")
    assert done.returncode == 0, done.stderr
    assert "100001\tinaktiv" in zvk_here(capsys, settings.home, "members", "list").stdout
    b = FileBuilder(file_number=1)
    b.anmeldung(1)
    assert "ZVME100" in codes(deliver(b))
    assert zvk_here(capsys, settings.home, "members", "activate", "100001").returncode == 0
    b = FileBuilder(file_number=2)
    b.anmeldung(2)
    assert "ZVME100" not in codes(deliver(b))


def test_members_rename_and_senders_show(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    done = zvk_here(capsys, settings.home, "members", "rename", "100001", "--name", "Neu")
    assert done.returncode == 0, done.stderr
    assert (
        "100001\taktiv\t001, 002\tNeu" in zvk_here(capsys, settings.home, "members", "list").stdout
    )
    shown = zvk_here(capsys, settings.home, "senders", "show", SENDER)
    assert shown.returncode == 0
    assert "Meldet für:     100001" in shown.stdout and "Passwort:       keins" in shown.stdout
