"""Who may work on a delivery right now: a lock that dies with its holder.

A worker holds the claim from the moment it reads a delivery's state until its protocol is
written. If the worker is killed, the operating system (SQLite: ``flock`` on a file in the home)
or the database server (PostgreSQL: a session advisory lock) releases the claim, and the
delivery's durable state in the ledger tells the next worker where to continue. The database's
backend (:meth:`ingest.storing.backend.Backend.claims`) chooses which kind of claim.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol

from sqlalchemy import Connection, Engine, text

_ADVISORY_NAMESPACE = 0x5A564B  # "ZVK": keeps our advisory keys apart from other users'


class Claims(Protocol):
    def claim(self, delivery_pk: int) -> bool:
        """Try to claim a delivery without waiting; ``True`` when this worker has it now."""
        ...

    def release(self, delivery_pk: int) -> None: ...

    def close(self) -> None: ...


class FileClaims:
    """SQLite has one writer: one process at a time may process deliveries of this home."""

    def __init__(self, lock_file: Path) -> None:
        lock_file.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(lock_file, os.O_RDWR | os.O_CREAT, 0o600)
        self._held = 0
        self._mutex = threading.Lock()

    def claim(self, delivery_pk: int) -> bool:
        with self._mutex:
            if self._held == 0:
                try:
                    fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    return False
            self._held += 1
            return True

    def release(self, delivery_pk: int) -> None:
        with self._mutex:
            self._held -= 1
            if self._held == 0:
                fcntl.flock(self._fd, fcntl.LOCK_UN)

    def close(self) -> None:
        os.close(self._fd)


class AdvisoryClaims:
    """PostgreSQL: one session advisory lock per delivery, on a connection of its own."""

    def __init__(self, engine: Engine) -> None:
        self._connection: Connection = engine.connect().execution_options(
            isolation_level="AUTOCOMMIT"
        )
        self._mutex = threading.Lock()

    def claim(self, delivery_pk: int) -> bool:
        with self._mutex:
            got = self._connection.scalar(
                text("SELECT pg_try_advisory_lock(:ns, :key)"),
                {"ns": _ADVISORY_NAMESPACE, "key": delivery_pk},
            )
            return bool(got)

    def release(self, delivery_pk: int) -> None:
        with self._mutex:
            self._connection.scalar(
                text("SELECT pg_advisory_unlock(:ns, :key)"),
                {"ns": _ADVISORY_NAMESPACE, "key": delivery_pk},
            )

    def close(self) -> None:
        self._connection.close()


@contextmanager
def claimed(claims: Claims, delivery_pk: int, wait_seconds: float = 0.0) -> Iterator[bool]:
    """Hold the claim for the ``with`` block; waits up to ``wait_seconds`` for it."""
    deadline = time.monotonic() + wait_seconds
    got = claims.claim(delivery_pk)
    while not got and time.monotonic() < deadline:
        time.sleep(0.1)
        got = claims.claim(delivery_pk)
    try:
        yield got
    finally:
        if got:
            claims.release(delivery_pk)
