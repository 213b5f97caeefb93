"""Shared fixtures: a real home on disk with a registered member and senders, on SQLite or,
with ``ZVK_TEST_POSTGRES`` set to a server URL, on a fresh PostgreSQL database per test."""

from __future__ import annotations

import contextlib
import os
import queue
import secrets
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from ingest.answering.protocol import Verdict, validate_xml
from ingest.home import ensure_host_keys, initialise, keep_private, sender_folders
from ingest.pipeline import Service
from ingest.samples.builder import FileBuilder
from ingest.settings import Settings, load_settings
from ingest.storing.db import make_engine, migrate, session_factory
from ingest.storing.registry import Grant, add_member, add_sender

SENDER = "66667777"  # data center, may report for member 100001 (all billing offices)
MEMBER_SENDER = "76641777"  # a member reporting for itself: 100002/001 only
OTHER_SENDER = "15000002"  # registered, authorised for nothing

POSTGRES = os.environ.get("ZVK_TEST_POSTGRES")  # e.g. postgresql+psycopg://postgres@127.0.0.1/test


def pytest_configure(config: pytest.Config) -> None:
    """`zvk serve` started by a test serves no portal unless the test asks for it with a port
    of its own: CI runs the SQLite and the PostgreSQL suite side by side, and both would bind
    the portal's default port 8080."""
    os.environ.setdefault("ZVK_PORTAL__ENABLED", "false")


def pytest_report_header() -> str:
    return f"database: {'PostgreSQL ' + POSTGRES if POSTGRES else 'SQLite'}"


@pytest.fixture(scope="session")
def host_keys(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """SSH host keys made once: a 3072-bit RSA key takes 0.1 to 0.5 s to generate, and most
    tests need a home but not a key of its own (`zvk init` keeps keys it finds)."""
    folder = tmp_path_factory.mktemp("host-keys")
    ensure_host_keys(folder)
    return folder


def give_host_keys(host_keys: Path, keys: Path) -> None:
    """Put the session's host keys into a home's key folder before it is initialised."""
    keys.mkdir(parents=True, exist_ok=True)
    for key in host_keys.iterdir():
        shutil.copy2(key, keys / key.name)  # with its mode (0600)


class _Databases:
    """Fresh PostgreSQL databases, each a copy of one migrated once, made ahead in a thread.

    A copy is quicker than running the migrations again, and ``CREATE DATABASE`` spends most of
    its quarter second waiting for the disk: made while the previous test runs, it costs that
    test nothing.
    """

    AHEAD = 2

    def __init__(self, url: str) -> None:
        self.admin = create_engine(url, isolation_level="AUTOCOMMIT")
        self.template = f"zvk_template_{secrets.token_hex(6)}"
        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{self.template}"'))
        engine = create_engine(make_url(url).set(database=self.template))
        migrate(engine)
        engine.dispose()
        self._ready: queue.Queue[str | BaseException] = queue.Queue(maxsize=self.AHEAD)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._make, name="test-databases", daemon=True)
        self._thread.start()

    def _make(self) -> None:
        while not self._stop.is_set():
            name = f"zvk_t_{secrets.token_hex(6)}"
            made: str | BaseException
            try:
                self._copy(name)
                made = name
            except BaseException as exc:  # handed to the test that waits for it
                made = exc
            while not self._stop.is_set():
                try:
                    self._ready.put(made, timeout=0.2)
                    break
                except queue.Full:
                    continue
            else:
                if isinstance(made, str):
                    self.drop(made)

    def _copy(self, name: str) -> None:
        for attempt in range(50):
            try:
                with self.admin.connect() as conn:
                    conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"'))
                return
            except OperationalError as exc:
                # the migrating connection's server process may still be on its way out
                if "being accessed by other users" not in str(exc) or attempt == 49:
                    raise
                time.sleep(0.1)

    def take(self) -> str:
        made = self._ready.get(timeout=120)
        if isinstance(made, BaseException):
            raise made
        return made

    def drop(self, name: str) -> None:
        with self.admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        while not self._ready.empty():
            made = self._ready.get()
            if isinstance(made, str):
                self.drop(made)
        self.drop(self.template)
        self.admin.dispose()


@pytest.fixture(scope="session")
def postgres_databases() -> Iterator[_Databases | None]:
    """The source of fresh PostgreSQL databases; ``None`` on SQLite."""
    if not POSTGRES:
        yield None
        return
    databases = _Databases(POSTGRES)
    try:
        yield databases
    finally:
        databases.close()


@pytest.fixture
def database_url(postgres_databases: _Databases | None) -> Iterator[str | None]:
    """None (SQLite in the home) or the URL of a fresh PostgreSQL database for this test,
    already at the newest migration."""
    if postgres_databases is None or not POSTGRES:
        yield None
        return
    name = postgres_databases.take()
    try:
        yield make_url(POSTGRES).set(database=name).render_as_string(hide_password=False)
    finally:
        postgres_databases.drop(name)


