"""Exactly once under SIGKILL, and several workers on one PostgreSQL database.

These tests start real `zvk` processes and kill them with SIGKILL at random moments.
"""

from __future__ import annotations

import csv
import io
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, select

from ingest.pipeline import Service
from ingest.samples.builder import FileBuilder
from ingest.settings import Settings
from ingest.storing.models import Delivery, DeliveryState
from ingest.validating.submission import Channel

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
ZVK = [sys.executable, "-m", "ingest"]
SENDER = "66667777"  # may report for member 100001
MEMBER_SENDER = "76641777"  # member 100002 reporting for its billing office 001
# Drop folder only: a fixed SFTP port would be taken when two test runs share the machine.
FAST = {
    "ZVK_INTAKE__RESCAN_SECONDS": "1",
    "ZVK_INTAKE__SETTLE_SECONDS": "0.3",
    "ZVK_SFTP__ENABLED": "false",
}


def make_files(folder: Path, count: int, rng: random.Random) -> dict[str, set[str]]:
    """Files of varying size; every fifth is broken in its trailer (rejected as a whole).

    Returns file name → the MeldungsIds that must be committed from it.
    """
    expected: dict[str, set[str]] = {}
    person = 0
    for n in range(1, count + 1):
        b = FileBuilder(file_number=n)
        size = rng.choice([5, 50, 400, 1500])
        for _ in range(size):
            person += 1
            b.anmeldung(person, date(2026, 10, 1))
        if n % 5 == 0:
            b.trailer_overrides["AnzahlMeldungen"] = "1"
        name = f"lieferung-{n:03d}.xml"
        b.write(folder / name)
        ids = {str(r.get("MeldungsId")) for r in b.reports}
        expected[name] = set() if n % 5 == 0 else ids
    return expected


def drop(source: Path, inbox: Path) -> None:
    """Appear in the inbox atomically, as a careful sender's rename would."""
    tmp = inbox / f".{source.name}.tmp"
    tmp.write_bytes(source.read_bytes())
    tmp.rename(inbox / source.name)


def start(home: Path, *args: str, log: str | None = None) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [*ZVK, "--home", str(home), *args],
        stdout=subprocess.DEVNULL,
        stderr=(home / (log or f"{args[0]}.log")).open("ab"),
        env={**os.environ, **FAST},
    )


def wait_until_serving(log: Path, process: subprocess.Popen[bytes]) -> None:
    """Kill only a running service: wait for this start's "serving" line (start-up takes ~2 s)."""
    seen = log.read_text(errors="replace").count('"serving"')
    deadline = time.monotonic() + 60
    while log.read_text(errors="replace").count('"serving"') == seen:
        assert process.poll() is None, "zvk serve exited"
        assert time.monotonic() < deadline, "zvk serve did not start"
        time.sleep(0.05)


