"""Engine, sessions and migrations for SQLite (default) and any other SQLAlchemy URL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from ingest.errors import ConfigurationError
from ingest.settings import Settings

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# The newest migration, which the code expects the database to be at (a test holds it to the
# migration scripts; reading those at every start would cost more than the one query).
SCHEMA_HEADS = frozenset({"0004"})


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # SQLAlchemy, not the sqlite3 module, decides when transactions begin (see _begin_immediate)
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


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
        engine = create_engine(url, echo=settings.db.echo, future=True)
    except Exception as exc:  # a malformed URL or a missing driver
        raise ConfigurationError(f"db.url: {exc}") from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
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
