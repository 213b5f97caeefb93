"""Read-only lookups of the fund's stored state, as one delivery (or one dry run) sees it.

The stored-state rules (``ingest.storing.rules_*``) ask these and nothing else; no method here
writes a row. A batch's lookups are loaded in a few queries (:meth:`StoredView.prefetch`), each
with all its keys in one parameter (the backend's ``among``); a lookup asked outside the
batch loads its one key.

On top of the stored state lies what the file's earlier accepted reports changed
(:meth:`StoredView.remember`), so that a later report of the same file sees it (an Anmeldung
then the Jahresmeldung of the same person; a Storno then the corrected report). While the
effects are written batch by batch, the caches hold this until the batch is written and the
database answers again. When nothing is written (a test delivery, a file refused by its Vorlauf),
the batch's changes go into an :class:`~ingest.storing.overlay.Overlay` that answers for them
in later batches.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from ingest.storing.backend import Backend, backend_of
from ingest.storing.bulk import IdAllocator
from ingest.storing.history import stored_leave
from ingest.storing.lookup_sql import Statistics
from ingest.storing.models import (
    Authorisation,
    BillingOffice,
    Insurance,
    Member,
    Person,
    Report,
    Sender,
)
from ingest.storing.overlay import Overlay, Span, pair_key
from ingest.storing.remember import Remembering
from ingest.storing.view_history import HistoryLookups
from ingest.validating.identifiers import make_versicherungsnummer
from ingest.validating.records import PersonData, ReportData


@dataclass(frozen=True, slots=True)
class Office:
    id: int
    member_id: int
    active: bool


@dataclass(slots=True)
class PersonRef:
    """A stored (or, within the file, newly reported) person: what the checks need of it."""

    id: int
    versicherungsnummer: str
    rvnr: str | None


@dataclass
class StoredView(Remembering, HistoryLookups):
    """The stored state as one delivery of one sender sees it, inside its transaction.

    ``overlay``: where the file's changes are kept when they are not written (``None``: they are
    written batch by batch, and the database is the truth after each batch).
    """

    session: Session
    sender: Sender | None
    sender_number: str
    year: int | None
    overlay: Overlay | None = None
    analyze: bool = True  # renew the planner's statistics as a delivery grows (PostgreSQL)
    _offices: dict[tuple[str, str], Office | None] = field(default_factory=dict)
    _grants: dict[int, bool] = field(default_factory=dict)
    _person_ids: IdAllocator = field(default_factory=lambda: IdAllocator(Person.__table__))  # type: ignore[arg-type]
    _provisional: int = 0  # persons numbered here while nothing is written: -1, -2, …
    _provisional_reports: int = 0  # the file's reports likewise (see ``remember``)
    # What the current batch knows of the stored state plus what the file's earlier reports
    # changed: filled in bulk by ``prefetch``, else one key at a time.
    _used: dict[str, bool] = field(default_factory=dict)
    _persons: dict[int, PersonRef] = field(default_factory=dict)
    _by_rvnr: dict[str, PersonRef | None] = field(default_factory=dict)
    _by_number: dict[str, PersonRef | None] = field(default_factory=dict)
    _spans: dict[tuple[int, int], list[Span]] = field(default_factory=dict)
    _annual: dict[tuple[int, int], bool] = field(default_factory=dict)
    _leave: dict[int, list[Any]] = field(default_factory=dict)
    _statistics: Statistics = field(default_factory=Statistics)
    _statements: dict[str, Any] = field(default_factory=dict)  # the batch lookups, built once
    _backend: Backend = field(init=False)
    # The first and last day of the file's year, asked by every Jahresmeldung. Set in
    # ``__post_init__``, as every attribute is: one added later (a cached property, say) gives
    # the object a dictionary of its own and makes every attribute lookup on it slower.
    year_bounds: tuple[date, date] | None = field(init=False, repr=False)

    def __post_init__(self) -> None:
        year = self.year
        self.year_bounds = None if year is None else (date(year, 1, 1), date(year, 12, 31))
        self._backend = backend_of(self.session)

    # -- batches --------------------------------------------------------------------------
    def forget_batch(self) -> None:
        """The batch's changes are written (or kept in the overlay): forget what it knew."""
        if self.overlay is not None:
            self.overlay.keep()
        for cache in (
            self._used,
            self._persons,
            self._by_rvnr,
            self._by_number,
            self._spans,
            self._annual,
            self._leave,
        ):
            cache.clear()

    def prefetch(self, reports: Sequence[ReportData]) -> None:
        """Start a batch: load in a few queries what its reports will ask of the stored state."""
        if self._backend.refreshes_statistics and self.analyze:
            self._statistics.renew_when_grown(self.session, self._backend, len(reports))
        self._load_used([r.meldungs_id for r in reports])
        people = [r.person for r in reports if r.person is not None]
        self._load_persons(Person.rvnr, [p.rvnr for p in people if p.rvnr], self._by_rvnr)
        numbers = [p.versicherungsnummer for p in people if p.versicherungsnummer]
        self._load_persons(Person.versicherungsnummer, numbers, self._by_number)
        pairs: set[tuple[int, int]] = set()
        for r in reports:
            office = self.office(r.member, r.office)
            person = self._cached_person(r.person) if r.person else None
            if office is not None and person is not None:
                pairs.add((person.id, office.id))
        self._load_spans(pairs)
        self._load_annual(pairs)

    def _statement(self, name: str, build: Callable[[], Any]) -> Any:
        """A batch lookup's statement, built on first use (building one costs more than
        SQLAlchemy's cached compilation of it)."""
        statement = self._statements.get(name)
        if statement is None:
            statement = self._statements[name] = build()
        return statement

    def _lookup(self, statement: Any, values: Sequence[Any]) -> Any:
        """Run a batch lookup: ``statement`` filters with the backend's ``among``, ``values`` its
        keys, all in one parameter (one prepared statement for any number of keys).

        Core on the session's connection: the ORM's result machinery is not needed for rows.
        """
        return self.session.connection().execute(statement, {"keys": self._backend.keys(values)})

    def _load_used(self, ids: list[str]) -> None:
        if not ids:
            return
        self._used.update(dict.fromkeys(ids, False))
        statement = self._statement(
            "used",
            lambda: select(Report.meldungs_id).where(
                Report.sender_number == self.sender_number,
                self._backend.among(Report.meldungs_id),
            ),
        )
        self._used.update((found, True) for (found,) in self._lookup(statement, ids))
        if self.overlay is not None:
            self._used.update(self.overlay.get("used", ids))

    def _load_persons(
        self, column: Any, values: list[str], cache: dict[str, PersonRef | None]
    ) -> None:
        missing = [v for v in dict.fromkeys(values) if v not in cache]
        if not missing:
            return
        cache.update(dict.fromkeys(missing))
        statement = self._statement(
            f"persons by {column.key}",
            lambda: select(Person.id, Person.versicherungsnummer, Person.rvnr).where(
                self._backend.among(column)
            ),
        )
        by_number = column is Person.versicherungsnummer
        for pid, number, rvnr in self._lookup(statement, missing):
            ref = self._remember_person(pid, number, rvnr)
            key = number if by_number else rvnr
            if key is not None:
                cache[key] = ref
        if self.overlay is not None:
            kind = "number" if by_number else "rvnr"
            for key, (pid, number, rvnr) in self.overlay.get(kind, missing).items():
                ref = self._remember_person(pid, number, rvnr)
                ref.rvnr = rvnr  # the file told it: it overrides the stored one
                cache[key] = ref

    def _remember_person(self, pid: int, number: str, rvnr: str | None) -> PersonRef:
        ref = self._persons.get(pid)
        if ref is None:
            ref = self._persons[pid] = PersonRef(pid, number, rvnr)
        return ref

    def _cached_person(self, data: PersonData) -> PersonRef | None:
        if data.versicherungsnummer is not None:
            return self._by_number.get(data.versicherungsnummer)
        return self._by_rvnr.get(data.rvnr) if data.rvnr else None

    def _load_spans(self, pairs: set[tuple[int, int]]) -> None:
        self._spans.update((pair, []) for pair in pairs)
        if not pairs:
            return
        statement = self._statement(
            "spans",
            lambda: (
                select(
                    Insurance.person_id, Insurance.billing_office_id, Insurance.begin, Insurance.end
                )
                .where(self._backend.among(Insurance.person_id))
                .order_by(Insurance.begin)
            ),
        )
        stored = sorted({p for p, _ in pairs if p > 0})
        if stored:
            spans = self._spans
            for pid, oid, begin, end in self._lookup(statement, stored):
                found = spans.get((pid, oid))
                if found is not None and (pid, oid) in pairs:
                    found.append((begin, end))
        if self.overlay is not None:
            self._spans.update(self.overlay.spans(pairs))

    def _load_annual(self, pairs: set[tuple[int, int]]) -> None:
        if self.year is None:
            return
        self._annual.update(dict.fromkeys(pairs, False))
        if not pairs:
            return
        statement = self._statement(
            "annual",
            lambda: select(Report.person_id, Report.billing_office_id).where(
                *self.annual_filter(), self._backend.among(Report.person_id)
            ),
        )
        rows = self._lookup(statement, sorted({p for p, _ in pairs}))
        self._annual.update(((pid, oid), True) for pid, oid in rows if pid is not None)
        if self.overlay is not None:
            found = self.overlay.get("annual", [pair_key(p) for p in pairs])
            self._annual.update((p, found[pair_key(p)]) for p in pairs if pair_key(p) in found)

    def annual_filter(self) -> list[ColumnElement[bool]]:
        return [
            Report.kind == "Jahresmeldung",
            Report.year == self.year,
            Report.cancelled.is_(False),
        ]

    # -- lookups --------------------------------------------------------------------------
    # Asked several times per report and almost always hits: a hit costs one dictionary
    # lookup (a try statement costs nothing while no exception is raised).
    def office(self, member: str, office: str) -> Office | None:
        key = (member, office)
        try:
            return self._offices[key]
        except KeyError:
            pass
        row = self.session.execute(
            select(BillingOffice.id, BillingOffice.member_id, BillingOffice.active, Member.active)
            .join(Member, Member.id == BillingOffice.member_id)
            .where(Member.number == member, BillingOffice.number == office)
        ).first()
        found = self._offices[key] = (
            Office(id=row[0], member_id=row[1], active=bool(row[2] and row[3])) if row else None
        )
        return found

    def authorised(self, office: Office) -> bool:
        if self.sender is None:
            return False
        try:
            return self._grants[office.id]
        except KeyError:
            pass
        grant = self.session.scalar(
            select(Authorisation.id).where(
                Authorisation.sender_id == self.sender.id,
                Authorisation.member_id == office.member_id,
                or_(
                    Authorisation.billing_office_id.is_(None),
                    Authorisation.billing_office_id == office.id,
                ),
            )
        )
        granted = self._grants[office.id] = grant is not None
        return granted

    def meldungs_id_used(self, meldungs_id: str) -> bool:
        try:
            return self._used[meldungs_id]
        except KeyError:
            pass
        self._load_used([meldungs_id])
        return self._used[meldungs_id]

    def person_by_number(self, number: str) -> PersonRef | None:
        try:
            return self._by_number[number]
        except KeyError:
            pass
        self._load_persons(Person.versicherungsnummer, [number], self._by_number)
        return self._by_number[number]

    def person_by_rvnr(self, rvnr: str) -> PersonRef | None:
        try:
            return self._by_rvnr[rvnr]
        except KeyError:
            pass
        self._load_persons(Person.rvnr, [rvnr], self._by_rvnr)
        return self._by_rvnr[rvnr]

    def spans_of(self, person_id: int, office_id: int) -> list[Span]:
        """The relationships of a person at a billing office, by begin."""
        key = (person_id, office_id)
        try:
            return self._spans[key]
        except KeyError:
            pass
        self._load_spans({key})
        return self._spans[key]

    def annual_exists(self, person_id: int, office_id: int) -> bool:
        """An uncancelled Jahresmeldung of the person at the office for the file's year."""
        key = (person_id, office_id)
        try:
            return self._annual[key]
        except KeyError:
            pass
        self._load_annual({key})
        return self._annual.get(key, False)

    def leave_of(self, person_id: int) -> list[Any]:
        """The person's uncancelled parental-leave periods: begin, end, children."""
        try:
            return self._leave[person_id]
        except KeyError:
            pass
        leave = stored_leave(self.session, person_id) if person_id > 0 else []
        if self.overlay is not None:
            leave = self.overlay.leave(person_id, leave)
        self._leave[person_id] = leave
        return leave

    # -- new persons ----------------------------------------------------------------------
    def new_person_id(self) -> tuple[int, str]:
        """An id and Versicherungsnummer for a person the file reports for the first time.

        While nothing is written the person is numbered provisionally (a negative id and a
        number no file can carry): it is known to the file's later reports by its RVNR only.
        """
        if self.overlay is None:
            pid = self._person_ids.take(self.session)
            return pid, make_versicherungsnummer(pid)
        self._provisional -= 1
        return self._provisional, f"neu{-self._provisional}"

    def forget_ids(self) -> None:
        """Rows were written by the ORM: ask the table again for the next id (SQLite)."""
        self._person_ids.forget()
