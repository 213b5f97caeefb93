"""Batched writes inside the delivery's transaction: ids handed out up front, rows written in bulk.

The stored-state checks apply accepted reports in file order; instead of one ORM flush per report
they collect the new rows here and write them every batch, the way the database's backend
writes rows in bulk (:meth:`ingest.storing.backend.Backend.write_rows`: ``executemany`` on
SQLite, ``COPY`` on PostgreSQL). Both run on the session's own connection, so the rows belong to
the delivery's one transaction and are committed (or rolled back) with the ledger's change.

Rows reference each other (a period its report, a relationship the report that opened it), so
their ids are handed out before they are written (:meth:`ingest.storing.backend.Backend.ids`:
on PostgreSQL from the table's sequence, on SQLite, which allows one writer and whose
transaction here holds the write lock from its start, after the table's current maximum).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import Table, bindparam, update
from sqlalchemy.orm import Session

from ingest.storing.backend import IdSource, backend_of
from ingest.storing.models import Insurance, Period, Person, Report

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
    """Hands out primary keys of one table for rows that are written later in the transaction.

    The keys come from the database's backend (:meth:`~ingest.storing.backend.Backend.ids`),
    a block at a time.
    """

    table: Table
    _block: list[int] = field(default_factory=list)  # reserved, highest first
    _source: IdSource | None = None  # asked once: the session's bind is looked up each time

    def take(self, session: Session) -> int:
        block = self._block
        if not block:
            source = self._source
            if source is None:
                source = self._source = backend_of(session).ids(self.table)
            block = self._block = source.reserve(session)
        return block.pop()

    def forget(self) -> None:
        """After rows were written by other means (the ORM): ask the table again where it
        decides the next ids (SQLite)."""
        if self._source is not None and self._source.forget():
            self._block = []


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
        backend = backend_of(session)
        for table, columns, rows in tables[:1]:
            if rows:
                backend.write_rows(session, table, columns, rows)
        if self.rvnr_updates:
            session.execute(
                update(_table(Person)).where(_table(Person).c.id == bindparam("pid")),
                [{"pid": pid, "rvnr": rvnr} for pid, rvnr in self.rvnr_updates],
            )
        for table, columns, rows in tables[1:]:
            if rows:
                backend.write_rows(session, table, columns, rows)
        self.persons, self.rvnr_updates, self.reports = [], [], []
        self.periods, self.insurances = [], []


def _table(model: type[Any]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table
