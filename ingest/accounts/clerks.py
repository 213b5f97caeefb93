"""An administrator's clerks: only the billing offices the administrator holds can be granted,
and only clerks of the administrator's member are reachable (others are not found)."""

from __future__ import annotations

from dataclasses import dataclass
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
from ingest.accounts.problems import AccountError, Problems
from ingest.storing.models import BillingOffice


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


@dataclass(frozen=True, slots=True)
class ClerkForm:
    """The clerk form's fields as the administrator sent them."""

    email: str
    first_name: str
    last_name: str
    office_ids: list[int]


def _checked(
    session: Session,
    admin: Account,
    form: ClerkForm,
    role_mailboxes: list[str],
    clerk: Account | None = None,
) -> ClerkForm:
    """The form's values cleaned; every problem at once (:class:`FormErrors`) at its field."""
    problems = Problems()
    email = first = last = ""
    offices: list[int] = []
    with problems.at("email"):
        email = check_email(form.email, role_mailboxes)
        holder = find_account(session, email)
        if holder is not None and (clerk is None or holder.id != clerk.id):
            raise AccountError("Für diese E-Mail-Adresse besteht bereits ein Zugang.")
    with problems.at("first_name"):
        first = check_person_name(form.first_name, "den Vornamen")
    with problems.at("last_name"):
        last = check_person_name(form.last_name, "den Nachnamen")
    with problems.at("office"):
        offices = _granted(session, admin, form.office_ids)
    problems.raise_any()
    return ClerkForm(email, first, last, offices)


def create_clerk(
    session: Session,
    admin: Account,
    form: ClerkForm,
    *,
    actor: Actor,
    now: datetime,
    role_mailboxes: list[str],
) -> Account:
    checked = _checked(session, admin, form, role_mailboxes)
    return create_account(
        session,
        email=checked.email,
        first_name=checked.first_name,
        last_name=checked.last_name,
        role=Role.SACHBEARBEITER,
        now=now,
        actor=actor,
        role_mailboxes=role_mailboxes,
        member_id=admin.member_id,
        office_ids=checked.office_ids,
    )


def _office_numbers(session: Session, office_ids: list[int]) -> str:
    numbers = session.scalars(
        select(BillingOffice.number).where(BillingOffice.id.in_(office_ids)).order_by("number")
    )
    return ", ".join(numbers) or "keine"


def update_clerk(
    session: Session,
    admin: Account,
    clerk: Account,
    form: ClerkForm,
    *,
    actor: Actor,
    now: datetime,
    role_mailboxes: list[str],
) -> list[str]:
    """Change a clerk; offices the administrator does not hold stay as they are. Returns what
    changed (German, for the history), recorded in the audit log; nothing when nothing changed."""
    checked = _checked(session, admin, form, role_mailboxes, clerk)
    own = set(office_ids_of(session, admin))
    before = sorted(office_ids_of(session, clerk))
    after = sorted(set([o for o in before if o not in own] + checked.office_ids))
    changes = []
    if (clerk.first_name, clerk.last_name) != (checked.first_name, checked.last_name):
        changes.append(f"Name: {clerk.name} → {checked.first_name} {checked.last_name}")
    if clerk.email != checked.email:
        changes.append(f"E-Mail-Adresse: {clerk.email} → {checked.email}")
    if before != after:
        old, new = _office_numbers(session, before), _office_numbers(session, after)
        changes.append(f"Abrechnungsstellen: {old} → {new}")
    if not changes:
        return []
    clerk.email = checked.email
    clerk.first_name, clerk.last_name = checked.first_name, checked.last_name
    set_offices(session, clerk, after)
    record(session, now, "account.changed", actor, clerk, details="; ".join(changes))
    return changes
