"""Engine, sessions and migrations for SQLite (default) and any other SQLAlchemy URL."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import closing, contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any

import structlog
from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from ingest.errors import ConfigurationError
from ingest.settings import Settings, refuse_file_as_home

if TYPE_CHECKING:
    from alembic.config import Config

log = structlog.stdlib.get_logger("ingest.db")

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# The newest migration, which the code expects the database to be at (a test holds it to the
# migration scripts; reading those at every start would cost more than the one query).
SCHEMA_HEADS = frozenset({"0006"})


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # SQLAlchemy, not the sqlite3 module, decides when transactions begin (see _begin_immediate)
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


WAL_AUTOCHECKPOINT = 1000  # pages: SQLite's default, restored on every connection given back


def _restore_autocheckpoint(dbapi_connection: Any, _record: Any) -> None:
    if dbapi_connection is None:  # invalidated: it is not used again
        return
    with suppress(sqlite3.ProgrammingError):  # closed meanwhile
        dbapi_connection.execute(f"PRAGMA wal_autocheckpoint={WAL_AUTOCHECKPOINT}")


def commit_without_checkpoint(session: Session) -> None:
    """Commit, and leave moving the write-ahead log into the database to :class:`Checkpoint`.

    SQLite checkpoints in the commit that takes the log past 1,000 pages, so the commit of a
    large delivery also copied everything it wrote into the database file (0.7 s for a million
    Jahresmeldungen). The delivery's protocol does not need to wait for that. The connection
    gets the default back when it returns to the pool. Other databases just commit.
    """
    if session.get_bind().dialect.name == "sqlite":
        session.connection().exec_driver_sql("PRAGMA wal_autocheckpoint=0")
    session.commit()


class Checkpoint:
    """SQLite: a passive checkpoint in a thread of its own, on a connection of its own.

    Passive: it copies what no reader still needs and never blocks a reader or a writer.
    SQLite does the copying without holding Python's lock, so the protocol is written meanwhile.
    """

    def __init__(self, engine: Engine) -> None:
        self._thread: threading.Thread | None = None
        if engine.dialect.name == "sqlite" and engine.url.database not in (None, "", ":memory:"):
            self._thread = threading.Thread(
                target=self._run, args=(engine.url.database,), name="zvk-checkpoint", daemon=True
            )
            self._thread.start()

    @staticmethod
    def _run(path: str) -> None:
        try:
            with closing(sqlite3.connect(path, isolation_level=None, timeout=30)) as connection:
                connection.execute("PRAGMA wal_checkpoint(PASSIVE)")
        except sqlite3.Error as exc:  # busy with another checkpoint, say: a later commit's does it
            log.info("checkpoint left to a later commit", reason=str(exc))

    def wait(self) -> None:
        if self._thread is not None:
            self._thread.join()


def _begin_immediate(connection: Connection) -> None:
    """Take SQLite's write lock when a transaction begins, not at its first write.

    A deferred transaction that reads first and writes later fails at once with "database is
    locked" when another connection committed in between; an immediate one waits its turn.
    """
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def _begin_deferred(connection: Connection) -> None:
    connection.exec_driver_sql("BEGIN")


def make_engine(settings: Settings, *, writer: bool = False) -> Engine:
    """An engine on the installation's database; ``writer`` for the processing pipeline."""
    url = settings.database_url
    try:
        # hide_parameters: an error's message (which the log keeps) and `db.echo` show the
        # statement without its values, which are names, birth dates and insurance numbers
        engine = create_engine(url, echo=settings.db.echo, hide_parameters=True, future=True)
    except Exception as exc:  # a malformed URL or a missing driver
        raise ConfigurationError(f"db.url: {exc}") from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
        if writer:
            event.listen(engine, "checkin", _restore_autocheckpoint)
        event.listen(engine, "begin", _begin_immediate if writer else _begin_deferred)
    return engine


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def alembic_config(engine: Engine) -> Config:
    from alembic.config import Config  # Alembic is needed by `zvk init` only: a faster start

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def migrate(engine: Engine) -> str | None:
    """Bring the schema to the newest migration (nothing happens when it is current).

    Returns what changed, e.g. ``"database schema 0002, 0003 -> 0004"``, or ``None``.
    """
    from alembic import command

    try:
        before = schema_revisions(engine)
        command.upgrade(alembic_config(engine), "heads")
        after = schema_revisions(engine)
    except OperationalError as exc:
        raise ConfigurationError(f"database not reachable: {exc.orig}") from None
    if before == after:
        return None
    return f"database schema {', '.join(sorted(before)) or 'new'} -> {', '.join(sorted(after))}"


def schema_revisions(engine: Engine, tables: set[str] | None = None) -> set[str]:
    """The migrations the database is at (empty before the first); ``tables``: its tables,
    when the caller has already listed them."""
    if tables is None:
        tables = set(inspect(engine).get_table_names())
    if "alembic_version" not in tables:
        return set()
    with engine.connect() as connection:
        return set(connection.scalars(text("SELECT version_num FROM alembic_version")))


def open_database(settings: Settings, *, writer: bool = False) -> Engine:
    """The engine of an initialised installation; a clear error when `zvk init` is missing."""
    refuse_file_as_home(settings.home)
    if not settings.home.is_dir():
        raise ConfigurationError(f"home {settings.home} does not exist: run `zvk init` first")
    engine = make_engine(settings, writer=writer)
    require_schema(engine)
    return engine


def require_schema(engine: Engine) -> None:
    """Refuse to work on a database that `zvk init` has not prepared."""
    try:
        tables = set(inspect(engine).get_table_names())
    except OperationalError as exc:
        raise ConfigurationError(f"database not reachable: {exc.orig}") from None
    if "deliveries" not in tables:
        raise ConfigurationError("the database has no schema yet: run `zvk init` first")
    found = schema_revisions(engine, tables)
    if found != SCHEMA_HEADS:
        raise ConfigurationError(
            f"the database schema is at revision {', '.join(sorted(found)) or 'none'}, this "
            f"version of zvk needs {', '.join(sorted(SCHEMA_HEADS))}: run `zvk init` to migrate"
        )


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    with factory() as session, session.begin():
        yield session
