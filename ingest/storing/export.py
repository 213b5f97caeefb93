"""The committed reports as rows of an export (``zvk export meldungen``)."""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from ingest.storing.models import BillingOffice, Delivery, Member, Report

EXPORT_COLUMNS = [
    "meldungs_id",
    "absender",
    "art",
    "mitgliedsnummer",
    "abrechnungsstelle",
    "rvnr",
    "versicherungsnummer",
    "storniert",
    "lieferungs_id",
    "satz",
    "beginn",
    "ende",
    "jahr",
    "monat",
    "bezug",
]


def committed_reports(session: Session) -> Iterator[list[object]]:
    """Every stored report in the order stored, its values in the order of
    :data:`EXPORT_COLUMNS`: ``storniert`` as ``true``/``false``, an empty value as ``""``.
    Read in chunks, so an export of millions of reports needs little memory."""
    office = aliased(BillingOffice)
    query = (
        select(
            Report.meldungs_id,
            Report.sender_number,
            Report.kind,
            Member.number,
            office.number,
            Report.rvnr,
            Report.versicherungsnummer,
            Report.cancelled,
            Delivery.delivery_id,
            Report.satz,
            Report.begin,
            Report.end,
            Report.year,
            Report.month,
            Report.reference,
        )
        .join(office, office.id == Report.billing_office_id)
        .join(Member, Member.id == office.member_id)
        .join(Delivery, Delivery.id == Report.delivery_id)
        .order_by(Report.id)
        .execution_options(yield_per=5000)
    )
    for row in session.execute(query):
        values = list(row)
        values[7] = "true" if values[7] else "false"
        yield ["" if v is None else v for v in values]
