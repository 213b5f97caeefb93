"""The registry: members with their billing offices, senders with their authorisations."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import Engine, func, inspect, select
from sqlalchemy.orm import Session

from ingest.errors import UsageError
from ingest.storing.models import Authorisation, BillingOffice, Delivery, Member, Sender
from ingest.validating.identifiers import betriebsnummer_valid

SENDER_KINDS = ("rechenzentrum", "mitglied")
_MEMBER = re.compile(r"[0-9]{6}")
_OFFICE = re.compile(r"[0-9]{3}")


@dataclass(frozen=True, slots=True)
class Grant:
    """What an `--authorize` value names: a member, or one billing office of it."""

    member: str
    office: str | None

    @classmethod
    def parse(cls, text: str) -> Grant:
        member, _, office = text.partition("/")
        if not _MEMBER.fullmatch(member) or (office and not _OFFICE.fullmatch(office)):
            raise UsageError(f"--authorize {text!r}: expected MITGLIED or MITGLIED/NNN")
        return cls(member, office or None)


NAME_LENGTH = 200  # the column's width
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def check_name(name: str, what: str) -> str:
    """A registered name: not empty, no control characters, at most 200 characters."""
    if not name.strip():
        raise UsageError(f"{what} name is empty")
    if _CONTROL.search(name):
        raise UsageError(f"{what} name {name!r} contains control characters")
    if len(name) > NAME_LENGTH:
        raise UsageError(f"{what} name is longer than {NAME_LENGTH} characters")
    return name.strip()


def check_member_number(number: str) -> str:
    if not _MEMBER.fullmatch(number):
        raise UsageError(f"Mitgliedsnummer {number!r}: expected 6 digits (0-9)")
    return number


def check_sender_number(number: str) -> str:
    if not betriebsnummer_valid(number):
        raise UsageError(
            f"Betriebsnummer {number!r} is not valid (8 digits 0-9, the last a check digit)"
        )
    return number


def add_member(session: Session, number: str, name: str, offices: list[str]) -> Member:
    """Register a member, or add billing offices to a registered one.

    For a registered member, ``name`` must be its name or empty: a different one is refused
    (renaming is :func:`rename_member`), so that a typing mistake never renames a member.
    """
    check_member_number(number)
    bad = [o for o in offices if not _OFFICE.fullmatch(o)]
    if bad:
        raise UsageError(f"Abrechnungsstelle {bad[0]!r}: expected 3 digits (0-9)")
    member = find_member(session, number)
    if member is None:
        member = Member(number=number, name=check_name(name, "member"), active=True)
        session.add(member)
        session.flush()
    elif name and name.strip() != member.name:
        raise UsageError(
            f"member {number} is registered as {member.name!r}; to rename it: "
            f"zvk members rename {number} --name NAME"
        )
    known = set(
        session.scalars(select(BillingOffice.number).where(BillingOffice.member_id == member.id))
    )
    for office in dict.fromkeys(offices):
        if office not in known:
            session.add(BillingOffice(member_id=member.id, number=office, active=True))
    session.flush()
    return member


def add_sender(session: Session, number: str, name: str, kind: str, grants: list[Grant]) -> Sender:
    """Register a sender and grant it the members and billing offices named.

    For a registered sender, ``name`` must be its name or empty and ``kind`` its kind: only
    grants are added (renaming is :func:`rename_sender`).
    """
    check_sender_number(number)
    if kind not in SENDER_KINDS:
        raise UsageError(f"--kind must be one of {', '.join(SENDER_KINDS)}")
    sender = find_sender(session, number)
    if sender is None:
        sender = Sender(number=number, name=check_name(name, "sender"), kind=kind, active=True)
        session.add(sender)
        session.flush()
    elif name and name.strip() != sender.name:
        raise UsageError(
            f"sender {number} is registered as {sender.name!r}; to rename it: "
            f"zvk senders rename {number} --name NAME"
        )
    elif kind != sender.kind:
        raise UsageError(f"sender {number} is registered as kind {sender.kind}, not {kind}")
    for grant in grants:
        member = session.scalar(select(Member).where(Member.number == grant.member))
        if member is None:
            raise UsageError(f"member {grant.member} is not registered (zvk members add)")
        office_id = None
        if grant.office is not None:
            office_id = session.scalar(
                select(BillingOffice.id).where(
                    BillingOffice.member_id == member.id, BillingOffice.number == grant.office
                )
            )
            if office_id is None:
                raise UsageError(f"member {grant.member} has no billing office {grant.office}")
        exists = session.scalar(
            select(Authorisation.id).where(
                Authorisation.sender_id == sender.id,
                Authorisation.member_id == member.id,
                Authorisation.billing_office_id.is_(None)
                if office_id is None
                else Authorisation.billing_office_id == office_id,
            )
        )
        if exists is None:
            session.add(
                Authorisation(sender_id=sender.id, member_id=member.id, billing_office_id=office_id)
            )
    session.flush()
    return sender


def find_sender(session: Session, number: str) -> Sender | None:
    return session.scalar(select(Sender).where(Sender.number == number))


def find_member(session: Session, number: str) -> Member | None:
    return session.scalar(select(Member).where(Member.number == number))


def list_senders(session: Session) -> list[Sender]:
    return list(session.scalars(select(Sender).order_by(Sender.number)))


def list_members(session: Session) -> list[tuple[Member, list[BillingOffice]]]:
    """Every member with its billing offices, by number."""
    members = list(session.scalars(select(Member).order_by(Member.number)))
    offices: dict[int, list[BillingOffice]] = {m.id: [] for m in members}
    for office in session.scalars(select(BillingOffice).order_by(BillingOffice.number)):
        offices.setdefault(office.member_id, []).append(office)
    return [(m, offices[m.id]) for m in members]


def grants_of(session: Session, number: str) -> list[str]:
    """What a sender may report for, as ``MITGLIED`` or ``MITGLIED/NNN``, sorted."""
    rows = session.execute(
        select(Member.number, BillingOffice.number)
        .select_from(Authorisation)
        .join(Sender, Sender.id == Authorisation.sender_id)
        .join(Member, Member.id == Authorisation.member_id)
        .outerjoin(BillingOffice, BillingOffice.id == Authorisation.billing_office_id)
        .where(Sender.number == number)
    )
    return sorted(member if office is None else f"{member}/{office}" for member, office in rows)


def registered_member(session: Session, number: str) -> Member:
    member = find_member(session, check_member_number(number))
    if member is None:
        raise UsageError(f"member {number} is not registered (zvk members list)")
    return member


def registered_sender(session: Session, number: str) -> Sender:
    sender = find_sender(session, check_sender_number(number))
    if sender is None:
        raise UsageError(f"sender {number} is not registered (zvk senders list)")
    return sender


def rename_member(session: Session, number: str, name: str) -> Member:
    member = registered_member(session, number)
    member.name = check_name(name, "member")
    session.flush()
    return member


def rename_sender(session: Session, number: str, name: str) -> Sender:
    sender = registered_sender(session, number)
    sender.name = check_name(name, "sender")
    session.flush()
    return sender


def set_member_active(session: Session, number: str, active: bool) -> bool:
    """Activate or deactivate a member; whether that changed anything.

    The reports of an inactive member are refused (ZVME100), its stored data stays."""
    member = registered_member(session, number)
    changed = member.active != active
    member.active = active
    session.flush()
    return changed


def set_sender_active(session: Session, number: str, active: bool) -> bool:
    """Activate or deactivate a sender; whether that changed anything.

    An inactive sender cannot log in over SFTP, and what lands in its drop folder is answered
    with ZVVO021 (not admitted); its keys, password and grants stay for a later activation."""
    sender = registered_sender(session, number)
    changed = sender.active != active
    sender.active = active
    session.flush()
    return changed


def sender_deactivated(session: Session, number: str) -> bool:
    """Whether ``number`` is a registered sender that has been deactivated."""
    active = session.scalar(select(Sender.active).where(Sender.number == number))
    return active is not None and not active


def holds_fund_data(engine: Engine) -> bool:
    """Whether the database holds any member, sender or delivery (an empty or new one: no)."""
    with engine.connect() as connection:
        tables = set(inspect(connection).get_table_names())
        return any(
            (connection.scalar(select(func.count()).select_from(model)) or 0) > 0
            for model in (Member, Sender, Delivery)
            if model.__tablename__ in tables
        )
