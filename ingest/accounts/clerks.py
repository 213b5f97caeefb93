"""An administrator's clerks: only the billing offices the administrator holds can be granted,
and only clerks of the administrator's member are reachable (others are not found)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ingest.accounts.accounts import (
    check_email,
    check_person_name,
    create_account,
    office_ids_of,
    set_offices,
)
from ingest.accounts.audit import Actor, record
from ingest.accounts.login import find_account
from ingest.accounts.models import Account, Role
from ingest.accounts.passwords import AccountError


class NotFound(LookupError):
    """The object does not exist for the person asking (another member's is not found either)."""


def clerks_of(session: Session, admin: Account) -> list[Account]:
    return list(
        session.scalars(
            select(Account)
            .where(Account.member_id == admin.member_id, Account.role == Role.SACHBEARBEITER)
            .order_by(Account.last_name, Account.first_name, Account.id)
        )
    )


def clerk_for(session: Session, admin: Account, clerk_id: int) -> Account:
    clerk = session.get(Account, clerk_id)
    if clerk is None or clerk.role != Role.SACHBEARBEITER or clerk.member_id != admin.member_id:
        raise NotFound(clerk_id)
    return clerk


def administrators_beside(session: Session, admin: Account) -> list[Account]:
    """The other administrators of the same member."""
    return list(
        session.scalars(
            select(Account)
            .where(
                Account.member_id == admin.member_id,
                Account.role == Role.ADMINISTRATOR,
                Account.id != admin.id,
            )
            .order_by(Account.last_name, Account.id)
        )
    )


def administrator_for(session: Session, admin: Account, other_id: int) -> Account:
    other = session.get(Account, other_id)
    if (
        other is None
        or other.role != Role.ADMINISTRATOR
        or other.member_id != admin.member_id
        or other.id == admin.id
    ):
        raise NotFound(other_id)
    return other


def _granted(session: Session, admin: Account, office_ids: list[int]) -> list[int]:
    own = set(office_ids_of(session, admin))
    if not office_ids:
        raise AccountError("Bitte mindestens eine Abrechnungsstelle auswählen.")
    if not set(office_ids) <= own:
        raise AccountError("Sie können nur Ihre eigenen Abrechnungsstellen vergeben.")
    return sorted(set(office_ids))


def create_clerk(
    session: Session,
    admin: Account,
    *,
    email: str,
    first_name: str,
    last_name: str,
    office_ids: list[int],
    actor: Actor,
    now: datetime,
    role_mailboxes: list[str],
) -> Account:
    return create_account(
        session,
        email=email,
        first_name=first_name,
        last_name=last_name,
        role=Role.SACHBEARBEITER,
        now=now,
        actor=actor,
        role_mailboxes=role_mailboxes,
        member_id=admin.member_id,
        office_ids=_granted(session, admin, office_ids),
    )


def update_clerk(
    session: Session,
    admin: Account,
    clerk: Account,
    *,
    email: str,
    first_name: str,
    last_name: str,
    office_ids: list[int],
    actor: Actor,
    now: datetime,
    role_mailboxes: list[str],
) -> None:
    """Change a clerk; offices the administrator does not hold stay as they are."""
    email = check_email(email, role_mailboxes)
    holder = find_account(session, email)
    if holder is not None and holder.id != clerk.id:
        raise AccountError("Für diese E-Mail-Adresse besteht bereits ein Zugang.")
    own = set(office_ids_of(session, admin))
    kept = [o for o in office_ids_of(session, clerk) if o not in own]
    granted = _granted(session, admin, office_ids)
    clerk.email = email
    clerk.first_name = check_person_name(first_name, "den Vornamen")
    clerk.last_name = check_person_name(last_name, "den Nachnamen")
    set_offices(session, clerk, kept + granted)
    record(
        session, now, "account.changed", actor, clerk, details="Name, E-Mail, Abrechnungsstellen"
    )
