"""A dry run checks one report against the fund's data without writing and without waiting for
the write lock: it returns while another process holds a delivery's write transaction open."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from code_helpers import ok, one_report
from sqlalchemy import event, func, select
from sqlalchemy.engine import make_url

from ingest.errors import UsageError
from ingest.samples.builder import FileBuilder
from ingest.settings import Settings
from ingest.storing.db import make_engine
from ingest.storing.dry_run import check_against_stored
from ingest.storing.models import Delivery, FindingRow, Insurance, Period, Person, Report
from ingest.validating.records import ReportData
from ingest.validating.submission import Channel, Submission
from tests.conftest import SENDER, Deliver

PERIOD = "2026-10"
# The other process: opens a write transaction as a delivery does, says so, and keeps it open.
HOLDER = """
import sys, time
url = sys.argv[1]
if url.startswith("sqlite"):
    import sqlite3
    db = sqlite3.connect(sys.argv[2], isolation_level=None, timeout=30)
    db.execute("BEGIN IMMEDIATE")
else:
    import psycopg
    db = psycopg.connect(url)
    db.execute("LOCK TABLE reports, insurances IN ROW EXCLUSIVE MODE")
    db.execute("ANALYZE persons")
db.execute(
    "INSERT INTO persons (id, versicherungsnummer, family_name, first_name, birth_date, gender)"
    " VALUES (900001, '9999999999', 'Halter', 'Hanna', '1980-01-01', 'W')"
)
print("held", flush=True)
time.sleep(120)
"""


def submission() -> Submission:
    return Submission(
        received_at=datetime.now(UTC),
        test=False,
        channel=Channel.PORTAL,
        file_kind="Monatsmeldung",
        period=PERIOD,
        sender=SENDER,
    )


def anmeldung(settings: Settings, tmp_path: Path, seed: int) -> ReportData:
    b = FileBuilder(period=PERIOD)
    b.anmeldung(seed, date(2026, 10, 1), meldungs_id=f"D{seed}")
    return one_report(settings, tmp_path, b)


@pytest.fixture
def registered(deliver: Deliver) -> None:
    """Person 1 is insured at 100001/001 since 1 October 2026."""
    b = FileBuilder(period=PERIOD)
    b.anmeldung(1, date(2026, 10, 1))
    ok(deliver, b)


@pytest.fixture
def held(settings: Settings, registered: None) -> Iterator[subprocess.Popen[str]]:
    """Another process holding a write transaction on the fund's database."""
    url = settings.database_url
    child = subprocess.Popen(
        [sys.executable, "-c", HOLDER, url.replace("+psycopg", ""), make_url(url).database or ""],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "held"
        yield child
    finally:
        child.kill()
        child.wait()


def test_dry_run_returns_while_a_delivery_holds_the_write_transaction(
    settings: Settings, tmp_path: Path, held: subprocess.Popen[str]
) -> None:
    """With a write transaction open in another process, a dry run answers within 2 s: ZVME130
    for the Anmeldung of a person whose relationship is open, nothing for a new person."""
    assert held.poll() is None
    started = time.monotonic()
    findings = check_against_stored(
        settings, anmeldung(settings, tmp_path, 1), submission(), SENDER
    )
    fresh = check_against_stored(settings, anmeldung(settings, tmp_path, 2), submission(), SENDER)
    elapsed = time.monotonic() - started
    assert held.poll() is None  # the transaction was held throughout
    assert elapsed < 2.0
    assert [(f.code, f.field) for f in findings] == [("ZVME130", "Beginn")]
    assert fresh == []


def counts(settings: Settings) -> list[int]:
    engine = make_engine(settings)
    try:
        with engine.connect() as connection:
            return [
                connection.scalar(select(func.count()).select_from(model)) or 0
                for model in (Person, Report, Period, Insurance, Delivery, FindingRow)
            ]
    finally:
        engine.dispose()


def test_dry_run_writes_nothing(settings: Settings, tmp_path: Path, registered: None) -> None:
    """A dry run of an accepted Anmeldung of a new person, and of a refused one, leaves every
    table as it was, and sends no writing statement to the database."""
    before = counts(settings)
    engine = make_engine(settings)
    writes: list[str] = []

    def remember(_conn, _cursor, statement, _params, _context, _many) -> None:  # type: ignore[no-untyped-def]
        if statement.lstrip().split()[0].upper() in ("INSERT", "UPDATE", "DELETE", "ANALYZE"):
            writes.append(statement)

    event.listen(engine, "before_cursor_execute", remember)
    try:
        assert (
            check_against_stored(engine, anmeldung(settings, tmp_path, 3), submission(), SENDER)
            == []
        )
        refused = check_against_stored(
            engine, anmeldung(settings, tmp_path, 1), submission(), SENDER
        )
        assert [f.code for f in refused] == ["ZVME130"]
    finally:
        event.remove(engine, "before_cursor_execute", remember)
        engine.dispose()
    assert writes == []
    assert counts(settings) == before


def test_dry_run_refuses_the_writer_engine(settings: Settings, tmp_path: Path) -> None:
    """The pipeline's writer engine would wait for the write lock (SQLite): refused."""
    engine = make_engine(settings, writer=True)
    try:
        if engine.dialect.name != "sqlite":
            pytest.skip("only SQLite's writer takes the lock when a transaction begins")
        with pytest.raises(UsageError):
            check_against_stored(engine, anmeldung(settings, tmp_path, 3), submission(), SENDER)
    finally:
        engine.dispose()
