"""Every refused or quarantined file has its ledger row, and its protocol is written from it.

Whatever way a file is refused before it could be checked (an inbox entry that is no regular
file, a hard link, a file that cannot be claimed, archived or registered), the LieferungsId in
its protocol is one the ledger knows: `zvk deliveries show` finds it and says where its bytes
are (the quarantine) or that none were kept. Only a transient failure of the database lets the
file wait; a row that cannot be written for a reason of its own leaves the file in the
quarantine with its reason and no protocol. Real files, the service's threads, a real `zvk`.
"""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import SENDER, wait_for
from lxml import etree
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from test_poison import NS, codes_of, ledger, poison_file, serving
from zvk_inprocess import zvk_in

import ingest.pipeline.ledger
from ingest.pipeline.ledger import Ledger
from ingest.receiving import intake
from ingest.settings import Settings
from ingest.storing.db import make_engine, session_factory
from ingest.storing.models import Delivery, DeliveryState

pytestmark = pytest.mark.e2e
ZVK = [sys.executable, "-m", "ingest"]
FINAL = (DeliveryState.ANSWERED.value, DeliveryState.FAILED.value)


def _symlink(settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "ziel.xml"
    poison_file(target)
    (settings.inbox / SENDER / "gift.xml").symlink_to(target)


def _fifo(settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    os.mkfifo(settings.inbox / SENDER / "gift.xml")


def _hard_link(settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    own = tmp_path / "eigen.xml"
    poison_file(own)
    os.link(own, settings.inbox / SENDER / "gift.xml")


def _injected() -> PermissionError:
    return PermissionError(errno.EACCES, "injected")


def _claim_fails(settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = intake.claim

    def claim(settings: Settings, source: Path, **kwargs: Any) -> intake.Arrival | None:
        if "gift" in source.name:
            raise _injected()
        return real(settings, source, **kwargs)

    monkeypatch.setattr(intake, "claim", claim)
    poison_file(settings.inbox / SENDER / "gift.xml")


def _archive_fails(settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = intake.archive

    def archive(settings: Settings, arrival: intake.Arrival) -> intake.Archived:
        if "gift" in arrival.filename:
            raise _injected()
        return real(settings, arrival)

    monkeypatch.setattr(intake, "archive", archive)
    poison_file(settings.inbox / SENDER / "gift.xml")


def _registration_fails(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Archived, then the ledger row of the received file cannot be made."""
    real = ingest.pipeline.ledger.ledger_name

    def ledger_name(name: str) -> str:
        if "gift" in name:
            raise ValueError("injected")
        return real(name)

    monkeypatch.setattr(ingest.pipeline.ledger, "ledger_name", ledger_name)
    poison_file(settings.inbox / SENDER / "gift.xml")


Setup = Callable[[Settings, Path, pytest.MonkeyPatch], None]
# kind -> (setup, code, whether the bytes are kept in the quarantine)
KINDS: dict[str, tuple[Setup, str, bool]] = {
    "symlink": (_symlink, "ZVDA006", False),
    "fifo": (_fifo, "ZVDA006", False),
    "hard_link": (_hard_link, "ZVDA006", True),
    "claim": (_claim_fails, "ZVSY999", True),
    "archive": (_archive_fails, "ZVSY999", True),
    "registration": (_registration_fails, "ZVSY999", True),
}


def zvk(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    """``zvk`` as a process of its own, which the stages this test breaks do not reach."""
    return subprocess.run(
        [*ZVK, "--home", str(settings.home), *args], capture_output=True, text=True, check=False
    )


def answered_in_ledger(settings: Settings, timeout: float = 30.0) -> None:
    """Wait until the ledger's one delivery has its protocol and its final state."""
    engine = make_engine(settings)
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with session_factory(engine)() as session:
                rows = list(session.scalars(select(Delivery)))
            if len(rows) == 1 and rows[0].protocol_path and rows[0].state in FINAL:
                return
            time.sleep(0.05)
    finally:
        engine.dispose()
    raise AssertionError(f"no answered delivery in the ledger after {timeout}s")


@pytest.mark.parametrize("kind", list(KINDS))
def test_the_protocol_of_a_refused_file_names_a_delivery_of_the_ledger(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, kind: str
) -> None:
    setup, code, kept = KINDS[kind]
    with serving(settings, monkeypatch):
        setup(settings, tmp_path, monkeypatch)
        protocol = wait_for("gift.*.protokoll.xml", settings.outbox / SENDER)
        answered_in_ledger(settings)
    assert codes_of(protocol) == [code]
    delivery_id = etree.parse(str(protocol)).findtext("p:LieferungsId", namespaces=NS)
    assert delivery_id
    [row] = ledger(settings)
    assert row.delivery_id == delivery_id and row.filename == "gift.xml"
    assert row.protocol_path and Path(row.protocol_path).name == protocol.name
    assert row.state == ("failed" if code == "ZVSY999" else "answered")
    assert not os.path.lexists(settings.inbox / SENDER / "gift.xml")
    assert list(settings.spool.glob("*.json")) == []
    shown = zvk_in(settings.home, "deliveries", "show", delivery_id)
    assert shown.returncode == 0, shown.stderr
    assert code in shown.stdout
    if kept:
        assert row.archive_path.startswith("quarantine/")
        assert (settings.home / row.archive_path).read_bytes().startswith(b"<?xml")
        assert "Quarantäne" in shown.stdout
    else:
        assert row.archive_path == ""
        assert "nichts aufbewahrt" in shown.stdout
    assert list(settings.quarantine.rglob("*.grund.txt"))


def test_a_quarantined_file_is_reprocessed_from_its_bytes(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """`zvk reprocess` of a file quarantined by an error of the service checks it now."""
    with serving(settings, monkeypatch):
        _archive_fails(settings, tmp_path, monkeypatch)
        wait_for("gift.*.protokoll.xml", settings.outbox / SENDER)
        answered_in_ledger(settings)
    [row] = ledger(settings)
    again = zvk(settings, "reprocess", row.delivery_id)
    assert again.returncode == 0, again.stderr
    assert f"{row.delivery_id}\tfehlerfrei" in again.stdout
    [rerun] = ledger(settings)
    assert rerun.state == "answered" and rerun.archive_path.startswith("archive/")
    assert (settings.home / rerun.archive_path).read_bytes() == (
        settings.home / row.archive_path
    ).read_bytes()


def test_a_refused_entry_that_is_no_regular_file_cannot_be_reprocessed(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with serving(settings, monkeypatch):
        _symlink(settings, tmp_path, monkeypatch)
        wait_for("gift.*.protokoll.xml", settings.outbox / SENDER)
        answered_in_ledger(settings)
    [row] = ledger(settings)
    again = zvk(settings, "reprocess", row.delivery_id)
    assert again.returncode == 2
    assert "nothing of it was kept" in again.stderr and "Traceback" not in again.stderr


def test_a_refusal_waits_while_the_database_is_unavailable(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """While the ledger cannot be written the entry stays in the inbox and gets no protocol;
    once it can, the entry is refused with its row."""
    real = Ledger.enter_refusal
    failing = {"on": True}

    def enter_refusal(self: Ledger, refused: Any) -> None:
        if failing["on"]:
            raise OperationalError("INSERT", {}, Exception("database is locked"))
        real(self, refused)

    monkeypatch.setattr(Ledger, "enter_refusal", enter_refusal)
    with serving(settings, monkeypatch):
        _fifo(settings, tmp_path, monkeypatch)
        time.sleep(3.0)  # several rescans
        assert os.path.lexists(settings.inbox / SENDER / "gift.xml")
        assert not list((settings.outbox / SENDER).glob("gift.*"))
        failing["on"] = False
        protocol = wait_for("gift.*.protokoll.xml", settings.outbox / SENDER)
    [row] = ledger(settings)
    assert row.delivery_id in protocol.name
    assert len(list(settings.quarantine.rglob("*.grund.txt"))) == 1


def test_a_refusal_the_ledger_refuses_stays_in_the_quarantine_without_protocol(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def enter_refusal(self: Ledger, refused: Any) -> None:
        raise ValueError("kaputt")

    monkeypatch.setattr(Ledger, "enter_refusal", enter_refusal)
    with serving(settings, monkeypatch):
        _archive_fails(settings, tmp_path, monkeypatch)
        deadline = time.monotonic() + 20
        while not list(settings.quarantine.rglob("*.grund.txt")):
            assert time.monotonic() < deadline
            time.sleep(0.1)
        time.sleep(1.5)
    assert ledger(settings) == []
    assert not list((settings.outbox / SENDER).glob("gift.*"))
    assert list(settings.spool.glob("*.json")) == []
    [reason] = settings.quarantine.rglob("*.grund.txt")
    kept = [p for p in reason.parent.iterdir() if p.name.endswith(".data")]
    assert kept and kept[0].read_bytes().startswith(b"<?xml")
