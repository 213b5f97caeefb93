"""The audit log: who did what to which account, when, from which client address.

Entries name accounts and actions; they never carry a password or a one-time password.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ingest.accounts.models import Account, AuditEntry


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts: a signed-in account, or an operator at the command line (``account`` None)."""

    label: str
    client: str
    account: Account | None = None

    @classmethod
    def of(cls, account: Account, client: str) -> Actor:
        return cls(account.email, client, account)

    @classmethod
    def command_line(cls) -> Actor:
        return cls("zvk (Kommandozeile)", "lokal")


def record(
    session: Session,
    now: datetime,
    action: str,
    actor: Actor,
    subject: Account | None = None,
    details: str = "",
    member_id: int | None = None,
) -> None:
    session.add(
        AuditEntry(
            at=now,
            action=action,
            actor_id=actor.account.id if actor.account else None,
            actor=actor.label,
            subject_id=subject.id if subject else None,
            member_id=member_id
            if member_id is not None
            else (subject.member_id if subject else None),
            client=actor.client[:64],
            details=details,
        )
    )


def failures_from(session: Session, client: str, since: datetime) -> int:
    """Failed logins from one client address since a moment (for the per-address limit)."""
    return (
        session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.client == client, AuditEntry.at >= since)
            .where(AuditEntry.action == "login.failure")
        )
        or 0
    )


def history(session: Session, subject_ids: list[int], limit: int = 100) -> list[AuditEntry]:
    """The newest changes made to the accounts named (an administrator's view of its clerks):
    creation, changes, activation, one-time passwords; not their logins."""
    if not subject_ids:
        return []
    return list(
        session.scalars(
            select(AuditEntry)
            .where(AuditEntry.subject_id.in_(subject_ids), AuditEntry.action.like("account.%"))
            .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
            .limit(limit)
        )
    )


def newest(session: Session, limit: int = 500) -> list[AuditEntry]:
    """The newest entries of the whole log (the fund's console)."""
    return list(
        session.scalars(
            select(AuditEntry).order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit)
        )
    )


def subject_labels(session: Session, entries: list[AuditEntry]) -> dict[int, str]:
    """Whom each entry concerned: the account's name and e-mail address, by account id."""
    ids = {e.subject_id for e in entries if e.subject_id is not None}
    if not ids:
        return {}
    return {
        account.id: f"{account.name} ({account.email})"
        for account in session.scalars(select(Account).where(Account.id.in_(ids)))
    }
