"""One sender's bad file never stops the service for the others.

A delivery that fails at any stage (claim, registration, check, protocol) fails alone: its bytes
go to the quarantine with a reason, its sender is answered where possible, and a good file of
another sender that arrives beside it is still processed. Real files, a real `zvk serve` or the
service's threads, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from conftest import MEMBER_SENDER, SENDER, wait_for
from lxml import etree
from sqlalchemy import select

import ingest.pipeline.worker
from ingest.receiving import intake
from ingest.samples.builder import FileBuilder
from ingest.service import serve
from ingest.settings import Settings, load_settings
from ingest.storing.db import make_engine, session_factory
from ingest.storing.models import Delivery
from ingest.validating.checker import FileCheck

pytestmark = pytest.mark.e2e
ZVK = [sys.executable, "-m", "ingest"]
NS = {"p": "urn:zvk-ingest:protokoll:1"}
FAST = {
    "ZVK_INTAKE__RESCAN_SECONDS": "1",
    "ZVK_INTAKE__SETTLE_SECONDS": "0.3",
    "ZVK_SFTP__ENABLED": "false",
}


def good_file(path: Path) -> Path:
    """A valid file of the member sender (100002/001), which is not the poisoned sender."""
    builder = FileBuilder(sender=MEMBER_SENDER, member="100002", office="001")
    builder.anmeldung(7)
    return builder.write(path)


def poison_file(path: Path | bytes) -> None:
    builder = FileBuilder()
    builder.anmeldung(1)
    data_path = Path(os.fsdecode(path))
    builder.write(data_path)


def codes_of(protocol: Path) -> list[str]:
    tree = etree.parse(str(protocol))
    return [str(b.get("Code")) for b in tree.findall("p:Befund", NS)]


def ledger(settings: Settings) -> list[Delivery]:
    with session_factory(make_engine(settings))() as session:
        return list(session.scalars(select(Delivery).order_by(Delivery.id)))


@contextmanager
def serving(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """The service's threads (watcher, worker) in this process, so a stage can be broken."""
    for key, value in FAST.items():
        monkeypatch.setenv(key, value)
    fast = load_settings(settings.home)
    stop = threading.Event()
    thread = threading.Thread(target=serve, args=(fast, stop), name="serve")
    thread.start()
    try:
        yield fast
    finally:
        stop.set()
        thread.join(30)
        assert not thread.is_alive()


@pytest.fixture
def server(settings: Settings) -> Iterator[Path]:
    """`zvk serve` as a real process on the fixture's home; yields its log."""
    log_path = settings.home / "serve.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [*ZVK, "--home", str(settings.home), "serve"],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **FAST},
        )
        try:
            deadline = time.monotonic() + 60
            while '"serving"' not in log_path.read_text(errors="replace"):
                assert process.poll() is None, log_path.read_text(errors="replace")
                assert time.monotonic() < deadline
                time.sleep(0.05)
            yield log_path
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


