"""Checks against the fund's stored state, and the effect of one accepted report.

Reports are applied in file order inside the delivery's open transaction, so a later report of
the same file sees what an earlier one changed (a `Storno` followed by the corrected report).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, String, any_, bindparam, func, or_, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from ingest.storing.bulk import IdAllocator, Pending, day
from ingest.storing.models import (
    Authorisation,
    BillingOffice,
    Delivery,
    Insurance,
    Member,
    MonthlyStatement,
    Period,
    Person,
    Report,
    Sender,
)
from ingest.validating.findings import Catalogue, Finding
from ingest.validating.identifiers import make_versicherungsnummer
from ingest.validating.moments import month_bounds, year_of_period
from ingest.validating.records import Header, PeriodData, PersonData, ReportData

Add = Callable[[str, str | None, str | None], None]
PARENTAL_LEAVE = "28"
MONTHS_PER_CHILD = 36
# Kinds applied through the ORM, one flush each: they change stored rows (close or reopen a
# relationship, cancel a report) or count over them. The frequent kinds (Anmeldung,
# Jahresmeldung) only add rows and are applied in batches (see ``ingest.storing.bulk``).
ORM_KINDS = frozenset({"Abmeldung", "Monatsabrechnung", "Storno"})
ANALYZE_GROWTH = 0.5  # share by which the reports grow between two ANALYZE (PostgreSQL)
ANALYZE_MIN_ROWS = 1000  # and at least this many rows
# The columns that the statements of a delivery filter or join on: statistics of the others
# are not needed during the pass, and computing them doubled the time of each ANALYZE.
ANALYZED = (
    "persons (versicherungsnummer, rvnr)",
    "reports (sender_number, meldungs_id, person_id, billing_office_id, kind, year, cancelled)",
    "periods (report_id)",
    "insurances (person_id, billing_office_id, opened_by)",
)
Span = tuple[date, date | None]  # an insurance relationship's begin and end
Leave = tuple[date, date, int | None]  # a stored parental-leave period: begin, end, children


@dataclass(frozen=True, slots=True)
class Office:
    id: int
    member_id: int
    active: bool


@dataclass(slots=True)
class PersonRef:
    """A stored (or, within the batch, pending) person: what the checks need of it."""

    id: int
    versicherungsnummer: str
    rvnr: str | None


@dataclass(frozen=True, slots=True)
class Assignment:
    """A Versicherungsnummer the fund assigned to a new person (the protocol's Rueckmeldung)."""

    satz: int
    meldungs_id: str
    versicherungsnummer: str


@dataclass
class StoredState:
    """The stored state as one delivery of one sender sees it, inside its transaction."""

    session: Session
    catalogue: Catalogue
    sender: Sender | None
    sender_number: str
    delivery_pk: int
    year: int | None
    _offices: dict[tuple[str, str], Office | None] = field(default_factory=dict)
    _grants: dict[int, bool] = field(default_factory=dict)
    # What the current batch knows of the stored state, plus what its earlier reports added:
    # filled in bulk by ``prefetch``, else one key at a time; emptied once the pending rows are
    # written, so that the database is again the only truth.
    _pending: Pending = field(default_factory=Pending)
    _person_ids: IdAllocator = field(default_factory=lambda: IdAllocator(_t(Person)))
    _report_ids: IdAllocator = field(default_factory=lambda: IdAllocator(_t(Report)))
    _used: dict[str, bool] = field(default_factory=dict)
    _persons: dict[int, PersonRef] = field(default_factory=dict)
    _by_rvnr: dict[str, PersonRef | None] = field(default_factory=dict)
    _by_number: dict[str, PersonRef | None] = field(default_factory=dict)
    _spans: dict[tuple[int, int], list[Span]] = field(default_factory=dict)
    _annual: dict[tuple[int, int], bool] = field(default_factory=dict)
    _leave: dict[int, list[Leave]] = field(default_factory=dict)
    _analyzed_reports: int | None = None  # reports in the table at the last ANALYZE
    _written_reports: int = 0  # reports written by this delivery since then
    _statements: dict[str, Any] = field(default_factory=dict)  # the batch lookups, built once
    # The first and last day of the file's year, asked by every Jahresmeldung. Set in
    # ``__init__``, as every attribute is: one added later (a cached property, say) makes
    # Python 3.11 give the object a dictionary of its own, and every attribute lookup on it
    # slower (callgrind: 2,500 more instructions per annual report).
    year_bounds: tuple[date, date] | None = field(init=False, repr=False)

    def __post_init__(self) -> None:
        year = self.year
        self.year_bounds = None if year is None else (date(year, 1, 1), date(year, 12, 31))

    @property
    def _postgres(self) -> bool:
        return self.session.get_bind().dialect.name == "postgresql"

    # -- batches --------------------------------------------------------------------------
    def write_pending(self) -> None:
        """Write the batch's new rows and forget what the batch knew."""
        if self._pending:
            self._pending.write(self.session)
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
        self.write_pending()
        self.session.flush()  # the lookups below go around the ORM: it must have written all
        if self._postgres:
            self._analyze_when_grown(len(reports))
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

    def _analyze_when_grown(self, coming: int) -> None:
        """Renew the planner's statistics when this delivery has grown the tables by half.

        The statistics lag behind a file that adds a million rows in one transaction, and
        stale ones turn the batch lookups into sequential scans. Every table grows at most as
        fast as the reports (one row per report; persons, relationships and periods follow
        them), so their count decides: at the start, and then whenever the reports written
        since the last ANALYZE are half of what the table held then (17 times for a million
        reports into an empty database, twice for a million on top of a million).
        """
        if self._analyzed_reports is None:
            self.session.execute(text(f"ANALYZE {', '.join(ANALYZED)}"))
            self._analyzed_reports = self.session.scalar(select(func.count(Report.id))) or 0
        elif self._written_reports >= max(
            ANALYZE_MIN_ROWS, ANALYZE_GROWTH * self._analyzed_reports
        ):
            self.session.execute(text(f"ANALYZE {', '.join(ANALYZED)}"))
            self._analyzed_reports += self._written_reports
            self._written_reports = 0
        self._written_reports += coming

    def _statement(self, name: str, build: Callable[[], Any]) -> Any:
        """A batch lookup's statement, built on first use (building one costs more than
        SQLAlchemy's cached compilation of it)."""
        statement = self._statements.get(name)
        if statement is None:
            statement = self._statements[name] = build()
        return statement

    def _lookup(self, statement: Any, values: Sequence[Any]) -> Any:
        """Run a batch lookup: ``statement`` filters with :func:`_among`, ``values`` its keys.

        Core on the session's connection (the ORM's result machinery is not needed for plain
        rows), with all the keys in one parameter: one prepared statement for any number of
        them, instead of a statement with a placeholder per key that the driver and the
        server had to parse and plan for every batch.
        """
        keys = list(values) if self._postgres else json.dumps(list(values))
        return self.session.connection().execute(statement, {"keys": keys})

    def _load_used(self, ids: list[str]) -> None:
        if not ids:
            return
        self._used.update(dict.fromkeys(ids, False))
        statement = self._statement(
            "used",
            lambda: select(Report.meldungs_id).where(
                Report.sender_number == self.sender_number,
                _among(Report.meldungs_id, self._postgres),
            ),
        )
        self._used.update((found, True) for (found,) in self._lookup(statement, ids))

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
                _among(column, self._postgres)
            ),
        )
        for pid, number, rvnr in self._lookup(statement, missing):
            ref = self._remember(pid, number, rvnr)
            key = number if column is Person.versicherungsnummer else rvnr
            if key is not None:
                cache[key] = ref

    def _remember(self, pid: int, number: str, rvnr: str | None) -> PersonRef:
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
                .where(_among(Insurance.person_id, self._postgres))
                .order_by(Insurance.begin)
            ),
        )
        for pid, oid, begin, end in self._lookup(statement, sorted({p for p, _ in pairs})):
            self._spans.setdefault((pid, oid), []).append((begin, end))

    def _load_annual(self, pairs: set[tuple[int, int]]) -> None:
        if self.year is None:
            return
        self._annual.update(dict.fromkeys(pairs, False))
        if not pairs:
            return
        statement = self._statement(
            "annual",
            lambda: select(Report.person_id, Report.billing_office_id).where(
                *self._annual_filter(), _among(Report.person_id, self._postgres)
            ),
        )
        rows = self._lookup(statement, sorted({p for p, _ in pairs}))
        self._annual.update(((pid, oid), True) for pid, oid in rows if pid is not None)

    def _annual_filter(self) -> list[ColumnElement[bool]]:
        return [
            Report.kind == "Jahresmeldung",
            Report.year == self.year,
            Report.cancelled.is_(False),
        ]

    # -- lookups --------------------------------------------------------------------------
    # The lookups below are asked several times per report and almost always hit: a hit costs
    # one dictionary lookup (a try statement costs nothing while no exception is raised).
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

    def _find_person(self, data: PersonData) -> tuple[PersonRef | None, str | None, str | None]:
        """Like :meth:`_person`, from the batch's knowledge."""
        by_number = by_rvnr = None
        if data.versicherungsnummer is not None:
            by_number = self._known_person(
                Person.versicherungsnummer, data.versicherungsnummer, self._by_number
            )
            if by_number is None:
                return None, "ZVME096", "Person/Versicherungsnummer"
        if data.rvnr is not None:
            by_rvnr = self._known_person(Person.rvnr, data.rvnr, self._by_rvnr)
        if by_number is not None and by_rvnr is not None and by_number.id != by_rvnr.id:
            return None, "ZVME097", "Person/RVNR"
        return by_number or by_rvnr, None, None

    def _spans_of(self, person_id: int, office_id: int) -> list[Span]:
        """The relationships of a person at a billing office, by begin."""
        key = (person_id, office_id)
        try:
            return self._spans[key]
        except KeyError:
            pass
        spans = self._spans[key] = [
            (begin, end)
            for begin, end in self.session.execute(
                select(Insurance.begin, Insurance.end)
                .where(Insurance.person_id == person_id, Insurance.billing_office_id == office_id)
                .order_by(Insurance.begin)
            )
        ]
        return spans

    def _known_person(
        self, column: Any, key: str, cache: dict[str, PersonRef | None]
    ) -> PersonRef | None:
        """The person with ``key`` in ``column`` (RVNR or Versicherungsnummer), if stored."""
        try:
            return cache[key]
        except KeyError:
            pass
        self._load_persons(column, [key], cache)
        return cache[key]

    def _annual_exists(self, person_id: int, office_id: int) -> bool:
        """An uncancelled Jahresmeldung of the person at the office for the file's year."""
        key = (person_id, office_id)
        try:
            return self._annual[key]
        except KeyError:
            pass
        found = self.session.scalar(
            select(Report.id).where(
                *self._annual_filter(),
                Report.person_id == person_id,
                Report.billing_office_id == office_id,
            )
        )
        exists = self._annual[key] = found is not None
        return exists

    def _leave_of(self, person_id: int) -> list[Leave]:
        """The person's uncancelled parental-leave periods."""
        try:
            return self._leave[person_id]
        except KeyError:
            pass
        leave = self._leave[person_id] = [
            (b, e, c) for b, e, c in _stored_leave(self.session, person_id)
        ]
        return leave

    # -- batched effects ------------------------------------------------------------------
    def _new_person(self, data: PersonData) -> PersonRef:
        pid = self._person_ids.take(self.session)
        number = make_versicherungsnummer(pid)
        self._pending.persons.append(
            (
                pid,
                number,
                data.rvnr,
                data.family_name,
                data.first_name,
                data.birth_name,
                day(data.birth_date),
                data.gender,
            )
        )
        ref = self._remember(pid, number, data.rvnr)
        self._by_number[number] = ref
        if data.rvnr is not None:
            self._by_rvnr[data.rvnr] = ref
        return ref

    def _set_rvnr(self, person: PersonRef, rvnr: str) -> None:
        self._pending.rvnr_updates.append((person.id, rvnr))
        person.rvnr = rvnr
        self._by_rvnr[rvnr] = person

    def _add_report(
        self,
        report: ReportData,
        office: Office,
        person: PersonRef,
        *,
        year: int | None = None,
        assigned: bool = False,
    ) -> int:
        rid = self._report_ids.take(self.session)
        self._pending.reports.append(
            (
                rid,
                self.delivery_pk,
                self.sender_number,
                report.satz,
                report.meldungs_id,
                report.kind,
                office.id,
                person.id,
                report.person.rvnr if report.person else None,
                person.versicherungsnummer,
                day(report.begin),
                day(report.end),
                report.reason,
                year,
                None,
                report.reference,
                0,  # cancelled
                1 if assigned else 0,
            )
        )
        periods = self._pending.periods
        for p in report.periods:  # a plain loop: a generator costs more than the rows it makes
            periods.append(
                (
                    rid,
                    p.position,
                    day(p.begin),
                    day(p.end),
                    p.booking_key,
                    str(p.pay),
                    str(p.amount),
                    p.children,
                )
            )
        self._used[report.meldungs_id] = True
        return rid

    def _person(self, data: PersonData) -> tuple[Person | None, str | None, str | None]:
        """The stored person, and the problem code and field when the numbers disagree."""
        by_number = by_rvnr = None
        if data.versicherungsnummer is not None:
            by_number = self.session.scalar(
                select(Person).where(Person.versicherungsnummer == data.versicherungsnummer)
            )
            if by_number is None:
                return None, "ZVME096", "Person/Versicherungsnummer"
        if data.rvnr is not None:
            by_rvnr = self.session.scalar(select(Person).where(Person.rvnr == data.rvnr))
        if by_number is not None and by_rvnr is not None and by_number.id != by_rvnr.id:
            return None, "ZVME097", "Person/RVNR"
        return by_number or by_rvnr, None, None

    def _relationships(self, person_id: int, office_id: int) -> list[Insurance]:
        return list(
            self.session.scalars(
                select(Insurance)
                .where(Insurance.person_id == person_id, Insurance.billing_office_id == office_id)
                .order_by(Insurance.begin)
            )
        )

    # -- checks and effect ----------------------------------------------------------------
    def check_and_apply(
        self, report: ReportData, earlier: list[Finding]
    ) -> tuple[list[Finding], Assignment | None]:
        """Findings from stored state; when no F finding remains, the report is applied."""
        out: list[Finding] = []

        def add(code: str, detail: str | None = None, fld: str | None = None) -> None:
            out.append(
                self.catalogue.finding(
                    code,
                    detail,
                    satz=report.satz,
                    meldungs_id=report.meldungs_id,
                    field=fld,
                    line=report.line,
                )
            )

        through_orm = report.kind in ORM_KINDS
        if through_orm:
            self._before_orm()
        office = self.office(report.member, report.office)
        if office is None or not office.active:
            add("ZVME100", f"{report.member}/{report.office}", "Mitgliedsnummer")
            return out, None
        if not self.authorised(office):
            add("ZVVO022", f"{report.member}/{report.office}", "Abrechnungsstelle")
            return out, None
        if self.meldungs_id_used(report.meldungs_id):
            add("ZVME061", None, "MeldungsId")
        if (earlier or out) and any(f.rejects for f in (*earlier, *out)):
            return out, None
        handler = _HANDLERS[report.kind]
        assignment = handler(self, report, office, add)
        if through_orm:
            self._after_orm()
        return out, assignment

    def _before_orm(self) -> None:
        """The ORM reads the database: write the batch first; its objects may be stale now."""
        if self._pending:
            self.write_pending()
            self.session.expire_all()

    def _after_orm(self) -> None:
        """The ORM changed rows: write them and let the batch ask the database again."""
        self.session.flush()
        self.write_pending()
        self._person_ids.forget()
        self._report_ids.forget()

    # Each handler checks its kind against stored state and, when nothing rejects it,
    # applies it: a handler that adds an F finding returns before changing anything.
    def _insert_report(
        self, report: ReportData, office: Office, person: Person | None, **extra: object
    ) -> Report:
        row = Report(
            delivery_id=self.delivery_pk,
            sender_number=self.sender_number,
            satz=report.satz,
            meldungs_id=report.meldungs_id,
            kind=report.kind,
            billing_office_id=office.id,
            person_id=person.id if person else None,
            rvnr=report.person.rvnr if report.person else None,
            versicherungsnummer=person.versicherungsnummer if person else None,
            begin=report.begin,
            end=report.end,
            reason=report.reason,
            reference=report.reference,
            cancelled=False,
            **extra,
        )
        self.session.add(row)
        self.session.flush()
        for period in report.periods:
            self.session.add(_period_row(row.id, period))
        return row


