"""The decision about one report: its stored-state findings and, when it is accepted, its effect.

An effect is a small value that says what accepting the report changes in the fund's data; the
rules (``ingest.storing.rules_*``) decide it by reading only, and
:mod:`ingest.storing.apply` writes it. Between the two, the
:class:`~ingest.storing.view.StoredView` remembers it, so that the file's later reports see it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from ingest.validating.findings import Finding
from ingest.validating.records import PersonData, ReportData, StatementData


@dataclass(frozen=True, slots=True)
class NewPerson:
    """A person the fund does not know: stored with the number it assigns (Rueckmeldung)."""

    id: int
    versicherungsnummer: str
    data: PersonData


@dataclass(frozen=True, slots=True)
class SetRvnr:
    """A person registered without an RVNR; the report tells it."""

    person_id: int
    rvnr: str


@dataclass(frozen=True, slots=True)
class OpenRelationship:
    """An Anmeldung opens a relationship, referring to the report's row."""

    begin: date


@dataclass(frozen=True, slots=True)
class CloseRelationship:
    """An Abmeldung ends the open relationship that began on ``begin``."""

    begin: date
    end: date


@dataclass(frozen=True, slots=True)
class CancelReport:
    """A Storno cancels the stored report ``target_id`` (of ``kind``)."""

    target_id: int
    kind: str
    person_id: int | None
    year: int | None
    month: str | None


@dataclass(frozen=True, slots=True)
class DropRelationship:
    """The cancelled Anmeldung's relationship (``id``, begun on ``begin``) is removed."""

    id: int
    person_id: int
    begin: date


@dataclass(frozen=True, slots=True)
class ReopenRelationship:
    """The cancelled Abmeldung's relationship (``id``) is open again."""

    id: int
    person_id: int
    begin: date
    end: date | None


Change = (
    NewPerson
    | SetRvnr
    | OpenRelationship
    | CloseRelationship
    | CancelReport
    | DropRelationship
    | ReopenRelationship
    | StatementData
)


@dataclass(slots=True)
class Decision:
    """The stored-state findings of one report and, when accepted, the rows it adds or changes.

    ``report`` is stored as a row of its own whenever it is applied; ``person_id`` and
    ``versicherungsnummer`` are the person it is stored for (none for a Storno or a
    Monatsabrechnung), ``office_id`` its billing office.
    """

    report: ReportData
    findings: list[Finding]
    office_id: int | None = None
    person_id: int | None = None
    versicherungsnummer: str | None = None
    year: int | None = None
    changes: list[Change] = field(default_factory=list)
    accepted: bool = False  # decided and nothing rejects it: it is to be applied

    @property
    def assigned(self) -> bool:
        """The fund assigned the person's Versicherungsnummer with this report."""
        return any(isinstance(c, NewPerson) for c in self.changes)
