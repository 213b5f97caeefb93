"""Server-side sessions: the browser holds a random token, the database its SHA-256.

A session ends after the idle time, at logout, and at once when its account is deactivated
or changes its password (the row is deleted; the next request finds nothing).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ingest.accounts.models import Account, PortalKey, PortalSession, utc


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Opened:
    token: str  # for the cookie, never stored
    row: PortalSession


def open_session(
    session: Session, account: Account, now: datetime, *, verified: bool = True
) -> Opened:
    """A new session; ``verified`` False while the second factor's code is still to come."""
    token = secrets.token_urlsafe(32)
    row = PortalSession(
        token=digest(token),
        account_id=account.id,
        csrf=secrets.token_urlsafe(32),
        created_at=now,
        last_seen_at=now,
        verified=verified,
    )
    session.add(row)
    session.flush()
    return Opened(token, row)


def current(
    session: Session, token: str | None, now: datetime, idle: timedelta
) -> tuple[PortalSession, Account] | None:
    """The live session of a cookie's token and its active account; refreshes its idle clock."""
    if not token:
        return None
    row = session.get(PortalSession, digest(token))
    if row is None:
        return None
    account = session.get(Account, row.account_id)
    if account is None or not account.active or now - utc(row.last_seen_at) > idle:
        session.delete(row)
        return None
    row.last_seen_at = now
    return row, account


def end_session(session: Session, token: str | None) -> None:
    if token:
        session.execute(delete(PortalSession).where(PortalSession.token == digest(token)))


def end_sessions(session: Session, account: Account) -> None:
    """End every session of an account at once."""
    session.execute(delete(PortalSession).where(PortalSession.account_id == account.id))


def signing_key(session: Session, name: str = "csrf") -> bytes:
    """The portal's random key of that name, made by the first process that asks for it."""
    row = session.get(PortalKey, name)
    if row is None:
        try:
            with session.begin_nested():
                row = PortalKey(name=name, value=secrets.token_hex(32))
                session.add(row)
        except IntegrityError:  # another process made it at the same moment
            row = session.get(PortalKey, name)
            assert row is not None
    return bytes.fromhex(row.value)