def _period_row(report_id: int, period: PeriodData) -> Period:
    return Period(
        report_id=report_id,
        position=period.position,
        begin=period.begin,
        end=period.end,
        booking_key=period.booking_key,
        pay=period.pay,
        amount=period.amount,
        children=period.children,
    )


def _anmeldung(
    state: StoredState, report: ReportData, office: Office, add: Add
) -> Assignment | None:
    assert report.person is not None and report.begin is not None
    person, problem, fld = state._find_person(report.person)
    if problem:
        add(problem, None, fld)
        return None
    if person is not None:
        open_rel = [s for s in state._spans_of(person.id, office.id) if s[1] is None]
        if open_rel:
            add("ZVME130", f"offen seit {open_rel[0][0].isoformat()}", "Beginn")
            return None
    assignment = None
    if person is None:
        person = state._new_person(report.person)
        state._spans[(person.id, office.id)] = []  # a new person has no relationship yet
        assignment = Assignment(report.satz, report.meldungs_id, person.versicherungsnummer)
    elif person.rvnr is None and report.person.rvnr is not None:
        state._set_rvnr(person, report.person.rvnr)
    report_id = state._add_report(report, office, person, assigned=assignment is not None)
    state._pending.insurances.append((person.id, office.id, day(report.begin), None, report_id))
    spans = state._spans_of(person.id, office.id)
    spans.append((report.begin, None))
    spans.sort(key=lambda span: span[0])
    return assignment


