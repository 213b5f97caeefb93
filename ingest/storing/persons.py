"""Finding a member's insured persons and their numbers (the "search for missing numbers").

A member (or a data center working for it) often knows a person's RVNR, or only name and birth
date, and needs the fund's Versicherungsnummer. The search is always limited to the persons who
have, or had, an insurance relationship at one of that member's billing offices: a member never
learns about persons of other members.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from ingest.errors import UsageError
from ingest.storing.models import BillingOffice, Insurance, Member, Person

_GERMAN = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})


def name_key(name: str) -> str:
    """A name as a search key: case, umlaut spelling, accents and spacing do not matter.

    ``Müller``, ``MUELLER`` and ``mueller`` give the same key, as do ``José`` and ``Jose``.
    """
    text = unicodedata.normalize("NFC", name).casefold().translate(_GERMAN)
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return " ".join(text.replace("-", " ").split())


@dataclass(frozen=True, slots=True)
class Relationship:
    billing_office: str
    begin: date
    end: date | None


@dataclass(frozen=True, slots=True)
class PersonHit:
    versicherungsnummer: str
    rvnr: str | None
    family_name: str
    first_name: str
    birth_name: str | None
    birth_date: date
    relationships: tuple[Relationship, ...]


def search_persons(
    session: Session,
    member: str,
    *,
    rvnr: str | None = None,
    family_name: str | None = None,
    birth_date: date | None = None,
    first_name: str | None = None,
) -> list[PersonHit]:
    """The member's persons with this RVNR, or with this family (or birth) name and birth date.

    Raises :class:`UsageError` for an unknown member or an incomplete query.
    """
    if rvnr is None and (family_name is None or birth_date is None):
        raise UsageError("search by --rvnr, or by --name together with --geburtsdatum")
    member_id = session.scalar(select(Member.id).where(Member.number == member))
    if member_id is None:
        raise UsageError(f"member {member} is not registered")
    query = (
        select(Person, BillingOffice.number, Insurance.begin, Insurance.end)
        .join(Insurance, Insurance.person_id == Person.id)
        .join(BillingOffice, BillingOffice.id == Insurance.billing_office_id)
        .where(BillingOffice.member_id == member_id)
        .order_by(Person.family_name, Person.first_name, Person.id, Insurance.begin)
    )
    if rvnr is not None:
        query = query.where(Person.rvnr == rvnr.strip().upper())
    if birth_date is not None:
        query = query.where(Person.birth_date == birth_date)
    wanted_family = name_key(family_name) if family_name else None
    wanted_first = name_key(first_name) if first_name else None
    found: dict[int, tuple[Person, list[Relationship]]] = {}
    for person, office, begin, end in session.execute(query):
        if wanted_family is not None and wanted_family not in {
            name_key(person.family_name),
            name_key(person.birth_name or ""),
        }:
            continue
        if wanted_first is not None and name_key(person.first_name) != wanted_first:
            continue
        found.setdefault(person.id, (person, []))[1].append(Relationship(office, begin, end))
    return [
        PersonHit(
            versicherungsnummer=p.versicherungsnummer,
            rvnr=p.rvnr,
            family_name=p.family_name,
            first_name=p.first_name,
            birth_name=p.birth_name,
            birth_date=p.birth_date,
            relationships=tuple(rels),
        )
        for p, rels in found.values()
    ]
