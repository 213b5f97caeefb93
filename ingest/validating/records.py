"""Typed views of the parts of a report file, built from schema-valid elements."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal


class Compact:
    """Pickled as the class and its fields in order: records cross a process boundary in
    batches (``checker.FileCheck`` reads large files in a second process), and the default
    pickling of slotted classes builds a dict per object."""

    __slots__ = ()

    def __reduce__(self) -> tuple[object, tuple[object, ...]]:
        names: tuple[str, ...] = getattr(type(self), "__match_args__")  # noqa: B009
        return type(self), tuple([getattr(self, name) for name in names])


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


@dataclass(frozen=True, slots=True)
class Trailer:
    """The `Nachlauf`."""

    count: int
    sum_pay: Decimal
    sum_amount: Decimal
    line: int | None = None


@dataclass(slots=True)
class PersonData(Compact):
    versicherungsnummer: str | None
    rvnr: str | None
    family_name: str
    first_name: str
    birth_name: str | None
    birth_date: date
    gender: str
    personnel_number: str | None

    def __reduce__(self) -> tuple[object, tuple[object, ...]]:
        return _person, (
            self.versicherungsnummer,
            self.rvnr,
            self.family_name,
            self.first_name,
            self.birth_name,
            self.birth_date.toordinal(),
            self.gender,
            self.personnel_number,
        )


@dataclass(slots=True)
class PeriodData(Compact):
    """An `Abschnitt`; ``position`` is 1-based within its report."""

    position: int
    begin: date
    end: date
    booking_key: str
    pay: Decimal
    amount: Decimal
    children: int | None

    def __reduce__(self) -> tuple[object, tuple[object, ...]]:
        return _period, (
            self.position,
            self.begin.toordinal(),
            self.end.toordinal(),
            self.booking_key,
            str(self.pay),
            str(self.amount),
            self.children,
        )

    @property
    def merkmal(self) -> str:
        return self.booking_key[2:4]

    @property
    def where(self) -> str:
        return f"Abschnitt[{self.position}]"


@dataclass(slots=True)
class StatementData(Compact):
    """The figures of a `Monatsabrechnung`."""

    month: str
    insured_count: int
    pay: Decimal
    levy: Decimal
    additional: Decimal
    restructuring: Decimal
    total: Decimal


@dataclass(slots=True)
class ReportData(Compact):
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
    periods: tuple[PeriodData, ...] = field(default_factory=tuple)
    statement: StatementData | None = None
    reference: str | None = None

    def __reduce__(self) -> tuple[object, tuple[object, ...]]:
        return _report, (
            self.kind,
            self.satz,
            self.line,
            self.meldungs_id,
            self.member,
            self.office,
            self.person,
            self.begin.toordinal() if self.begin else None,
            self.end.toordinal() if self.end else None,
            self.reason,
            self.periods,
            self.statement,
            self.reference,
        )


# Rebuilding records from their pickled form: dates travel as ordinals and amounts as text,
# which pickle several times faster than `date` and `Decimal` objects.
def _person(*v: Any) -> PersonData:
    return PersonData(v[0], v[1], v[2], v[3], v[4], date.fromordinal(v[5]), v[6], v[7])


def _period(*v: Any) -> PeriodData:
    return PeriodData(
        v[0],
        date.fromordinal(v[1]),
        date.fromordinal(v[2]),
        v[3],
        Decimal(v[4]),
        Decimal(v[5]),
        v[6],
    )


def _report(*v: Any) -> ReportData:
    return ReportData(
        v[0],
        v[1],
        v[2],
        v[3],
        v[4],
        v[5],
        v[6],
        date.fromordinal(v[7]) if v[7] is not None else None,
        date.fromordinal(v[8]) if v[8] is not None else None,
        v[9],
        v[10],
        v[11],
        v[12],
    )
