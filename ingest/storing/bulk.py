"""Batched writes inside the delivery's transaction: ids handed out up front, rows written in bulk.

The stored-state checks apply accepted reports in file order; instead of one ORM flush per report
they collect the new rows here and write them every batch: with ``executemany`` of a Core
``insert`` on SQLite and with ``COPY`` on PostgreSQL. Both run on the session's own connection,
so the rows belong to the delivery's one transaction and are committed (or rolled back) with the
ledger's change.

Rows reference each other (a period its report, a relationship the report that opened it), so
their ids are handed out before they are written: on PostgreSQL from the table's sequence, a block
at a time (several workers may insert at once); on SQLite, which allows one writer and whose
transaction here holds the write lock from its start, from the table's current maximum.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import cache
from typing import Any

from sqlalchemy import Table, bindparam, func, select, text, update
from sqlalchemy.orm import Session

from ingest.storing.models import Insurance, Period, Person, Report

ID_BLOCK = 1000

PERSON_COLUMNS = (
    "id",
    "versicherungsnummer",
    "rvnr",
    "family_name",
    "first_name",
    "birth_name",
    "birth_date",
    "gender",
)
REPORT_COLUMNS = (
    "id",
    "delivery_id",
    "sender_number",
    "satz",
    "meldungs_id",
    "kind",
    "billing_office_id",
    "person_id",
    "rvnr",
    "versicherungsnummer",
    "begin",
    "end",
    "reason",
    "year",
    "month",
    "reference",
    "cancelled",
    "assigned",
)
PERIOD_COLUMNS = (
    "report_id",
    "position",
    "begin",
    "end",
    "booking_key",
    "pay",
    "amount",
    "children",
)
INSURANCE_COLUMNS = ("person_id", "billing_office_id", "begin", "end", "opened_by")


@dataclass
class IdAllocator:
    """Hands out primary keys of one table for rows that are written later in the transaction."""

    table: Table
    _next: int = 0
    _stop: int = 0
    _block: list[int] = field(default_factory=list)
    _sequence: str | None = None  # PostgreSQL: the table's id sequence
    _postgres: bool | None = None  # asked once: the session's bind is looked up each time

    def take(self, session: Session) -> int:
        postgres = self._postgres
        if postgres is None:
            postgres = self._postgres = session.get_bind().dialect.name == "postgresql"
        if postgres:
            if not self._block:
                self._block = self._reserve(session)
            return self._block.pop()
        if self._next >= self._stop:
            current = session.execute(select(func.max(self.table.c.id))).scalar()
            self._next, self._stop = (current or 0) + 1, 1 << 62
        self._next += 1
        return self._next - 1

    def _reserve(self, session: Session) -> list[int]:
        if self._sequence is None:
            self._sequence = session.execute(
                text("SELECT pg_get_serial_sequence(:t, 'id')"), {"t": self.table.name}
            ).scalar_one()
        # the sequence by its name, looked up once: asking pg_get_serial_sequence() in the
        # select list ran it for every row (4.5 ms for 1,000 ids instead of 0.8 ms)
        ids = session.execute(
            text("SELECT nextval(CAST(:s AS regclass)) FROM generate_series(1, :n)"),
            {"s": self._sequence, "n": ID_BLOCK},
        ).scalars()
        return sorted(ids, reverse=True)

    def forget(self) -> None:
        """After rows were written by other means (the ORM): ask the table again (SQLite)."""
        self._next = self._stop = 0


_DAYS: dict[date, str] = {}
_DAYS_KEPT = 100_000  # distinct days remembered; birth dates of a century are a third of it


def day(value: date | None) -> str | None:
    """A date as a pending row carries it: ISO text (see :class:`Pending`).

    ``date.isoformat`` formats through a generic printf (about 3,700 instructions; a lookup
    here costs 1,100). A file's rows hold few distinct days (period bounds, birth dates), a
    million times over, so their text is remembered.
    """
    if value is None:
        return None
    text = _DAYS.get(value)
    if text is None:
        if len(_DAYS) >= _DAYS_KEPT:
            _DAYS.clear()
        text = _DAYS[value] = value.isoformat()
    return text


@dataclass
class Pending:
    """New rows of the current batch, in the order they must be written.

    The rows carry plain values, as SQLAlchemy stores them on SQLite: dates as ISO text,
    amounts as decimal text (the column's numeric affinity stores the number), booleans as
    0 and 1. The sqlite3 driver binds these directly; for a ``date``, ``Decimal`` or ``bool``
    it first looks for an adapter, which cost more than the insert itself (a report row
    11.0 µs instead of 15.2 µs, a period row 3.9 µs instead of 7.3 µs, with the driver alone:
    ``bench/inserts.py``). PostgreSQL's text ``COPY`` reads the same text.
    """

    persons: list[tuple[Any, ...]] = field(default_factory=list)
    rvnr_updates: list[tuple[int, str]] = field(default_factory=list)
    reports: list[tuple[Any, ...]] = field(default_factory=list)
    periods: list[tuple[Any, ...]] = field(default_factory=list)
    insurances: list[tuple[Any, ...]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.persons or self.rvnr_updates or self.reports)

    def write(self, session: Session) -> None:
        """Write every pending row on the session's connection, then forget them."""
        tables: list[tuple[Table, Sequence[str], list[tuple[Any, ...]]]] = [
            (_table(Person), PERSON_COLUMNS, self.persons),
            (_table(Report), REPORT_COLUMNS, self.reports),
            (_table(Period), PERIOD_COLUMNS, self.periods),
            (_table(Insurance), INSURANCE_COLUMNS, self.insurances),
        ]
        copy = session.get_bind().dialect.name == "postgresql"
        for table, columns, rows in tables[:1]:
            _write(session, table, columns, rows, copy)
        if self.rvnr_updates:
            session.execute(
                update(_table(Person)).where(_table(Person).c.id == bindparam("pid")),
                [{"pid": pid, "rvnr": rvnr} for pid, rvnr in self.rvnr_updates],
            )
        for table, columns, rows in tables[1:]:
            _write(session, table, columns, rows, copy)
        self.persons, self.rvnr_updates, self.reports = [], [], []
        self.periods, self.insurances = [], []


def _table(model: type[Any]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


def _write(
    session: Session,
    table: Table,
    columns: Sequence[str],
    rows: list[tuple[Any, ...]],
    copy: bool,
) -> None:
    if not rows:
        return
    if copy:
        _copy(session, table, columns, rows)
        return
    _executemany(session, table, columns, rows)


def _executemany(
    session: Session, table: Table, columns: Sequence[str], rows: list[tuple[Any, ...]]
) -> None:
    """SQLite: one prepared ``INSERT`` for every row, straight to the driver's ``executemany``.

    Going around the Core statement saves its per-row parameter processing, which costs more
    than the insert itself. A column that is NULL in every row of the batch (and has no default
    in the database) is left out of the statement: the driver binds ``None`` only after looking
    for an adapter, about 0.5 µs a value, and an annual report brings seven (its beginning, end,
    reason, month and reference, and the number of children of each period).
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


@cache
def _nullable(table: Table) -> frozenset[str]:
    """The columns that are NULL when an ``INSERT`` leaves them out."""
    return frozenset(c.name for c in table.columns if c.nullable and c.server_default is None)


# How the SQLite driver binds a date or decimal that reaches it all the same, the way
# SQLAlchemy's SQLite dialect stores them (`Date` as ISO text, `Numeric` as a number); the bulk
# rows carry text instead (see `Pending`). (`date` has a default adapter that Python 3.12
# deprecates.)
sqlite3.register_adapter(date, date.isoformat)
sqlite3.register_adapter(Decimal, float)


def _copy(
    session: Session, table: Table, columns: Sequence[str], rows: list[tuple[Any, ...]]
) -> None:
    """``COPY … FROM STDIN`` with psycopg 3 on the session's connection (same transaction)."""
    raw: Any = session.connection().connection.driver_connection
    names = ", ".join(f'"{c}"' for c in columns)
    with raw.cursor() as cursor, cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row(row)
