"""Evaluations with polars, for the fund and per member, written as CSV and XLSX.

Four tables (plus the findings of the run): insured persons by billing office, status, age band
and gender; the payment overview (due, paid and difference per office and month); the missing
annual reports; the pension points per person and year.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from pathlib import Path

import polars as pl
import xlsxwriter  # type: ignore[import-untyped]
from sqlalchemy import case, select
from sqlalchemy.orm import Session, aliased

from ingest.reconciling import report_labels as labels
from ingest.reconciling.asof import known_reports, valid_on
from ingest.reconciling.exports import FINDING_COLUMNS, finding_rows
from ingest.reconciling.models import Payment, PensionPoints, ReconciliationFinding
from ingest.storing.models import (
    BillingOffice,
    Insurance,
    Member,
    MonthlyStatement,
    Person,
    Report,
)

MONEY = pl.Decimal(14, 2)
AGE_BANDS = ((25, "unter 25"), (35, "25-34"), (45, "35-44"), (55, "45-54"), (65, "55-64"))
OLDEST_BAND = "65 und älter"
SHEETS = {
    "versicherte": "Versicherte",
    "zahlungen": "Zahlungen",
    "fehlende_jahresmeldungen": "Fehlende Jahresmeldungen",
    "versorgungspunkte": "Versorgungspunkte",
    "abgleich": "Abgleich",
}


def age_band(age: int) -> str:
    return next((name for limit, name in AGE_BANDS if age < limit), OLDEST_BAND)


def _age(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


@dataclass(frozen=True)
class Evaluation:
    """The tables of one member (``member`` set) or of the whole fund."""

    as_of: date
    member: str | None
    title: str
    versicherte: pl.DataFrame
    zahlungen: pl.DataFrame
    fehlende_jahresmeldungen: pl.DataFrame
    versorgungspunkte: pl.DataFrame
    abgleich: pl.DataFrame
    aktive: pl.DataFrame  # not a table: the active persons, each once per member
    run_day: date | None = None  # the day of the run whose findings are shown; None: no run

    def tables(self) -> dict[str, pl.DataFrame]:
        return {name: getattr(self, name) for name in SHEETS}

    def active_persons(self) -> pl.DataFrame:
        """Each active person once (a person insured at two members is one person)."""
        return self.aktive.unique(subset="person", keep="first", maintain_order=True)

    def has_data(self) -> bool:
        return any(frame.height for frame in self.tables().values())

    def of_member(self, member: str, title: str) -> Evaluation:
        def only(frame: pl.DataFrame) -> pl.DataFrame:
            return frame.filter(pl.col("mitgliedsnummer") == member)

        return replace(
            self,
            member=member,
            title=title,
            versicherte=only(self.versicherte),
            zahlungen=only(self.zahlungen),
            fehlende_jahresmeldungen=only(self.fehlende_jahresmeldungen),
            versorgungspunkte=only(self.versorgungspunkte),
            abgleich=only(self.abgleich),
            aktive=only(self.aktive),
        )


def _office_alias() -> type[BillingOffice]:
    return aliased(BillingOffice)


def _relationships(session: Session, as_of: date) -> list[tuple[int, str, str, str, str, str]]:
    """(person, member, office, status, age band, gender) of each person's latest relationship
    with each office, as reported by ``as_of`` (status ``aktiv``, ``ausgeschieden``, ``künftig``).
    """
    known = known_reports(as_of)
    end = case((Insurance.closed_by.in_(known), Insurance.end), else_=None)
    latest: dict[tuple[int, int], tuple[str, str, date, date | None, date, str]] = {}
    query = (
        select(
            Insurance.person_id,
            Insurance.billing_office_id,
            Member.number,
            BillingOffice.number,
            Insurance.begin,
            end,
            Person.birth_date,
            Person.gender,
        )
        .join(BillingOffice, BillingOffice.id == Insurance.billing_office_id)
        .join(Member, Member.id == BillingOffice.member_id)
        .join(Person, Person.id == Insurance.person_id)
        .where(Insurance.opened_by.in_(known))
        .order_by(Insurance.begin, Insurance.id)
    )
    for person_id, office_id, member, office, begin, until, born, gender in session.execute(query):
        latest[(person_id, office_id)] = (member, office, begin, until, born, gender)
    rows = []
    for (person_id, _office_id), (member, office, begin, until, born, gender) in latest.items():
        if begin > as_of:
            status = "künftig"
        elif until is not None and until < as_of:
            status = "ausgeschieden"
        else:
            status = "aktiv"
        rows.append((person_id, member, office, status, age_band(_age(born, as_of)), gender))
    return rows


def insured_frame(relationships: list[tuple[int, str, str, str, str, str]]) -> pl.DataFrame:
    """Relationships by office, status, age band and gender (a person insured at two offices
    is counted at each)."""
    frame = pl.DataFrame(
        [row[1:] for row in relationships],
        schema={
            "mitgliedsnummer": pl.String,
            "abrechnungsstelle": pl.String,
            "status": pl.String,
            "altersband": pl.String,
            "geschlecht": pl.String,
        },
        orient="row",
    )
    return (
        frame.group_by(frame.columns)
        .agg(pl.len().cast(pl.Int64).alias("anzahl"))
        .sort(frame.columns)
    )


def active_frame(relationships: list[tuple[int, str, str, str, str, str]]) -> pl.DataFrame:
    """One row per member and active person: what counts persons rather than relationships."""
    rows = {(r[0], r[1], r[4], r[5]) for r in relationships if r[3] == "aktiv"}
    return pl.DataFrame(
        sorted(rows),
        schema={
            "person": pl.Int64,
            "mitgliedsnummer": pl.String,
            "altersband": pl.String,
            "geschlecht": pl.String,
        },
        orient="row",
    )


def payments_frame(session: Session, as_of: date) -> pl.DataFrame:
    """Due (Gesamtbetrag), paid (matched credits booked by ``as_of``) and difference per month."""
    office_numbers = {
        o_id: (m_no, o_no)
        for o_id, m_no, o_no in session.execute(
            select(BillingOffice.id, Member.number, BillingOffice.number).join(
                Member, Member.id == BillingOffice.member_id
            )
        )
    }
    due = [
        (*office_numbers[o], month, Decimal(total))
        for o, month, total in session.execute(
            select(
                MonthlyStatement.billing_office_id, MonthlyStatement.month, MonthlyStatement.total
            )
            .join(Report, Report.id == MonthlyStatement.report_id)
            .where(valid_on(as_of))
        )
    ]
    paid = [
        (*office_numbers[o], month, Decimal(amount))
        for o, month, amount in session.execute(
            select(Payment.billing_office_id, Payment.month, Payment.amount).where(
                Payment.billing_office_id.is_not(None), Payment.booking_date <= as_of
            )
        )
        if o is not None
    ]
    keys = {"mitgliedsnummer": pl.String, "abrechnungsstelle": pl.String, "monat": pl.String}
    soll = pl.DataFrame(due, schema={**keys, "soll": MONEY}, orient="row")
    ist = (
        pl.DataFrame(paid, schema={**keys, "ist": MONEY}, orient="row")
        .group_by(list(keys))
        .agg(pl.col("ist").sum().cast(MONEY))
    )
    return (
        soll.join(ist, on=list(keys), how="full", coalesce=True)
        .with_columns(pl.col("soll").fill_null(Decimal(0)), pl.col("ist").fill_null(Decimal(0)))
        .with_columns((pl.col("ist") - pl.col("soll")).cast(MONEY).alias("differenz"))
        .filter(pl.col("monat") <= f"{as_of:%Y-%m}")
        .sort(list(keys))
    )


def missing_annual_frame(session: Session, run_id: int | None) -> pl.DataFrame:
    office = _office_alias()
    rows = []
    if run_id is not None:
        rows = [
            tuple(row)
            for row in session.execute(
                select(
                    Member.number,
                    office.number,
                    ReconciliationFinding.period,
                    Person.versicherungsnummer,
                    Person.family_name,
                    Person.first_name,
                )
                .join(office, office.id == ReconciliationFinding.billing_office_id)
                .join(Member, Member.id == office.member_id)
                .join(Person, Person.id == ReconciliationFinding.person_id)
                .where(
                    ReconciliationFinding.run_id == run_id,
                    ReconciliationFinding.kind == "jahresmeldung_fehlt",
                )
                .order_by(Member.number, office.number, ReconciliationFinding.period)
            )
        ]
    names = ["mitgliedsnummer", "abrechnungsstelle", "jahr", "versicherungsnummer"]
    names += ["familienname", "vorname"]
    return pl.DataFrame(rows, schema={name: pl.String for name in names}, orient="row")


def points_frame(session: Session, as_of: date) -> pl.DataFrame:
    """The points of the Jahresmeldungen valid on ``as_of`` (arrived by then, not cancelled by a
    Storno that had arrived by then)."""
    office = _office_alias()
    query = (
        select(
            Member.number,
            office.number,
            Person.versicherungsnummer,
            Person.family_name,
            Person.first_name,
            PensionPoints.year,
            PensionPoints.age,
            PensionPoints.factor,
            PensionPoints.pay,
            PensionPoints.child_months,
            PensionPoints.points,
        )
        .join(Report, Report.id == PensionPoints.report_id)
        .join(Person, Person.id == PensionPoints.person_id)
        .join(office, office.id == PensionPoints.billing_office_id)
        .join(Member, Member.id == office.member_id)
        .where(valid_on(as_of))
        .order_by(Member.number, office.number, Person.versicherungsnummer, PensionPoints.year)
    )
    schema: dict[str, pl.DataType] = {
        "mitgliedsnummer": pl.String(),
        "abrechnungsstelle": pl.String(),
        "versicherungsnummer": pl.String(),
        "familienname": pl.String(),
        "vorname": pl.String(),
        "jahr": pl.Int64(),
        "alter": pl.Int64(),
        "altersfaktor": pl.Decimal(3, 1),
        "entgelt": MONEY,
        "elternzeit_kindmonate": pl.Int64(),
        "versorgungspunkte": pl.Decimal(8, 2),
    }
    rows = [tuple(row) for row in session.execute(query)]
    return pl.DataFrame(rows, schema=schema, orient="row")


def findings_frame(session: Session, run_id: int | None) -> pl.DataFrame:
    rows = list(finding_rows(session, run_id)) if run_id is not None else []
    frame = pl.DataFrame(rows, schema={c: pl.String for c in FINDING_COLUMNS}, orient="row")
    money = ("soll", "ist", "differenz")
    return frame.with_columns(
        pl.when(pl.col(c) == "").then(None).otherwise(pl.col(c)).cast(MONEY).alias(c) for c in money
    )


def evaluate(
    session: Session, as_of: date, run_id: int | None, run_day: date | None = None
) -> Evaluation:
    """The fund-wide evaluation as of ``as_of`` with the findings of run ``run_id`` (of the day
    ``run_day``); everything else counts only what had arrived by ``as_of``."""
    relationships = _relationships(session, as_of)
    return Evaluation(
        as_of=as_of,
        member=None,
        title="Zusatzversorgungskasse (gesamt)",
        versicherte=insured_frame(relationships),
        aktive=active_frame(relationships),
        zahlungen=payments_frame(session, as_of),
        fehlende_jahresmeldungen=missing_annual_frame(session, run_id),
        versorgungspunkte=points_frame(session, as_of),
        abgleich=findings_frame(session, run_id),
        run_day=run_day if run_id is not None else None,
    )


def for_people(frame: pl.DataFrame) -> pl.DataFrame:
    """German column headings and values (kinds of finding, components, genders)."""
    words = [pl.col(c).replace(labels.VALUES[c]) for c in frame.columns if c in labels.VALUES]
    return frame.with_columns(words).rename({c: labels.column(c) for c in frame.columns})


def write_tables(evaluation: Evaluation, folder: Path) -> list[Path]:
    """One CSV per table (``;``, decimal comma, UTF-8 with BOM) and one XLSX workbook (German
    headings and values)."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, frame in evaluation.tables().items():
        path = folder / f"{name}.csv"
        # For people: German spreadsheet programs open ';', decimal comma and a BOM as they are.
        frame.write_csv(path, separator=";", decimal_comma=True, include_bom=True)
        written.append(path)
    workbook_path = folder / "auswertung.xlsx"
    with xlsxwriter.Workbook(str(workbook_path)) as workbook:
        for name, frame in evaluation.tables().items():
            for_people(frame).write_excel(workbook, worksheet=SHEETS[name][:31], autofit=True)
    written.append(workbook_path)
    return written
