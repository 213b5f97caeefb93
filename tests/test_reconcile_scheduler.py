"""The nightly run: scheduled in Europe/Berlin, once a night, one at a time, inside `zvk serve`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from ingest.cli.main import app
from ingest.reconciling import lock
from ingest.reconciling.models import ReconciliationRun, RunLock
from ingest.reconciling.runs import run_reconciliation
from ingest.reconciling.sample_year import StatementLine, write_camt053
from ingest.reconciling.scheduler import (
    BERLIN,
    NIGHTLY,
    nightly_slot,
    slot_name,
    start_scheduler,
)
from ingest.settings import Settings
from ingest.storing.db import make_engine, session_factory


def soon(seconds: float) -> str:
    return (datetime.now(BERLIN) + timedelta(seconds=seconds)).strftime("%H:%M:%S")


def with_reconcile(settings: Settings, **changes: Any) -> Settings:
    return settings.model_copy(update={"reconcile": settings.reconcile.model_copy(update=changes)})


def nightly_runs(sessions: sessionmaker[Session]) -> list[tuple[str | None, str]]:
    with sessions() as session:
        return [
            (r.slot, r.status)
            for r in session.scalars(
                select(ReconciliationRun)
                .where(ReconciliationRun.trigger == "nightly")
                .order_by(ReconciliationRun.id)
            )
        ]


def wait_until(condition: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"not reached within {timeout} s")


def test_two_schedulers_started_at_once_run_the_night_once(settings: Settings) -> None:
    """Two services' schedulers fire at the same second; one runs the night, the other skips."""
    configured = with_reconcile(settings, nightly_time=soon(3), payments_scan_seconds=3600)
    executed: list[object] = []
    done = threading.Lock()

    def listen(event: Any) -> None:
        if event.job_id == NIGHTLY:
            with done:
                executed.append(event.exception or event.retval)

    schedulers = [
        start_scheduler(configured, session_factory(make_engine(configured))) for _ in range(2)
    ]
    for scheduler in schedulers:
        scheduler.add_listener(listen, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)
    try:
        wait_until(lambda: len(executed) == 2)
    finally:
        for scheduler in schedulers:
            scheduler.shutdown()
    sessions = session_factory(make_engine(settings))
    day = nightly_slot(configured, datetime.now(UTC))
    assert nightly_runs(sessions) == [(slot_name(day), "done")]
    assert sorted(type(result).__name__ for result in executed) == ["NoneType", "RunSummary"]
    assert (settings.home / "reports" / "kasse" / day.isoformat() / "bericht.html").is_file()


def test_missed_nights_are_caught_up_once_at_start(settings: Settings) -> None:
    """After three missed nights the start-up catches up only the latest one (coalesced)."""
    sessions = session_factory(make_engine(settings))
    configured = with_reconcile(
        settings,
        nightly_time=(datetime.now(BERLIN) - timedelta(hours=1)).strftime("%H:%M"),
        payments_scan_seconds=3600,
    )
    latest = nightly_slot(configured, datetime.now(UTC))
    old = latest - timedelta(days=3)
    with sessions.begin() as session:
        session.add(
            ReconciliationRun(
                trigger="nightly",
                slot=slot_name(old),
                as_of=old,
                started_at=datetime.now(UTC) - timedelta(days=3),
                finished_at=datetime.now(UTC) - timedelta(days=3),
                status="done",
                findings=0,
            )
        )
    scheduler = start_scheduler(configured, sessions)
    try:
        wait_until(lambda: nightly_runs(sessions)[-1:] == [(slot_name(latest), "done")])
    finally:
        scheduler.shutdown()
    assert nightly_runs(sessions) == [(slot_name(old), "done"), (slot_name(latest), "done")]


def test_a_second_run_is_refused_while_the_lock_is_held(
    settings: Settings, database_url: str | None
) -> None:
    """While one run holds the lock, another is refused (CLI: exit status 1 and a message)."""
    sessions = session_factory(make_engine(settings))
    env = {"ZVK_LOG__LEVEL": "WARNING", **({"ZVK_DB__URL": database_url} if database_url else {})}
    with lock.held(sessions):
        with pytest.raises(lock.LockBusy):
            run_reconciliation(settings, sessions, date(2026, 2, 1))
        result = CliRunner().invoke(app, ["--home", str(settings.home), "reconcile"], env=env)
        assert result.exit_code == 1
        assert "another reconciliation is running" in result.stderr
        started = time.monotonic()
        with (
            pytest.raises(lock.LockBusy),
            lock.held(sessions, wait_seconds=60, cancelled=lambda: True),
        ):
            pass  # a stopping service does not wait the full minute
        assert time.monotonic() - started < 5
    assert run_reconciliation(settings, sessions, date(2026, 2, 1)) is not None


def test_a_stale_lock_of_a_crashed_run_is_taken_over(settings: Settings) -> None:
    """A lock row whose holder died (expired) does not block the next run."""
    sessions = session_factory(make_engine(settings))
    past = datetime.now(UTC) - timedelta(hours=5)
    with sessions.begin() as session:
        session.add(
            RunLock(name=lock.RECONCILE_LOCK, holder="gone:1:x", acquired_at=past, expires_at=past)
        )
    holder = lock.try_acquire(sessions)
    assert holder is not None
    assert lock.try_acquire(sessions) is None
    lock.release(sessions, holder)
    assert lock.current_holder(sessions) is None


@pytest.mark.e2e
def test_zvk_serve_runs_the_nightly_job(settings: Settings, database_url: str | None) -> None:
    """`zvk serve` with a nightly time a few seconds ahead imports the payments inbox, runs the
    reconciliation, writes the reports, and stops cleanly on SIGTERM."""
    inbox = settings.home / "payments"
    inbox.mkdir(exist_ok=True)  # `zvk init` makes it
    line = StatementLine(date(2026, 1, 10), Decimal("12.00"), "ZVK 100001/001 2025-12", "S", "R1")
    (inbox / "auszug.xml").write_bytes(write_camt053([line]))
    env = {
        **os.environ,
        "ZVK_RECONCILE__NIGHTLY_TIME": soon(6),
        "ZVK_RECONCILE__PAYMENTS_SCAN_SECONDS": "3600",
        "ZVK_INTAKE__SETTLE_SECONDS": "0.1",
        "ZVK_SFTP__ENABLED": "false",  # a fixed port would be taken by a parallel test run
    }
    if database_url:
        env["ZVK_DB__URL"] = database_url
    log = (settings.home / "serve.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "ingest", "--home", str(settings.home), "serve"],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
    )
    sessions = session_factory(make_engine(settings))
    try:
        wait_until(lambda: [s for _slot, s in nightly_runs(sessions)] == ["done"], timeout=90)
        day = date.fromisoformat(str(nightly_runs(sessions)[0][0]).removeprefix("nightly:"))
        report = settings.home / "reports" / "kasse" / day.isoformat() / "bericht.html"
        wait_until(report.is_file, timeout=30)
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=30)
        log.close()
    assert code == 0, (settings.home / "serve.log").read_text()
    assert [p.name for p in (inbox / "imported").rglob("*.xml")] == ["auszug.xml"]
    assert list(Path(settings.outbox / "mitglieder").glob("*/auswertungen/*/bericht.html"))