def _abmeldung(
    state: StoredState, report: ReportData, office: Office, add: Add
) -> Assignment | None:
    assert report.person is not None and report.end is not None
    person, problem, fld = state._person(report.person)
    if problem:
        add(problem, None, fld)
        return None
    relationship = None
    if person is not None:
        relationship = next(
            (r for r in state._relationships(person.id, office.id) if r.end is None), None
        )
    if person is None or relationship is None:
        add("ZVME140", "kein offenes Versicherungsverhältnis", "Ende")
        return None
    if report.end < relationship.begin:
        add("ZVME140", f"Ende vor Beginn {relationship.begin.isoformat()}", "Ende")
        return None
    for period in report.periods:
        if period.begin < relationship.begin or period.end > report.end:
            add("ZVVA110", None, f"{period.where}/Beginn")
    if _leave_exceeded(_stored_leave(state.session, person.id), report.periods):
        add("ZVVA061", None, "Abschnitt")
    if person.rvnr is None and report.person.rvnr is not None:
        person.rvnr = report.person.rvnr  # registered without one, now it is known
    row = state._insert_report(report, office, person)
    relationship.end = report.end
    relationship.closed_by = row.id
    return None


def _covering(spans: Iterable[Span], day: date) -> bool:
    for begin, end in spans:  # noqa: SIM110 (a loop is 4x faster than any(); hot path)
        if begin <= day and (end is None or day <= end):
            return True
    return False


