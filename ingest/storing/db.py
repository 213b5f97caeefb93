"""Engine, sessions and migrations for SQLite (default) or PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import structlog
from sqlalchemy import Engine, create_engine, inspect, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from ingest.errors import ConfigurationError
from ingest.settings import Settings, refuse_file_as_home
from ingest.storing.backend import backend_of

if TYPE_CHECKING:
    from alembic.config import Config

log = structlog.stdlib.get_logger("ingest.db")

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# The newest migration, which the code expects the database to be at (a test holds it to the
# migration scripts; reading those at every start would cost more than the one query).
SCHEMA_HEADS = frozenset({"0008"})


def make_engine(settings: Settings, *, writer: bool = False) -> Engine:
    """An engine on the installation's database; ``writer`` for the processing pipeline.

    The dialect's :class:`~ingest.storing.backend.Backend` configures it (another database
    than SQLite or PostgreSQL is refused here); :func:`~ingest.storing.backend.backend_of`
    finds that backend again from the engine or any of its sessions.
    """
    url = settings.database_url
    try:
        # hide_parameters: an error's message (which the log keeps) and `db.echo` show the
        # statement without its values, which are names, birth dates and insurance numbers
        engine = create_engine(url, echo=settings.db.echo, hide_parameters=True, future=True)
    except Exception as exc:  # a malformed URL or a missing driver
        raise ConfigurationError(f"db.url: {exc}") from None
    backend_of(engine).configure(engine, writer=writer)
    return engine


def is_writer(engine: Engine) -> bool:
    """Whether ``engine`` is the pipeline's writer (SQLite: its transactions take the write
    lock when they begin)."""
    return backend_of(engine).is_writer(engine)


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
