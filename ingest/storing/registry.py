"""The registry: members with their billing offices, senders with their authorisations."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ingest.errors import UsageError
from ingest.storing.models import Authorisation, BillingOffice, Member, Sender
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


def add_member(session: Session, number: str, name: str, offices: list[str]) -> Member:
    """Register a member, or add billing offices to a registered one."""
    if not _MEMBER.fullmatch(number):
        raise UsageError(f"Mitgliedsnummer {number!r}: expected 6 digits")
    bad = [o for o in offices if not _OFFICE.fullmatch(o)]
    if bad:
        raise UsageError(f"Abrechnungsstelle {bad[0]!r}: expected 3 digits")
    member = session.scalar(select(Member).where(Member.number == number))
    if member is None:
        member = Member(number=number, name=name, active=True)
        session.add(member)
        session.flush()
    elif name:
        member.name = name
    known = set(
        session.scalars(select(BillingOffice.number).where(BillingOffice.member_id == member.id))
    )
    for office in dict.fromkeys(offices):
        if office not in known:
            session.add(BillingOffice(member_id=member.id, number=office, active=True))
    session.flush()
    return member


def add_sender(session: Session, number: str, name: str, kind: str, grants: list[Grant]) -> Sender:
    """Register a sender (or update it) and grant it the members and billing offices named."""
    if not betriebsnummer_valid(number):
        raise UsageError(f"Betriebsnummer {number!r} is not valid (8 digits, check digit)")
    if kind not in SENDER_KINDS:
        raise UsageError(f"--kind must be one of {', '.join(SENDER_KINDS)}")
    sender = session.scalar(select(Sender).where(Sender.number == number))
    if sender is None:
        sender = Sender(number=number, name=name, kind=kind, active=True)
        session.add(sender)
        session.flush()
    else:
        sender.name, sender.kind = name or sender.name, kind
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


def list_senders(session: Session) -> list[Sender]:
    return list(session.scalars(select(Sender).order_by(Sender.number)))