def _jahresmeldung(
    state: StoredState, report: ReportData, office: Office, add: Add
) -> Assignment | None:
    assert report.person is not None
    year, bounds = state.year, state.year_bounds
    person, problem, fld = state._find_person(report.person)
    if problem:
        add(problem, None, fld)
        return None
    if person is None or year is None or bounds is None:
        # the same as for a person insured elsewhere only: that she is known is not told
        add("ZVME141", f"Jahr {year}" if year is not None else None, "Person/RVNR")
        return None
    first, last = bounds
    spans = [
        (begin, end)
        for begin, end in state._spans_of(person.id, office.id)
        if begin <= last and (end is None or end >= first)
    ]
    if not spans:
        add("ZVME141", f"Jahr {year}", "Person/RVNR")
        return None
    if state._annual_exists(person.id, office.id):
        add("ZVME135", f"Jahr {year}", "Person/RVNR")
        return None
    for period in report.periods:
        if not (_covering(spans, period.begin) and _covering(spans, period.end)):
            add("ZVVA110", None, f"{period.where}/Beginn")
    gap = _month_gap(report.periods, spans)
    if gap:
        add("ZVVA090", gap, "Abschnitt")
    leave = [p for p in report.periods if p.booking_key[2:4] == PARENTAL_LEAVE]  # Merkmal
    if leave:
        stored = state._leave_of(person.id)
        if _leave_exceeded(stored, report.periods):
            add("ZVVA061", None, "Abschnitt")
        stored.extend((p.begin, p.end, p.children) for p in leave)
    if person.rvnr is None and report.person.rvnr is not None:
        state._set_rvnr(person, report.person.rvnr)  # registered without one, now it is known
    state._add_report(report, office, person, year=year)
    state._annual[(person.id, office.id)] = True
    return None


