"""Signing in: personal password or one-time password, throttling and the 15-minute lock.

Counters and locks live in the database, so that several portal processes agree. Every
attempt ends in the audit log; the caller gives the same answer to every failure, whether the
account exists, the password is wrong or the account is locked.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ingest.accounts.audit import Actor, failures_from, record
from ingest.accounts.models import Account, utc
from ingest.accounts.passwords import (
    hash_secret,
    new_one_time_password,
    password_problems,
    verify_secret,
)
from ingest.accounts.problems import AccountError, FormErrors
from ingest.accounts.sessions import end_sessions

MAX_FAILURES = 5
LOCK = timedelta(minutes=15)
# Failed logins from one client address within LOCK beyond which each further attempt from it
# is answered only after CLIENT_DELAY. The attempt is still checked: a right password signs in,
# so that failures for other accounts (or one person behind a shared address) lock nobody out.
MAX_CLIENT_FAILURES = 50
CLIENT_DELAY = timedelta(seconds=3)


class Outcome(enum.StrEnum):
    PASSWORD = "password"  # noqa: S105  (a name of an outcome, not a secret)
    ONE_TIME = "one_time"  # signed in with a one-time password: a personal one must be set
    REFUSED = "refused"


@dataclass(frozen=True, slots=True)
class Attempt:
    outcome: Outcome
    account: Account | None = None


def find_account(session: Session, email: str) -> Account | None:
    return session.scalar(select(Account).where(func.lower(Account.email) == email.strip().lower()))


def authenticate(
    session: Session, email: str, password: str, client: str, now: datetime
) -> Attempt:
    """Check a login; count and lock on failure, reset the counter on success.

    The per-address limit is :func:`client_delay`'s, applied by the caller before this check.
    """
    account = find_account(session, email)
    anonymous = Actor(email.strip().lower()[:254] or "-", client)
    if account is None:
        verify_secret(None, password)
        record(session, now, "login.failure", anonymous, details="unbekannte E-Mail-Adresse")
        return Attempt(Outcome.REFUSED)
    actor = Actor.of(account, client)
    if account.locked_until is not None and utc(account.locked_until) > now:
        verify_secret(None, password)
        record(session, now, "login.refused_locked", actor, account)
        return Attempt(Outcome.REFUSED)
    outcome = _match(account, password, now)
    if outcome is Outcome.REFUSED or not account.active:
        count_failure(session, account, actor, now)
        return Attempt(Outcome.REFUSED)
    account.failures, account.first_failure_at, account.locked_until = 0, None, None
    account.last_login_at = now
    if outcome is Outcome.ONE_TIME:
        account.otp_hash, account.otp_expires_at = None, None  # works once
        account.must_set_password = True
    record(session, now, "login" if outcome is Outcome.PASSWORD else "login.otp", actor, account)
    return Attempt(outcome, account)


def client_delay(session: Session, email: str, client: str, now: datetime) -> timedelta:
    """How long to wait before checking a login from ``client``: CLIENT_DELAY once the address
    has failed MAX_CLIENT_FAILURES times within LOCK (recorded in the audit log), else nothing."""
    if failures_from(session, client, now - LOCK) < MAX_CLIENT_FAILURES:
        return timedelta(0)
    actor = Actor(email.strip().lower()[:254] or "-", client)
    record(session, now, "login.throttled", actor, details="viele Fehlversuche dieser Adresse")
    return CLIENT_DELAY


def _match(account: Account, password: str, now: datetime) -> Outcome:
    if account.otp_hash is not None:
        fresh = account.otp_expires_at is not None and utc(account.otp_expires_at) > now
        if verify_secret(account.otp_hash, password) and fresh:
            return Outcome.ONE_TIME
    if account.password_hash is not None and verify_secret(account.password_hash, password):
        return Outcome.PASSWORD
    if account.otp_hash is None and account.password_hash is None:
        verify_secret(None, password)
    return Outcome.REFUSED


def count_failure(session: Session, account: Account, actor: Actor, now: datetime) -> None:
    """One more failure (a password or a second factor's code); the fifth within LOCK locks."""
    if account.first_failure_at is None or now - utc(account.first_failure_at) > LOCK:
        account.failures, account.first_failure_at = 0, now
    account.failures += 1
    record(session, now, "login.failure", actor, account, details=f"Fehlversuch {account.failures}")
    if account.failures >= MAX_FAILURES:
        account.locked_until = now + LOCK
        account.failures, account.first_failure_at = 0, None
        record(session, now, "login.locked", actor, account, details="gesperrt für 15 Minuten")


def issue_one_time_password(
    session: Session, account: Account, actor: Actor, now: datetime, valid_days: int
) -> str:
    """A new one-time password for the account; returned once, in clear.

    The previous one-time password, the personal password and every session of the account
    end: whoever signs in next uses the new one-time password and sets a new personal password.
    """
    secret = new_one_time_password()
    account.otp_hash = hash_secret(secret)
    account.otp_expires_at = now + timedelta(days=valid_days)
    account.locked_until, account.failures, account.first_failure_at = None, 0, None
    had_password = account.password_hash is not None
    account.password_hash, account.must_set_password = None, True
    end_sessions(session, account)
    details = "Sitzungen beendet, persönliches Passwort ungültig" if had_password else ""
    record(session, now, "account.one_time_password", actor, account, details=details)
    return secret


def set_personal_password(
    session: Session,
    account: Account,
    password: str,
    repeated: str,
    actor: Actor,
    now: datetime,
    current: str = "",
) -> None:
    """Set the personal password; every session of the account ends (the caller opens a new one).

    Right after a one-time password login the new one is enough; otherwise ``current`` must be
    the personal password (a wrong one counts as a failed login and can lock the account, which
    ends its sessions).
    """
    if not account.must_set_password and not verify_secret(account.password_hash, current):
        count_failure(session, account, Actor.of(account, actor.client), now)
        if account.locked_until is not None:
            end_sessions(session, account)
        raise AccountError("Das bisherige Passwort ist nicht richtig.")
    problems = [("password", problem) for problem in password_problems(password, account.email)]
    if password != repeated:
        problems.append(("password2", "Die beiden Passwörter stimmen nicht überein."))
    if problems:
        raise FormErrors(problems)
    account.password_hash = hash_secret(password)
    account.must_set_password = False
    account.otp_hash, account.otp_expires_at = None, None
    end_sessions(session, account)
    record(session, now, "account.password_set", actor, account)
