"""The second factor: an authenticator app (TOTP, RFC 6238) and recovery codes.

A code is accepted one step (30 s) early or late and only once: its step must be newer than the
last one used. Recovery codes are random (80 bits), stored as their SHA-256 (like the session
tokens: no password stretching is needed for that much chance) and burn on use.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

import pyotp
from sqlalchemy import select
from sqlalchemy.orm import Session

from ingest.accounts.audit import Actor, record
from ingest.accounts.models import Account, RecoveryCode
from ingest.accounts.passwords import AccountError
from ingest.accounts.sessions import digest

RECOVERY_CODES = 10
_STEP = timedelta(seconds=30)
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, email: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name="ZVK-Portal")


def _step_of(secret: str, code: str, now: datetime) -> int | None:
    """The time step whose code ``code`` is, within one step of ``now``; None if none."""
    totp = pyotp.TOTP(secret)
    code = code.strip().replace(" ", "")
    for offset in (0, -1, 1):
        moment = now + offset * _STEP
        if secrets.compare_digest(totp.at(moment), code):
            return totp.timecode(moment)
    return None


def enable(
    session: Session, account: Account, secret: str, code: str, actor: Actor, now: datetime
) -> list[str]:
    """Turn the second factor on once the app shows a matching code; returns the recovery
    codes, in clear, this once."""
    if account.totp_secret is not None:
        raise AccountError("Der zweite Faktor ist bereits eingerichtet.")
    step = _step_of(secret, code, now)
    if step is None:
        raise AccountError(
            "Der Sicherheitscode stimmt nicht. Bitte prüfen Sie die Uhrzeit Ihres Geräts."
        )
    account.totp_secret, account.totp_last_step = secret, step
    codes = ["-".join(_chunk() for _ in range(4)) for _ in range(RECOVERY_CODES)]
    for clear in codes:
        session.add(RecoveryCode(account_id=account.id, code_hash=digest(clear)))
    record(session, now, "account.second_factor_on", actor, account)
    return codes


def _chunk() -> str:
    return "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(4))


def check_code(session: Session, account: Account, code: str, now: datetime) -> str | None:
    """Whether ``code`` passes: ``"totp"``, ``"recovery"`` (that code is burnt now) or None."""
    if account.totp_secret is None:
        return None
    step = _step_of(account.totp_secret, code, now)
    if step is not None:
        if account.totp_last_step is not None and step <= account.totp_last_step:
            return None  # a code already used
        account.totp_last_step = step
        return "totp"
    row = session.scalar(
        select(RecoveryCode).where(
            RecoveryCode.account_id == account.id,
            RecoveryCode.code_hash == digest(code.strip().lower()),
            RecoveryCode.used_at.is_(None),
        )
    )
    if row is None:
        return None
    row.used_at = now
    return "recovery"