def test_a_name_that_is_not_utf8_is_taken_and_the_others_go_on(
    settings: Settings, server: Path
) -> None:
    """A file whose name is no UTF-8 is processed under its escaped name; a good file of
    another sender that arrives after it is processed as well."""
    inbox = os.fsencode(settings.inbox / SENDER)
    poison_file(inbox + b"/gift\xff\xfe.xml")
    time.sleep(1.5)  # a rescan or two with the poison in the spool
    good_file(settings.inbox / MEMBER_SENDER / "gut.xml")
    wait_for("gut.*.protokoll.xml", settings.outbox / MEMBER_SENDER)
    protocol = wait_for("gift*.protokoll.xml", settings.outbox / SENDER)
    assert codes_of(protocol) == []
    names = sorted(d.filename for d in ledger(settings))
    assert names == ["gift\\xff\\xfe.xml", "gut.xml"]
    tree = etree.parse(str(protocol))
    assert tree.findtext("p:Dateiname", namespaces=NS) == "gift\\xff\\xfe.xml"
    shown = subprocess.run(
        [*ZVK, "--home", str(settings.home), "deliveries", "list"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "gift\\xff\\xfe.xml" in shown
    assert list(settings.spool.glob("*.json")) == []


def injected() -> PermissionError:
    return PermissionError(errno.EACCES, "injected")


def _break_claim(monkeypatch: pytest.MonkeyPatch) -> None:
    real = intake.claim

    def claim(settings: Settings, source: Path, **kwargs: Any) -> intake.Arrival | None:
        if "gift" in source.name:
            raise injected()
        return real(settings, source, **kwargs)

    monkeypatch.setattr(intake, "claim", claim)


def _break_archive(monkeypatch: pytest.MonkeyPatch) -> None:
    real = intake.archive

    def archive(settings: Settings, arrival: intake.Arrival) -> intake.Archived:
        if "gift" in arrival.filename:
            raise injected()
        return real(settings, arrival)

    monkeypatch.setattr(intake, "archive", archive)


def _break_check(monkeypatch: pytest.MonkeyPatch) -> None:
    real = FileCheck.run

    def run(self: FileCheck) -> Any:
        if "gift" in self.path.name:
            raise injected()
        return real(self)

    monkeypatch.setattr(FileCheck, "run", run)


ANSWER_ATTEMPTS: list[float] = []


def _break_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    real = ingest.pipeline.worker.write_protocol
    ANSWER_ATTEMPTS.clear()

    def write_protocol(outbox: Path, verdict: Any) -> Path:
        if "gift" in verdict.filename:
            ANSWER_ATTEMPTS.append(time.monotonic())
            raise injected()
        return real(outbox, verdict)

    monkeypatch.setattr(ingest.pipeline.worker, "write_protocol", write_protocol)


BREAK = {
    "claim": _break_claim,
    "register": _break_archive,
    "check": _break_check,
    "answer": _break_answer,
}


@pytest.mark.parametrize("stage", list(BREAK))
def test_a_failure_at_any_stage_fails_that_delivery_alone(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, stage: str
) -> None:
    BREAK[stage](monkeypatch)
    with serving(settings, monkeypatch):
        poison_file(settings.inbox / SENDER / "gift.xml")
        time.sleep(1.5)
        good_file(settings.inbox / MEMBER_SENDER / "gut.xml")
        wait_for("gut.*.protokoll.xml", settings.outbox / MEMBER_SENDER)
        if stage != "answer":
            protocol = wait_for("gift.*.protokoll.xml", settings.outbox / SENDER)
            assert codes_of(protocol) == ["ZVSY999"]
        else:
            time.sleep(4.0)  # passes that find the unanswered delivery
    assert not (settings.inbox / SENDER / "gift.xml").exists()
    assert list(settings.spool.glob("*.json")) == []
    deliveries = {d.filename: d for d in ledger(settings)}
    assert deliveries["gut.xml"].state == "answered"
    reasons = list(settings.quarantine.rglob("*.grund.txt"))
    if stage in ("claim", "register"):
        # the bytes and the reason are in the quarantine, the ledger row points at them and
        # the protocol was written from it
        [reason] = reasons
        assert json.loads(reason.read_text())["grund"] == "PermissionError (EACCES)"
        poisoned = deliveries["gift.xml"]
        assert poisoned.state == "failed" and poisoned.error == "PermissionError (EACCES)"
        assert poisoned.archive_path.startswith("quarantine/")
        kept = settings.home / poisoned.archive_path
        assert kept.parent == reason.parent and kept.read_bytes().startswith(b"<?xml")
        assert poisoned.protocol_path is not None and poisoned.delivery_id in str(protocol)
    elif stage == "check":
        poisoned = deliveries["gift.xml"]
        assert poisoned.state == "failed"
        assert poisoned.error == "PermissionError (EACCES)"
    else:
        poisoned = deliveries["gift.xml"]
        assert poisoned.state == "committed" and poisoned.protocol_path is None
        assert poisoned.error == "protocol not written: PermissionError (EACCES)"
        # tried again after 1, 2, 4 … seconds, not at every pass
        assert 2 <= len(ANSWER_ATTEMPTS) <= 4, ANSWER_ATTEMPTS
