"""What differs between the databases the service runs on, in one object per dialect.

The service runs on SQLite (one writer, a file in the home) and on PostgreSQL (several workers
at once). :func:`backend_of` gives the :class:`Backend` of an engine, connection or session;
:func:`~ingest.storing.db.make_engine` chooses it when the engine is made (another dialect is
refused there) and lets it configure the engine. Everything else asks the backend and never
the dialect's name: the connection's settings and how a writer's transaction begins, the
commit that leaves the checkpoint to a thread, claims on deliveries, the planner's tuning for
a worker, the bulk write path, the primary keys handed out before rows are written, the
condition of a batch lookup and the renewal of the planner's statistics.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from abc import ABC, abstractmethod
from collections.abc import Sequence
from contextlib import closing, suppress
from datetime import date
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any, ClassVar, Protocol

import structlog
from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    String,
    Table,
    any_,
    bindparam,
    event,
    func,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from ingest.errors import ConfigurationError
from ingest.storing.claims import AdvisoryClaims, Claims, FileClaims

log = structlog.stdlib.get_logger("ingest.db")

ID_BLOCK = 1000  # primary keys reserved at a time
WAL_AUTOCHECKPOINT = 1000  # pages: SQLite's default, restored on every connection given back


class Checkpoint(Protocol):
    def wait(self) -> None:
        """Return once the checkpoint started with the backend's ``checkpoint`` is done."""
        ...


class IdSource(Protocol):
    """Where the primary keys of one table come from, for rows written later in the
    transaction (see :class:`ingest.storing.bulk.IdAllocator`)."""

    def reserve(self, session: Session) -> list[int]:
        """Ids nobody else is given, highest first (they are taken with ``pop``)."""
        ...

    def forget(self) -> bool:
        """Rows were written by other means (the ORM); ``True`` when ids reserved before are
        no longer safe to use."""
        ...


class Backend(ABC):
    """The behaviour of one dialect; stateless, one instance per dialect."""

    name: ClassVar[str]
    # Sessions that stream a protocol while other workers commit want an engine of their own.
    readers_apart: ClassVar[bool]
    # A delivery that grows the tables a lot renews the planner's statistics (``analyze``).
    refreshes_statistics: ClassVar[bool]

    def configure(self, engine: Engine, *, writer: bool) -> None:
        """Prepare a new engine; ``writer``: the processing pipeline's."""
        return None  # nothing, unless the dialect needs it

    def commit_without_checkpoint(self, session: Session) -> None:
        """Commit a delivery's transaction; moving the log into the database is left to
        :meth:`checkpoint` where the dialect has one."""
        session.commit()

    def checkpoint(self, engine: Engine) -> Checkpoint:
        """Start moving what the commits wrote into the database, beside the protocol."""
        return _NO_CHECKPOINT

    @abstractmethod
    def claims(self, engine: Engine, home: Path) -> Claims:
        """Who may work on a delivery (see :mod:`ingest.storing.claims`)."""

    def tune_worker(self, session: Session, random_page_cost: float | None) -> None:
        """Settings of the planner for the transaction of one delivery."""
        return None  # nothing, unless the dialect needs it

    @abstractmethod
    def write_rows(
        self, session: Session, table: Table, columns: Sequence[str], rows: list[tuple[Any, ...]]
    ) -> None:
        """Write ``rows`` (at least one; plain values, see :class:`ingest.storing.bulk.Pending`)
        on the session's connection, in its transaction."""

    @abstractmethod
    def ids(self, table: Table) -> IdSource:
        """Where the primary keys of ``table`` come from for rows written in bulk."""

    @abstractmethod
    def among(self, column: Any) -> ColumnElement[bool]:
        """``column`` is one of the keys of a batch lookup, all bound as one parameter ``keys``
        (its value made by :meth:`keys`). The values are never part of the statement, so
        SQLAlchemy's statement cache does not keep them."""

    @abstractmethod
    def keys(self, values: Sequence[Any]) -> Any:
        """The value of the ``keys`` parameter of :meth:`among`."""

    def analyze(self, session: Session, targets: Sequence[str]) -> None:
        """Renew the planner's statistics of ``targets`` (``table (column, …)``)."""
        return None  # nothing, unless the dialect needs it

    def is_writer(self, engine: Engine) -> bool:
        """Whether ``engine`` was configured as the pipeline's writer and takes the database's
        write lock when a transaction begins."""
        return False

    @abstractmethod
    def begin_read_only(self, connection: Connection) -> None:
        """Make the connection's next transaction one that cannot write and takes no write
        lock (its first statement has not run yet)."""

    def end_read_only(self, connection: Connection) -> None:
        """Undo :meth:`begin_read_only` after the transaction was rolled back."""
        return None


class _NoCheckpoint:
    def wait(self) -> None:
        return None