def wait_until_checking(engine: Engine, timeout: float) -> bool:
    """Until a delivery is being checked (its state is committed before the pass begins)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with engine.connect() as connection:
            state = select(Delivery.id).where(Delivery.state == DeliveryState.CHECKING.value)
            if connection.execute(state.limit(1)).first() is not None:
                return True
        time.sleep(0.005)
    return False


def ledger(settings: Settings) -> list[Delivery]:
    service = Service.open(settings)
    with service.sessions() as session:
        return list(session.scalars(select(Delivery).order_by(Delivery.id)))


def wait_until_answered(settings: Settings, count: int, timeout: float) -> list[Delivery]:
    deadline = time.monotonic() + timeout
    rows: list[Delivery] = []
    while time.monotonic() < deadline:
        rows = ledger(settings)
        if len(rows) >= count and all(r.state == DeliveryState.ANSWERED.value for r in rows):
            return rows
        time.sleep(0.3)
    states = Counter(r.state for r in rows)
    raise AssertionError(f"after {timeout}s: {len(rows)} deliveries, states {dict(states)}")


def committed_ids(home: Path) -> list[str]:
    done = subprocess.run(
        [*ZVK, "--home", str(home), "export", "meldungen", "--format", "csv"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return [row["meldungs_id"] for row in csv.DictReader(io.StringIO(done.stdout))]


def protocols_per_delivery(settings: Settings, sender: str = SENDER) -> Counter[str]:
    found: Counter[str] = Counter()
    for path in (settings.outbox / sender).glob("*.protokoll.xml"):
        found[path.name.split(".")[-3]] += 1
    return found


def test_sigkill_at_random_moments_loses_and_doubles_nothing(
    settings: Settings, tmp_path: Path
) -> None:
    """30+ SIGKILLs of `zvk serve` while it works: one protocol each, reports exactly once.

    Most kills come after a random pause; every third comes as soon as a file is being
    checked, so that some land in the middle of a file however fast the machine is.
    """
    rng = random.Random(20261128)
    engine = create_engine(settings.database_url)
    source = tmp_path / "quelle"
    source.mkdir()
    expected = make_files(source, 40, rng)
    home, inbox = settings.home, settings.inbox / SENDER
    pending = sorted(source.iterdir())
    kills = 0
    stages: set[str] = set()  # unfinished states found right after a kill
    while kills < 30 or pending:
        process = start(home, "serve")
        wait_until_serving(home / "serve.log", process)
        for _ in range(rng.choice([0, 1, 1, 2, 3])):
            if pending:
                drop(pending.pop(0), inbox)
        if kills % 3 == 2:
            wait_until_checking(engine, timeout=5)
        else:
            time.sleep(rng.uniform(0.05, 2.0))
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        kills += 1
        stages.update({r.state for r in ledger(settings)} - {DeliveryState.ANSWERED.value})
        stages.update(["spool"] if list(settings.spool.glob("*.json")) else [])
    engine.dispose()
    process = start(home, "serve")
    try:
        rows = wait_until_answered(settings, len(expected), timeout=240)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    assert kills >= 30
    assert DeliveryState.CHECKING.value in stages, stages  # killed in the middle of a file
    assert sorted(r.filename for r in rows) == sorted(expected)  # none lost, none twice
    per_delivery = protocols_per_delivery(settings)
    assert set(per_delivery) == {r.delivery_id for r in rows}
    assert set(per_delivery.values()) == {1}
    committed = committed_ids(home)
    assert len(committed) == len(set(committed))
    assert set(committed) == set().union(*expected.values())
    by_name = {r.filename: r for r in rows}
    for name, ids in expected.items():
        # after a rejected file the next number is a gap: a hint (ZVVO061), still committed
        assert by_name[name].result in (("fehlerfrei", "hinweise") if ids else ("abgewiesen",))
    assert not list(settings.spool.glob("*.json"))
    assert not [p for p in inbox.iterdir() if p.is_file()]


@pytest.mark.skipif(not os.environ.get("ZVK_TEST_POSTGRES"), reason="needs PostgreSQL")
def test_three_workers_process_300_deliveries_exactly_once(
    settings: Settings, tmp_path: Path
) -> None:
    """Three `zvk worker` processes share 300 registered deliveries; each is done once.

    The deliveries come from two senders. Each sender's files are processed in the order they
    arrived (a later file may rest on an earlier one), so no file number is out of order
    (ZVVO061) and every result is `fehlerfrei`; the two senders are worked on in parallel.
    """
    service = Service.open(settings)
    for n in range(1, 301):
        sender = SENDER if n % 2 else MEMBER_SENDER
        b = FileBuilder(sender=sender, file_number=(n + 1) // 2)
        for person in (n, 1000 + n):
            ident = f"{sender}-{person}"
            if sender == SENDER:
                b.anmeldung(person, date(2026, 10, 1), meldungs_id=ident)
            else:
                b.anmeldung(
                    person, date(2026, 10, 1), meldungs_id=ident, member="100002", office="001"
                )
        path = b.write(tmp_path / f"d{n:03d}.xml")
        service.receive(path, sender_number=sender, test=False, channel=Channel.CLI)
    workers = [start(settings.home, "worker", log=f"worker-{i}.log") for i in range(3)]
    try:
        rows = wait_until_answered(settings, 300, timeout=300)
    finally:
        for w in workers:
            w.send_signal(signal.SIGTERM)
        for w in workers:
            assert w.wait(timeout=60) == 0
    assert len(rows) == 300 and {r.result for r in rows} == {"fehlerfrei"}
    answered: Counter[str] = Counter()
    by_worker: Counter[int] = Counter()
    for i in range(3):
        for line in (settings.home / f"worker-{i}.log").read_text().splitlines():
            event = json.loads(line) if line.startswith("{") else {}
            if event.get("event") == "delivery answered":
                answered[event["delivery_id"]] += 1
                by_worker[i] += 1
    assert len(answered) == 300 and set(answered.values()) == {1}
    assert len(by_worker) >= 2, by_worker  # the work was shared
    assert set(protocols_per_delivery(settings).values()) == {1}
    assert set(protocols_per_delivery(settings, MEMBER_SENDER).values()) == {1}
    assert (
        len(protocols_per_delivery(settings)) + len(protocols_per_delivery(settings, MEMBER_SENDER))
        == 300
    )
    committed = committed_ids(settings.home)
    assert len(committed) == 600 == len(set(committed))
