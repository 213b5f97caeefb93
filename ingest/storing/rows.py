"""Rows of the ledger read in chunks whenever they are iterated (findings, assigned numbers)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar, overload

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, sessionmaker

T = TypeVar("T")


class StoredRows(Sequence[T]):
    """Rows of the ledger as a sequence that reads them in chunks each time it is iterated."""

    CHUNK = 1000

    def __init__(
        self,
        sessions: sessionmaker[Session],
        query: Select[*tuple[Any, ...]],
        make: Callable[[Any], T],
        *,
        columns_only: bool = False,
    ) -> None:
        self._sessions = sessions
        self._query = query
        self._make = make
        self._columns_only = columns_only
        self._count: int | None = None

    def __iter__(self) -> Iterator[T]:
        with self._sessions() as session:
            query = self._query.execution_options(yield_per=self.CHUNK)
            # Plain columns need no ORM loading: read on the connection, about twice as fast
            # (a million assigned numbers: 1.7 s -> 0.9 s).
            rows = (
                session.connection().execute(query)
                if self._columns_only
                else session.execute(query)
            )
            for row in rows:
                yield self._make(row)

    def __len__(self) -> int:
        if self._count is None:
            with self._sessions() as session:
                counted = select(func.count()).select_from(self._query.order_by(None).subquery())
                self._count = session.scalar(counted) or 0
        return self._count

    @overload
    def __getitem__(self, index: int) -> T: ...

    @overload
    def __getitem__(self, index: slice) -> list[T]: ...

    def __getitem__(self, index: int | slice) -> T | list[T]:
        return list(self)[index]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence):
            return list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return repr(list(self))