_NO_CHECKPOINT = _NoCheckpoint()


# -- SQLite -------------------------------------------------------------------------------------
class SQLite(Backend):
    """One writer at a time: transactions of the writer take the lock when they begin, claims
    are a ``flock`` in the home, ids follow the table's largest."""

    name = "sqlite"
    readers_apart = True  # a reader's deferred transaction does not take the write lock
    refreshes_statistics = False  # the lookups go through indexes without statistics

    def configure(self, engine: Engine, *, writer: bool) -> None:
        event.listen(engine, "connect", _sqlite_pragmas)
        if writer:
            event.listen(engine, "checkin", _restore_autocheckpoint)
        event.listen(engine, "begin", _begin_immediate if writer else _begin_deferred)

    def commit_without_checkpoint(self, session: Session) -> None:
        """SQLite checkpoints in the commit that takes the log past 1,000 pages, so the commit
        of a large delivery would also copy everything it wrote into the database file. The
        delivery's protocol does not wait for that: the commit leaves it to :meth:`checkpoint`.
        The connection gets the default back when it returns to the pool."""
        session.connection().exec_driver_sql("PRAGMA wal_autocheckpoint=0")
        session.commit()

    def checkpoint(self, engine: Engine) -> Checkpoint:
        path = engine.url.database
        if path in (None, "", ":memory:"):
            return _NO_CHECKPOINT
        return _PassiveCheckpoint(path)

    def claims(self, engine: Engine, home: Path) -> Claims:
        return FileClaims(home / "spool" / "processing.lock")

    def write_rows(
        self, session: Session, table: Table, columns: Sequence[str], rows: list[tuple[Any, ...]]
    ) -> None:
        """One prepared ``INSERT`` for every row, straight to the driver's ``executemany``.

        Going around the Core statement saves its per-row parameter processing, which costs
        more than the insert itself. A column that is NULL in every row of the batch (and has
        no default in the database) is left out of the statement: the driver binds ``None``
        only after looking for an adapter, and an annual report brings seven such values.
        """
        nullable = _nullable(table)
        by_column = list(zip(*rows, strict=True))
        keep = [
            i
            for i, values in enumerate(by_column)
            if columns[i] not in nullable or values.count(None) != len(values)
        ]
        if len(keep) < len(columns):
            columns = [columns[i] for i in keep]
            rows = list(zip(*(by_column[i] for i in keep), strict=True))
        names = ", ".join(f'"{c}"' for c in columns)
        marks = ", ".join("?" * len(columns))
        session.connection().exec_driver_sql(
            f'INSERT INTO "{table.name}" ({names}) VALUES ({marks})',  # noqa: S608 (names from the model)
            rows,
        )

    def ids(self, table: Table) -> IdSource:
        return _LargestId(table)

    def among(self, column: Any) -> ColumnElement[bool]:
        """``IN (SELECT value FROM json_each(:keys))`` with a JSON array (SQLite has no array
        parameters); the planner searches the column's index for each key, as with a list of
        placeholders."""
        values = func.json_each(bindparam("keys", type_=String())).table_valued("value")
        condition: ColumnElement[bool] = column.in_(select(values.c.value))
        return condition

    def keys(self, values: Sequence[Any]) -> Any:
        return json.dumps(list(values))

    def is_writer(self, engine: Engine) -> bool:
        return event.contains(engine, "begin", _begin_immediate)

    def begin_read_only(self, connection: Connection) -> None:
        connection.exec_driver_sql("PRAGMA query_only = ON")

    def end_read_only(self, connection: Connection) -> None:
        connection.exec_driver_sql("PRAGMA query_only = OFF")
        connection.commit()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # SQLAlchemy, not the sqlite3 module, decides when transactions begin (see _begin_immediate)
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _restore_autocheckpoint(dbapi_connection: Any, _record: Any) -> None:
    if dbapi_connection is None:  # invalidated: it is not used again
        return
    with suppress(sqlite3.ProgrammingError):  # closed meanwhile
        dbapi_connection.execute(f"PRAGMA wal_autocheckpoint={WAL_AUTOCHECKPOINT}")


def _begin_immediate(connection: Connection) -> None:
    """Take SQLite's write lock when a transaction begins, not at its first write.

    A deferred transaction that reads first and writes later fails at once with "database is
    locked" when another connection committed in between; an immediate one waits its turn.
    """
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def _begin_deferred(connection: Connection) -> None:
    connection.exec_driver_sql("BEGIN")


