"""Typed views of the parts of a report file, built from schema-valid elements."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Literal

import msgspec


class _Record(msgspec.Struct, array_like=True, gc=False):
    """A report's data as read from the file.

    Records cross a process boundary in batches (``checker.FileCheck`` reads a large file in a
    second process): as msgspec structs they encode to MessagePack arrays and decode, typed,
    without the cost of rebuilding dataclasses through pickle. They hold no references to other
    objects that could form a cycle, so the cyclic garbage collector does not track them.
    """


ReportKind = Literal["Anmeldung", "Abmeldung", "Jahresmeldung", "Monatsabrechnung", "Storno"]
REPORT_KINDS: tuple[ReportKind, ...] = (
    "Anmeldung",
    "Abmeldung",
    "Jahresmeldung",
    "Monatsabrechnung",
    "Storno",
)
PERSON_KINDS = frozenset({"Anmeldung", "Abmeldung", "Jahresmeldung"})
ALLOWED_BY_FILE_KIND: dict[str, frozenset[str]] = {
    "Monatsmeldung": frozenset({"Anmeldung", "Abmeldung", "Monatsabrechnung", "Storno"}),
    "Jahresmeldung": frozenset({"Jahresmeldung", "Storno"}),
}


@dataclass(frozen=True, slots=True)
class Header:
    """The `Vorlauf`."""

    sender: str
    file_number: int
    created: datetime
    file_kind: str
    period: str
    test: bool
    software: str | None
    line: int | None = None
    created_text: str = ""  # `Erstellt` as written: ``created`` may be clamped (see moments)


@dataclass(frozen=True, slots=True)
class Trailer:
    """The `Nachlauf`."""

    count: int
    sum_pay: Decimal
    sum_amount: Decimal
    line: int | None = None


class PersonData(_Record):
    versicherungsnummer: str | None
    rvnr: str | None
    family_name: str
    first_name: str
    birth_name: str | None
    birth_date: date
    gender: str
    personnel_number: str | None


class PeriodData(_Record):
    """An `Abschnitt`; ``position`` is 1-based within its report."""

    position: int
    begin: date
    end: date
    booking_key: str
    pay: Decimal
    amount: Decimal
    children: int | None

    @property
    def merkmal(self) -> str:
        return self.booking_key[2:4]

    @property
    def where(self) -> str:
        return f"Abschnitt[{self.position}]"


class StatementData(_Record):
    """The figures of a `Monatsabrechnung`."""

    month: str
    insured_count: int
    pay: Decimal
    levy: Decimal
    additional: Decimal
    restructuring: Decimal
    total: Decimal


class ReportData(_Record):
    """One report of any kind; fields that a kind does not have stay ``None``."""

    kind: ReportKind
    satz: int
    line: int | None
    meldungs_id: str
    member: str
    office: str
    person: PersonData | None = None
    begin: date | None = None
    end: date | None = None
    reason: str | None = None
    periods: tuple[PeriodData, ...] = ()
    statement: StatementData | None = None
    reference: str | None = None