def _month_index(day: date) -> int:
    return day.year * 12 + day.month - 1


def _month_gap(periods: tuple[PeriodData, ...], relationships: list[Span]) -> str | None:
    """A whole calendar month between the first and last period that no period touches.

    The first such month, in calendar order, that a relationship covers. The periods' months
    are walked as sorted ranges, so only the months between them are looked at (usually none).
    """
    if len(periods) < 2:
        return None  # nothing lies between the first and the last
    ranges = []
    for period in periods:  # a plain loop: this runs for every Jahresmeldung
        begin, end = period.begin, period.end
        first, last = begin.year * 12 + begin.month - 1, end.year * 12 + end.month - 1
        if first <= last:
            ranges.append((first, last))
    if len(ranges) < 2:
        return None
    ranges.sort()
    reach = ranges[0][1]
    for first, last in ranges:
        if first > reach + 1:
            for index in range(reach + 1, first):  # not touched by any period so far or later
                month_first = date(index // 12, index % 12 + 1, 1)
                if _covering(relationships, month_first):
                    return f"{month_first.strftime('%m/%Y')} ohne Abschnitt"
        if last > reach:
            reach = last
    return None


def _months(period_begin: date, period_end: date) -> int:
    return _month_index(period_end) - _month_index(period_begin) + 1


def _stored_leave(session: Session, person_id: int) -> list[Leave]:
    """The person's uncancelled parental-leave (28) periods: begin, end, children."""
    rows = session.execute(
        select(Period.begin, Period.end, Period.children)
        .join(Report, Report.id == Period.report_id)
        .where(
            Report.person_id == person_id,
            Report.cancelled.is_(False),
            func.substr(Period.booking_key, 3, 2) == PARENTAL_LEAVE,
        )
    )
    return [(b, e, c) for b, e, c in rows]


def _leave_exceeded(stored: list[Leave], periods: tuple[PeriodData, ...]) -> bool:
    """More months of parental leave (28) than 36 per child, over everything committed.

    ``stored`` holds every member's reports of the person: the finding says only that the
    limit is exceeded, never the months counted, which may come from another member."""
    new = [p for p in periods if p.merkmal == PARENTAL_LEAVE]
    if not new:
        return False
    months = sum(_months(b, e) for b, e, _ in stored) + sum(_months(p.begin, p.end) for p in new)
    children = max([c or 0 for _, _, c in stored] + [p.children or 0 for p in new])
    return months > MONTHS_PER_CHILD * max(children, 1)


def _monatsabrechnung(
    state: StoredState, report: ReportData, office: Office, add: Add
) -> Assignment | None:
    statement = report.statement
    assert statement is not None
    existing = state.session.scalar(
        select(Report.id)
        .join(MonthlyStatement, MonthlyStatement.report_id == Report.id)
        .where(
            MonthlyStatement.billing_office_id == office.id,
            MonthlyStatement.month == statement.month,
            Report.cancelled.is_(False),
        )
    )
    if existing is not None:
        add("ZVMA030", f"Monat {statement.month}", "Monat")
        return None
    first, after = month_bounds(statement.month)  # after None: 9999-12, no day follows
    overlapping = [
        Insurance.billing_office_id == office.id,
        or_(Insurance.end.is_(None), Insurance.end >= first),
    ]
    if after is not None:
        overlapping.append(Insurance.begin < after)
    insured = state.session.scalar(
        select(func.count(func.distinct(Insurance.person_id))).where(*overlapping)
    )
    if insured != statement.insured_count:
        add(
            "ZVMA040", f"gemeldet {statement.insured_count}, bekannt {insured}", "AnzahlVersicherte"
        )
    row = state._insert_report(report, office, None, month=statement.month)
    state.session.add(
        MonthlyStatement(
            report_id=row.id,
            billing_office_id=office.id,
            month=statement.month,
            insured_count=statement.insured_count,
            pay=statement.pay,
            levy=statement.levy,
            additional=statement.additional,
            restructuring=statement.restructuring,
            total=statement.total,
        )
    )
    return None


def _storno(state: StoredState, report: ReportData, office: Office, add: Add) -> Assignment | None:
    assert report.reference is not None
    candidates = list(
        state.session.scalars(
            select(Report)
            .where(Report.meldungs_id == report.reference, Report.kind != "Storno")
            .order_by((Report.sender_number == state.sender_number).desc(), Report.id.desc())
        )
    )
    target = next((r for r in candidates if r.billing_office_id == office.id), None)
    if target is None:
        # the same for a report of an office the sender may not see: its existence is not told
        add("ZVME160", f"Bezug {report.reference} unbekannt", "Bezug")
        return None
    if target.cancelled:
        add("ZVME160", f"Bezug {report.reference} bereits storniert", "Bezug")
        return None
    relationship = None
    if target.kind == "Anmeldung":
        relationship = state.session.scalar(
            select(Insurance).where(
                *_of_person_and_office(target), Insurance.opened_by == target.id
            )
        )
        if relationship is not None and _has_dependants(state.session, relationship):
            add("ZVME161", None, "Bezug")
            return None
    row = state._insert_report(report, office, None)
    target.cancelled = True
    target.cancelled_by = row.id
    if target.kind == "Anmeldung" and relationship is not None:
        state.session.delete(relationship)
    elif target.kind == "Abmeldung":
        closed = state.session.scalar(
            select(Insurance).where(
                *_of_person_and_office(target), Insurance.closed_by == target.id
            )
        )
        if closed is not None:
            closed.end = None
            closed.closed_by = None
    return None


def _of_person_and_office(target: Report) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    """The relationships a report's person has at its office (searched through their index;
    ``opened_by`` and ``closed_by`` have none of their own)."""
    return (
        Insurance.person_id == target.person_id,
        Insurance.billing_office_id == target.billing_office_id,
    )


def _has_dependants(session: Session, relationship: Insurance) -> bool:
    """The Abmeldung that closed this relationship, or a Jahresmeldung for a year it spans.

    Reports of an earlier, already closed relationship of the same person and office do not
    count: they rest on that relationship, not on this one.
    """
    if relationship.closed_by is not None:
        return True
    years = [Report.year >= relationship.begin.year]
    if relationship.end is not None:
        years.append(Report.year <= relationship.end.year)
    dependant = session.scalar(
        select(Report.id).where(
            Report.person_id == relationship.person_id,
            Report.billing_office_id == relationship.billing_office_id,
            Report.cancelled.is_(False),
            Report.kind == "Jahresmeldung",
            *years,
        )
    )
    return dependant is not None


_HANDLERS = {
    "Anmeldung": _anmeldung,
    "Abmeldung": _abmeldung,
    "Jahresmeldung": _jahresmeldung,
    "Monatsabrechnung": _monatsabrechnung,
    "Storno": _storno,
}


def _among(column: Any, postgres: bool) -> ColumnElement[bool]:
    """``column`` is one of the keys of a batch lookup, all bound as one parameter ``keys``.

    PostgreSQL: ``= ANY(:keys)`` with an array. SQLite: ``IN (SELECT value FROM
    json_each(:keys))`` with a JSON array (SQLite has no array parameters); the planner searches
    the column's index for each key, as with a list of placeholders. The values are never part
    of the statement, so SQLAlchemy's statement cache does not keep them.
    """
    condition: ColumnElement[bool]
    if postgres:
        # an array of unbounded text: a cast to the column's VARCHAR(n)[] would cut longer keys
        element = String() if isinstance(column.type, String) else column.type
        condition = column == any_(bindparam("keys", type_=ARRAY(element)))
    else:
        values = func.json_each(bindparam("keys", type_=String())).table_valued("value")
        condition = column.in_(select(values.c.value))
    return condition


def _t(model: type[Any]) -> Any:
    return model.__table__


class StoredChecks:
    """The pipeline's :class:`~ingest.validating.checker.StateHooks` for one delivery."""

    def __init__(
        self,
        session: Session,
        catalogue: Catalogue,
        sender: Sender | None,
        sender_number: str,
        delivery_pk: int,
    ) -> None:
        self.session = session
        self.catalogue = catalogue
        self.sender = sender
        self.sender_number = sender_number
        self.delivery_pk = delivery_pk
        self.state: StoredState | None = None

    def header(self, header: Header) -> list[Finding]:
        findings: list[Finding] = []

        def add(code: str, detail: str, fld: str) -> None:
            findings.append(
                self.catalogue.finding(code, detail, field=f"Vorlauf/{fld}", line=header.line)
            )

        if header.sender != self.sender_number:
            add(
                "ZVVO021",
                f"Absender {header.sender}, geliefert von {self.sender_number}",
                "Absender",
            )
            return findings
        if self.sender is None or not self.sender.active:
            add("ZVVO021", f"Absender {header.sender} ist nicht zugelassen", "Absender")
            return findings
        used = self.session.scalar(
            select(Delivery.delivery_id).where(
                Delivery.sender_number == self.sender_number,
                Delivery.file_number_used == header.file_number,
            )
        )
        if used is not None:
            add("ZVVO060", f"{header.file_number} bereits in Lieferung {used}", "Dateifolgenummer")
            return findings
        last = self.session.scalar(
            select(func.max(Delivery.file_number_used)).where(
                Delivery.sender_number == self.sender_number
            )
        )
        if last is not None and header.file_number != last + 1:
            add(
                "ZVVO061", f"erwartet {last + 1}, erhalten {header.file_number}", "Dateifolgenummer"
            )
        year = year_of_period(header.period)  # None for a year `date` cannot hold: ZVVO030
        self.state = StoredState(
            session=self.session,
            catalogue=self.catalogue,
            sender=self.sender,
            sender_number=self.sender_number,
            delivery_pk=self.delivery_pk,
            year=year,
        )
        return findings

    def prefetch(self, reports: Sequence[ReportData]) -> None:
        if self.state is not None:
            self.state.prefetch(reports)

    def report(self, report: ReportData, earlier: list[Finding]) -> list[Finding]:
        if self.state is None:
            return []
        findings, _assignment = self.state.check_and_apply(report, earlier)
        return findings

    def finish(self) -> None:
        if self.state is not None:
            self.state.write_pending()
