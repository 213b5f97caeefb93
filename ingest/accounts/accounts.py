"""Creating and changing accounts: e-mail rules, billing offices, activation."""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ingest.accounts.audit import Actor, record
from ingest.accounts.login import find_account
from ingest.accounts.models import Account, AccountOffice, Role
from ingest.accounts.passwords import AccountError
from ingest.accounts.sessions import end_sessions
from ingest.accounts.text import visible
from ingest.storing.models import BillingOffice

# local part and domain without a dot at either end or two in a row: `anna@stadt.example.` is
# the same mailbox as `anna@stadt.example` and must not pass for another address
_EMAIL = re.compile(r"(?!\.)(?!.*\.\.)[^@\s]+(?<!\.)@[^@\s.]+(?:\.[^@\s.]+)+")
_NAME_LENGTH = 100


def check_email(email: str, role_mailboxes: list[str]) -> str:
    """A personal e-mail address in lower case; role mailboxes (``info@``, ``Info+x@``, …)
    are refused."""
    email = visible(email.strip(), "Die E-Mail-Adresse").lower()
    if len(email) > 254 or not _EMAIL.fullmatch(email):
        raise AccountError("Bitte geben Sie eine gültige E-Mail-Adresse an.")
    mailbox = email.partition("@")[0].partition("+")[0]  # info+x@ is info@ (sub-addressing)
    if mailbox in {m.lower() for m in role_mailboxes}:
        raise AccountError(
            "Sammelpostfächer wie info@ oder personal@ sind nicht zugelassen: "
            "bitte eine persönliche E-Mail-Adresse angeben."
        )
    return email


def check_person_name(value: str, what: str) -> str:
    value = visible(value.strip(), "Der Name")
    if not value or len(value) > _NAME_LENGTH or any(ord(ch) < 32 for ch in value):
        raise AccountError(f"Bitte geben Sie {what} an (höchstens {_NAME_LENGTH} Zeichen).")
    return value


def create_account(
    session: Session,
    *,
    email: str,
    first_name: str,
    last_name: str,
    role: Role,
    now: datetime,
    actor: Actor,
    role_mailboxes: list[str],
    phone: str = "",
    member_id: int | None = None,
    sender_id: int | None = None,
    office_ids: list[int] | None = None,
) -> Account:
    email = check_email(email, role_mailboxes)
    if find_account(session, email) is not None:
        raise AccountError("Für diese E-Mail-Adresse besteht bereits ein Zugang.")
    account = Account(
        email=email,
        first_name=check_person_name(first_name, "den Vornamen"),
        last_name=check_person_name(last_name, "den Nachnamen"),
        phone=visible(phone.strip(), "Die Telefonnummer")[:50],
        role=role.value,
        member_id=member_id,
        sender_id=sender_id,
        active=True,
        must_set_password=True,
        failures=0,
        created_at=now,
    )
    session.add(account)
    session.flush()
    for office_id in office_ids or []:
        session.add(AccountOffice(account_id=account.id, billing_office_id=office_id))
    session.flush()
    record(session, now, "account.created", actor, account, details=f"Rolle {role.label}")
    return account


def office_ids_of(session: Session, account: Account) -> list[int]:
    return list(
        session.scalars(
            select(AccountOffice.billing_office_id).where(AccountOffice.account_id == account.id)
        )
    )


def offices_of(session: Session, account: Account) -> list[BillingOffice]:
    return list(
        session.scalars(
            select(BillingOffice)
            .join(AccountOffice, AccountOffice.billing_office_id == BillingOffice.id)
            .where(AccountOffice.account_id == account.id)
            .order_by(BillingOffice.number)
        )
    )


def set_offices(session: Session, account: Account, office_ids: list[int]) -> None:
    for row in session.scalars(select(AccountOffice).where(AccountOffice.account_id == account.id)):
        session.delete(row)
    session.flush()
    for office_id in sorted(set(office_ids)):
        session.add(AccountOffice(account_id=account.id, billing_office_id=office_id))
    session.flush()


def set_active(
    session: Session, account: Account, active: bool, actor: Actor, now: datetime
) -> None:
    """Activate or deactivate; deactivating ends every session of the account at once."""
    account.active = active
    if not active:
        end_sessions(session, account)
    record(session, now, "account.activated" if active else "account.deactivated", actor, account)