class _PassiveCheckpoint:
    """A passive checkpoint in a thread of its own, on a connection of its own.

    Passive: it copies what no reader still needs and never blocks a reader or a writer.
    SQLite does the copying without holding Python's lock, so the protocol is written meanwhile.
    """

    def __init__(self, path: str) -> None:
        self._thread = threading.Thread(
            target=self._run, args=(path,), name="zvk-checkpoint", daemon=True
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
        self._thread.join()


class _LargestId:
    """Ids after the table's largest: the writer's transaction holds the write lock from its
    start, so nobody else inserts meanwhile."""

    def __init__(self, table: Table) -> None:
        self._table = table
        self._next: int | None = None

    def reserve(self, session: Session) -> list[int]:
        start = self._next
        if start is None:
            current = session.execute(select(func.max(self._table.c.id))).scalar()
            start = (current or 0) + 1
        self._next = start + ID_BLOCK
        return list(range(start + ID_BLOCK - 1, start - 1, -1))

    def forget(self) -> bool:
        self._next = None  # the table's largest is asked again
        return True


@cache
def _nullable(table: Table) -> frozenset[str]:
    """The columns that are NULL when an ``INSERT`` leaves them out."""
    return frozenset(c.name for c in table.columns if c.nullable and c.server_default is None)


# How the SQLite driver binds a date or decimal that reaches it all the same, the way
# SQLAlchemy's SQLite dialect stores them (`Date` as ISO text, `Numeric` as a number); the bulk
# rows carry text instead (see `ingest.storing.bulk.Pending`). (`date` has a default adapter
# that Python 3.12 deprecates.)
sqlite3.register_adapter(date, date.isoformat)
sqlite3.register_adapter(Decimal, float)


# -- PostgreSQL ---------------------------------------------------------------------------------
class PostgreSQL(Backend):
    """Several workers at once: claims are advisory locks, rows go in with ``COPY``, ids come
    from the tables' sequences."""

    name = "postgresql"
    readers_apart = False
    refreshes_statistics = True

    def claims(self, engine: Engine, home: Path) -> Claims:
        return AdvisoryClaims(engine)

    def tune_worker(self, session: Session, random_page_cost: float | None) -> None:
        if random_page_cost is not None:
            session.execute(text(f"SET LOCAL random_page_cost = {float(random_page_cost)}"))

    def write_rows(
        self, session: Session, table: Table, columns: Sequence[str], rows: list[tuple[Any, ...]]
    ) -> None:
        """``COPY … FROM STDIN`` with psycopg 3 on the session's connection (same transaction)."""
        raw: Any = session.connection().connection.driver_connection
        names = ", ".join(f'"{c}"' for c in columns)
        statement = f'COPY "{table.name}" ({names}) FROM STDIN'
        with raw.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(row)

    def ids(self, table: Table) -> IdSource:
        return _SequenceIds(table)

    def among(self, column: Any) -> ColumnElement[bool]:
        """``= ANY(:keys)`` with an array."""
        # an array of unbounded text: a cast to the column's VARCHAR(n)[] would cut longer keys
        element = String() if isinstance(column.type, String) else column.type
        condition: ColumnElement[bool] = column == any_(bindparam("keys", type_=ARRAY(element)))
        return condition

    def keys(self, values: Sequence[Any]) -> Any:
        return list(values)

    def analyze(self, session: Session, targets: Sequence[str]) -> None:
        session.execute(text(f"ANALYZE {', '.join(targets)}"))

    def begin_read_only(self, connection: Connection) -> None:
        connection.exec_driver_sql("SET TRANSACTION READ ONLY")


class _SequenceIds:
    """Ids from the table's sequence, a block at a time (several workers may insert at once)."""

    def __init__(self, table: Table) -> None:
        self._table = table
        self._sequence: str | None = None

    def reserve(self, session: Session) -> list[int]:
        if self._sequence is None:
            self._sequence = session.execute(
                text("SELECT pg_get_serial_sequence(:t, 'id')"), {"t": self._table.name}
            ).scalar_one()
        # the sequence by its name, looked up once: pg_get_serial_sequence() in the select
        # list would run for every row
        ids = session.execute(
            text("SELECT nextval(CAST(:s AS regclass)) FROM generate_series(1, :n)"),
            {"s": self._sequence, "n": ID_BLOCK},
        ).scalars()
        return sorted(ids, reverse=True)

    def forget(self) -> bool:
        return False  # a sequence never hands out an id twice


_BACKENDS: dict[str, Backend] = {b.name: b for b in (SQLite(), PostgreSQL())}


def backend_for(dialect: str) -> Backend:
    """The backend of a dialect's name; a clear error for a database the service cannot use."""
    try:
        return _BACKENDS[dialect]
    except KeyError:
        raise ConfigurationError(
            f"db.url: the database {dialect!r} is not supported (sqlite or postgresql)"
        ) from None


def backend_of(bind: Engine | Connection | Session) -> Backend:
    """The backend of an engine, a connection or a session."""
    if isinstance(bind, Session):
        return backend_for(bind.get_bind().dialect.name)
    return backend_for(bind.dialect.name)
