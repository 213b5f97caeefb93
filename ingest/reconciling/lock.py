"""One reconciliation at a time: a lock row in the database, and a nightly run claims its day.

The lock is a row in ``run_locks`` whose primary key is the lock's name: of two processes only
one can insert it. A crashed holder leaves a row behind, so every lock expires (after
``LOCK_TTL``) and is then taken over. A nightly run additionally claims its slot
(``nightly:YYYY-MM-DD``) by a unique constraint, so two schedulers never run the same night twice,
even when the first has finished before the second looks.
"""

from __future__ import annotations

import os
import secrets
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from ingest.reconciling.models import RunLock

RECONCILE_LOCK = "reconcile"
LOCK_TTL = timedelta(hours=3)


class LockBusy(Exception):
    """Another run holds the lock."""

    def __init__(self, holder: str, since: datetime) -> None:
        super().__init__(f"held by {holder} since {since:%Y-%m-%d %H:%M:%S} UTC")
        self.holder = holder
        self.since = since


def _holder() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


def try_acquire(sessions: sessionmaker[Session], name: str = RECONCILE_LOCK) -> str | None:
    """Take the lock; its holder token, or ``None`` when another run holds it."""
    now = datetime.now(UTC)
    holder = _holder()
    with sessions.begin() as session:
        session.execute(delete(RunLock).where(RunLock.name == name, RunLock.expires_at < now))
    try:
        with sessions.begin() as session:
            session.add(
                RunLock(name=name, holder=holder, acquired_at=now, expires_at=now + LOCK_TTL)
            )
    except IntegrityError:
        return None
    return holder


def current_holder(sessions: sessionmaker[Session], name: str = RECONCILE_LOCK) -> RunLock | None:
    with sessions() as session:
        return session.scalar(select(RunLock).where(RunLock.name == name))


def release(sessions: sessionmaker[Session], holder: str, name: str = RECONCILE_LOCK) -> None:
    with sessions.begin() as session:
        session.execute(delete(RunLock).where(RunLock.name == name, RunLock.holder == holder))


@contextmanager
def held(
    sessions: sessionmaker[Session],
    *,
    wait_seconds: float = 0.0,
    name: str = RECONCILE_LOCK,
    cancelled: Callable[[], bool] = lambda: False,
) -> Iterator[str]:
    """Hold the lock for the ``with`` block; wait for it up to ``wait_seconds`` (or until
    ``cancelled()``), else raise LockBusy."""
    deadline = time.monotonic() + wait_seconds
    while True:
        holder = try_acquire(sessions, name)
        if holder is not None:
            break
        if time.monotonic() >= deadline or cancelled():
            row = current_holder(sessions, name)
            if row is None:
                continue  # released just now: try again
            since = (
                row.acquired_at if row.acquired_at.tzinfo else row.acquired_at.replace(tzinfo=UTC)
            )
            raise LockBusy(row.holder, since)
        time.sleep(0.5)
    try:
        yield holder
    finally:
        release(sessions, holder, name)
