"""Checks against the fund's stored state, and the effect of one accepted report.

Reports are applied in file order inside the delivery's open transaction, so a later report of
the same file sees what an earlier one changed (a `Storno` followed by the corrected report).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

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
from ingest.validating.records import Header, PeriodData, PersonData, ReportData

Add = Callable[[str, str | None, str | None], None]
PARENTAL_LEAVE = "28"
MONTHS_PER_CHILD = 36


@dataclass(frozen=True, slots=True)
class Office:
    id: int
    member_id: int
    active: bool


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

    # -- lookups --------------------------------------------------------------------------
    def office(self, member: str, office: str) -> Office | None:
        key = (member, office)
        if key not in self._offices:
            row = self.session.execute(
                select(
                    BillingOffice.id, BillingOffice.member_id, BillingOffice.active, Member.active
                )
                .join(Member, Member.id == BillingOffice.member_id)
                .where(Member.number == member, BillingOffice.number == office)
            ).first()
            self._offices[key] = (
                Office(id=row[0], member_id=row[1], active=bool(row[2] and row[3])) if row else None
            )
        return self._offices[key]

    def authorised(self, office: Office) -> bool:
        if self.sender is None:
            return False
        if office.id not in self._grants:
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
            self._grants[office.id] = grant is not None
        return self._grants[office.id]

    def meldungs_id_used(self, meldungs_id: str) -> bool:
        found = self.session.scalar(
            select(Report.id).where(
                Report.sender_number == self.sender_number, Report.meldungs_id == meldungs_id
            )
        )
        return found is not None

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

        office = self.office(report.member, report.office)
        if office is None or not office.active:
            add("ZVME100", f"{report.member}/{report.office}", "Mitgliedsnummer")
            return out, None
        if not self.authorised(office):
            add("ZVVO022", f"{report.member}/{report.office}", "Abrechnungsstelle")
            return out, None
        if self.meldungs_id_used(report.meldungs_id):
            add("ZVME061", None, "MeldungsId")
        if any(f.rejects for f in (*earlier, *out)):
            return out, None
        handler = _HANDLERS[report.kind]
        assignment = handler(self, report, office, add)
        return out, assignment

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
    person, problem, fld = state._person(report.person)
    if problem:
        add(problem, None, fld)
        return None
    if person is not None:
        open_rel = [r for r in state._relationships(person.id, office.id) if r.end is None]
        if open_rel:
            add("ZVME130", f"offen seit {open_rel[0].begin.isoformat()}", "Beginn")
            return None
    assignment = None
    if person is None:
        person = _new_person(state.session, report.person)
        assignment = Assignment(report.satz, report.meldungs_id, person.versicherungsnummer)
    elif person.rvnr is None and report.person.rvnr is not None:
        person.rvnr = report.person.rvnr
    row = state._insert_report(report, office, person, assigned=assignment is not None)
    state.session.add(
        Insurance(
            person_id=person.id,
            billing_office_id=office.id,
            begin=report.begin,
            end=None,
            opened_by=row.id,
        )
    )
    return assignment


def _new_person(session: Session, data: PersonData) -> Person:
    person = Person(
        versicherungsnummer=f"T{uuid.uuid4().hex[:9]}",
        rvnr=data.rvnr,
        family_name=data.family_name,
        first_name=data.first_name,
        birth_name=data.birth_name,
        birth_date=data.birth_date,
        gender=data.gender,
    )
    session.add(person)
    session.flush()
    person.versicherungsnummer = make_versicherungsnummer(person.id)
    return person


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
    excess = _parental_leave_excess(state.session, person.id, report.periods)
    if excess:
        add("ZVVA061", excess, "Abschnitt")
    row = state._insert_report(report, office, person)
    relationship.end = report.end
    relationship.closed_by = row.id
    return None


def _covering(relationships: list[Insurance], day: date) -> bool:
    return any(r.begin <= day and (r.end is None or day <= r.end) for r in relationships)


def _jahresmeldung(
    state: StoredState, report: ReportData, office: Office, add: Add
) -> Assignment | None:
    assert report.person is not None
    year = state.year
    person, problem, fld = state._person(report.person)
    if problem:
        add(problem, None, fld)
        return None
    if person is None or year is None:
        add("ZVME141", "Person unbekannt", "Person/RVNR")
        return None
    first, last = date(year, 1, 1), date(year, 12, 31)
    relationships = [
        r
        for r in state._relationships(person.id, office.id)
        if r.begin <= last and (r.end is None or r.end >= first)
    ]
    if not relationships:
        add("ZVME141", f"kein Versicherungsverhältnis im Jahr {year}", "Person/RVNR")
        return None
    existing = state.session.scalar(
        select(Report.id).where(
            Report.person_id == person.id,
            Report.billing_office_id == office.id,
            Report.kind == "Jahresmeldung",
            Report.year == year,
            Report.cancelled.is_(False),
        )
    )
    if existing is not None:
        add("ZVME135", f"Jahr {year}", "Person/RVNR")
        return None
    for period in report.periods:
        if not (_covering(relationships, period.begin) and _covering(relationships, period.end)):
            add("ZVVA110", None, f"{period.where}/Beginn")
    gap = _month_gap(report.periods, relationships)
    if gap:
        add("ZVVA090", gap, "Abschnitt")
    excess = _parental_leave_excess(state.session, person.id, report.periods)
    if excess:
        add("ZVVA061", excess, "Abschnitt")
    state._insert_report(report, office, person, year=year)
    return None


def _month_index(day: date) -> int:
    return day.year * 12 + day.month - 1


def _month_gap(periods: tuple[PeriodData, ...], relationships: list[Insurance]) -> str | None:
    """A whole calendar month between the first and last period that no period touches."""
    if not periods:
        return None
    covered: set[int] = set()
    for p in periods:
        covered.update(range(_month_index(p.begin), _month_index(p.end) + 1))
    start, stop = min(covered), max(covered)
    for index in range(start + 1, stop):
        if index in covered:
            continue
        month_first = date(index // 12, index % 12 + 1, 1)
        if _covering(relationships, month_first):
            return f"{month_first.strftime('%m/%Y')} ohne Abschnitt"
    return None


def _months(period_begin: date, period_end: date) -> int:
    return _month_index(period_end) - _month_index(period_begin) + 1


def _parental_leave_excess(
    session: Session, person_id: int, periods: tuple[PeriodData, ...]
) -> str | None:
    """More months of parental leave (28) than 36 per child, over everything committed."""
    new = [p for p in periods if p.merkmal == PARENTAL_LEAVE]
    if not new:
        return None
    stored = session.execute(
        select(Period.begin, Period.end, Period.children)
        .join(Report, Report.id == Period.report_id)
        .where(
            Report.person_id == person_id,
            Report.cancelled.is_(False),
            func.substr(Period.booking_key, 3, 2) == PARENTAL_LEAVE,
        )
    ).all()
    months = sum(_months(b, e) for b, e, _ in stored) + sum(_months(p.begin, p.end) for p in new)
    children = max([c or 0 for _, _, c in stored] + [p.children or 0 for p in new])
    limit = MONTHS_PER_CHILD * max(children, 1)
    if months > limit:
        return f"{months} Monate bei {children} Kind(ern), höchstens {limit}"
    return None


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
    year, month = (int(x) for x in statement.month.split("-"))
    first = date(year, month, 1)
    last = date(year + month // 12, month % 12 + 1, 1)
    insured = state.session.scalar(
        select(func.count(func.distinct(Insurance.person_id))).where(
            Insurance.billing_office_id == office.id,
            Insurance.begin < last,
            or_(Insurance.end.is_(None), Insurance.end >= first),
        )
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
        detail = "andere Abrechnungsstelle" if candidates else "unbekannt"
        add("ZVME160", f"Bezug {report.reference} {detail}", "Bezug")
        return None
    if target.cancelled:
        add("ZVME160", f"Bezug {report.reference} bereits storniert", "Bezug")
        return None
    relationship = None
    if target.kind == "Anmeldung":
        relationship = state.session.scalar(
            select(Insurance).where(Insurance.opened_by == target.id)
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
        closed = state.session.scalar(select(Insurance).where(Insurance.closed_by == target.id))
        if closed is not None:
            closed.end = None
            closed.closed_by = None
    return None


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
        year = int(header.period[:4]) if header.period[:4].isdigit() else None
        self.state = StoredState(
            session=self.session,
            catalogue=self.catalogue,
            sender=self.sender,
            sender_number=self.sender_number,
            delivery_pk=self.delivery_pk,
            year=year,
        )
        return findings

    def report(self, report: ReportData, earlier: list[Finding]) -> list[Finding]:
        if self.state is None:
            return []
        findings, _assignment = self.state.check_and_apply(report, earlier)
        return findings