def _prepare_home(s: Settings, host_keys: Path) -> None:
    """Initialise the home of ``s`` and register the fixture's members and senders."""
    give_host_keys(host_keys, s.keys)
    initialise(s)
    engine = make_engine(s)
    with session_factory(engine).begin() as session:
        add_member(session, "100001", "Stadt Musterhausen", ["001", "002"])
        add_member(session, "100002", "Landkreis Beispiel", ["001"])
        add_sender(session, SENDER, "Rechenzentrum Nord", "rechenzentrum", [Grant("100001", None)])
        add_sender(
            session, MEMBER_SENDER, "Landkreis Beispiel", "mitglied", [Grant("100002", "001")]
        )
        add_sender(session, OTHER_SENDER, "Rechenzentrum Süd", "rechenzentrum", [])
    engine.dispose()
    for number in (SENDER, MEMBER_SENDER, OTHER_SENDER):
        sender_folders(s, number)


@pytest.fixture(scope="session")
def template_home(tmp_path_factory: pytest.TempPathFactory, host_keys: Path) -> Path:
    """The `settings` fixture's SQLite home, made once: each test gets a copy of it, which is
    quicker than running the migrations and the registrations again."""
    home = tmp_path_factory.mktemp("template") / "home"
    s = load_settings(home)
    _prepare_home(s, host_keys)
    engine = make_engine(s)
    with engine.connect() as connection:  # everything in the database file, nothing in the WAL
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return home


@pytest.fixture
def settings(
    tmp_path: Path, database_url: str | None, host_keys: Path, template_home: Path
) -> Settings:
    """An initialised home with members 100001 (001, 002) and 100002 (001) and three senders."""
    if not database_url:
        shutil.copytree(template_home, tmp_path / "home", symlinks=True)
        keep_private()  # as `zvk init` leaves the process
        return load_settings(tmp_path / "home")
    s = load_settings(tmp_path / "home", db={"url": database_url})
    _prepare_home(s, host_keys)
    # Processes started by a test (zvk serve, zvk worker) read the same database from the home.
    with (s.home / "zvk.toml").open("a", encoding="utf-8") as config:
        config.write(f'\n[db]\nurl = "{database_url}"\n')
    return s


@pytest.fixture
def service(settings: Settings) -> Service:
    return Service.open(settings)


Deliver = Callable[..., Verdict]


@pytest.fixture
def deliver(service: Service, tmp_path: Path) -> Deliver:
    """Write a builder's file and ingest it as if it had arrived in the sender's inbox."""
    counter = iter(range(1, 1_000_000))

    def _deliver(
        builder: FileBuilder | bytes,
        *,
        sender: str = SENDER,
        test: bool = False,
        name: str | None = None,
    ) -> Verdict:
        path = tmp_path / "out" / (name or f"datei-{next(counter)}.xml")
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(builder, FileBuilder):
            builder.write(path)
        else:
            path.write_bytes(builder)
        verdict = service.ingest(path, sender_number=sender, test=test)
        assert_protocol_valid(service.settings, verdict)
        return verdict

    return _deliver


def assert_protocol_valid(settings: Settings, verdict: Verdict) -> None:
    """Every protocol the service writes is valid against protokoll-1.xsd."""
    written = list(
        (settings.outbox / verdict.sender).glob(f"*.{verdict.delivery_id}.protokoll.xml")
    )
    assert len(written) == 1, written
    assert validate_xml(written[0].read_bytes()) == []
    assert written[0].with_suffix(".txt").is_file()


def codes(verdict: Verdict) -> list[str]:
    return [f.code for f in verdict.findings]


def finding(verdict: Verdict, code: str):  # type: ignore[no-untyped-def]
    matches = [f for f in verdict.findings if f.code == code]
    assert matches, f"{code} not in {codes(verdict)}"
    return matches[0]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On PostgreSQL (ZVK_TEST_POSTGRES) run the tests that use a database; the rest ran on SQLite.

    A test uses the database when it asks, directly or through another fixture, for
    ``database_url`` (``settings``, ``service``, ``deliver``, the CLI tests' ``home``).
    """
    if not POSTGRES:
        return
    keep = [i for i in items if "database_url" in getattr(i, "fixturenames", ())]
    dropped = [i for i in items if "database_url" not in getattr(i, "fixturenames", ())]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep


def free_port() -> int:
    """A loopback port no socket is bound to at the moment of asking."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def taken_port() -> Iterator[int]:
    """A loopback port that a listening socket holds until the block ends."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        yield int(taken.getsockname()[1])


def wait_for(pattern: str, folder: Path, timeout: float = 30.0) -> Path:
    """The first file in ``folder`` matching ``pattern``, waited for up to ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = sorted(folder.glob(pattern))
        if found:
            return found[0]
        time.sleep(0.05)
    raise AssertionError(f"nothing matching {pattern} in {folder} after {timeout}s")
