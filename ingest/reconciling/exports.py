"""The operators' exports: the findings of the latest run, and the pension points.

Both are CSV with a header line and one row each; amounts have a dot as decimal mark.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from decimal import Decimal
from typing import TextIO

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from ingest.reconciling.models import PensionPoints, ReconciliationFinding, ReconciliationRun
from ingest.reconciling.points import refresh_points
from ingest.reconciling.runs import latest_run
from ingest.storing.models import BillingOffice, Member, Person, Report

FINDING_COLUMNS = [
    "mitgliedsnummer",
    "abrechnungsstelle",
    "zeitraum",
    "art",
    "soll",
    "ist",
    "differenz",
    "bestandteil",
    "versicherungsnummer",
    "bezug",
    "hinweis",
    "stichtag",
    "lauf",
]
POINTS_COLUMNS = [
    "versicherungsnummer",
    "rvnr",
    "jahr",
    "mitgliedsnummer",
    "abrechnungsstelle",
    "versorgungspunkte",
    "alter",
    "altersfaktor",
    "entgelt",
    "elternzeit_kindmonate",
    "meldungs_id",
]


def _money(value: Decimal | None) -> str:
    return "" if value is None else f"{Decimal(value):.2f}"


def finding_rows(session: Session, run_id: int | None = None) -> Iterator[list[str]]:
    """The findings of ``run_id`` (default: the latest finished run), in a stable order."""
    if run_id is None:
        run = latest_run(session)
        if run is None:
            return
        run_id, as_of = run.id, run.as_of
    else:
        chosen = session.get(ReconciliationRun, run_id)
        if chosen is None:
            return
        as_of = chosen.as_of
    office = aliased(BillingOffice)
    query = (
        select(ReconciliationFinding, Member.number, office.number, Person.versicherungsnummer)
        .outerjoin(Member, Member.id == ReconciliationFinding.member_id)
        .outerjoin(office, office.id == ReconciliationFinding.billing_office_id)
        .outerjoin(Person, Person.id == ReconciliationFinding.person_id)
        .where(ReconciliationFinding.run_id == run_id)
        .order_by(ReconciliationFinding.id)
    )
    for f, member, office_number, vnr in session.execute(query):
        yield [
            member or "",
            office_number or "",
            f.period,
            f.kind,
            _money(f.expected),
            _money(f.actual),
            _money(f.difference),
            f.component or "",
            vnr or "",
            f.reference or "",
            f.detail or "",
            as_of.isoformat(),
            str(run_id),
        ]


def write_findings(session: Session, stream: TextIO, run_id: int | None = None) -> int:
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(FINDING_COLUMNS)
    count = 0
    for row in finding_rows(session, run_id):
        writer.writerow(row)
        count += 1
    return count


def points_rows(session: Session) -> Iterator[list[str]]:
    """One row per uncancelled Jahresmeldung, ordered by person and year."""
    office = aliased(BillingOffice)
    query = (
        select(
            Person.versicherungsnummer,
            Person.rvnr,
            PensionPoints.year,
            Member.number,
            office.number,
            PensionPoints.points,
            PensionPoints.age,
            PensionPoints.factor,
            PensionPoints.pay,
            PensionPoints.child_months,
            Report.meldungs_id,
        )
        .join(Report, Report.id == PensionPoints.report_id)
        .join(Person, Person.id == PensionPoints.person_id)
        .join(office, office.id == PensionPoints.billing_office_id)
        .join(Member, Member.id == office.member_id)
        .where(Report.cancelled.is_(False))
        .order_by(Person.versicherungsnummer, PensionPoints.year, Member.number, office.number)
    )
    for (
        vnr,
        rvnr,
        year,
        member,
        office_no,
        points,
        age,
        factor,
        pay,
        months,
        mid,
    ) in session.execute(query):
        yield [
            vnr,
            rvnr or "",
            str(year),
            member,
            office_no,
            _money(points),
            str(age),
            f"{Decimal(factor):.1f}",
            _money(pay),
            str(months),
            mid,
        ]


def write_points(session: Session, stream: TextIO) -> int:
    """Refresh the points from the committed reports, then write them (commits the refresh)."""
    try:
        refresh_points(session)
        session.commit()
    except IntegrityError:
        session.rollback()  # a concurrent run stored the same points a moment ago
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(POINTS_COLUMNS)
    count = 0
    for row in points_rows(session):
        writer.writerow(row)
        count += 1
    return count
