"""The fund's tables: registry (members, billing offices, senders), ledger, reports, persons.

Idempotency lives here, in unique constraints, not in memory: a sender's file (SHA-256), file
number and MeldungsId can each be committed once.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from ingest.validating.submission import Channel

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

Money = Numeric(14, 2)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class DeliveryState(enum.StrEnum):
    """Where a delivery stands; each state is durable, so a restart continues from it."""

    RECEIVED = "received"
    CHECKING = "checking"
    COMMITTED = "committed"
    REJECTED = "rejected"
    ANSWERED = "answered"
    ACKNOWLEDGED = "acknowledged"
    FAILED = "failed"


class Member(Base):
    __tablename__ = "members"
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(6), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class BillingOffice(Base):
    __tablename__ = "billing_offices"
    __table_args__ = (UniqueConstraint("member_id", "number"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    number: Mapped[str] = mapped_column(String(3))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Sender(Base):
    __tablename__ = "senders"
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(8), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Authorisation(Base):
    """A sender may report for a member (all billing offices when ``billing_office_id`` is null)."""

    __tablename__ = "authorisations"
    __table_args__ = (UniqueConstraint("sender_id", "member_id", "billing_office_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    sender_id: Mapped[int] = mapped_column(ForeignKey("senders.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    billing_office_id: Mapped[int | None] = mapped_column(ForeignKey("billing_offices.id"))


class Delivery(Base):
    """The ledger: one row per delivered file, whatever became of it."""

    __tablename__ = "deliveries"
    __table_args__ = (
        # The first real processing of a file claims its hash; a second one is `doppelt`.
        UniqueConstraint("sender_number", "original_sha256"),
        # A file number is used up once, by a file that was not rejected as a whole.
        UniqueConstraint("sender_number", "file_number_used"),
        Index("ix_deliveries_state", "state"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[str] = mapped_column(String(40), unique=True)
    sender_number: Mapped[str] = mapped_column(String(8))
    sender_id: Mapped[int | None] = mapped_column(ForeignKey("senders.id"))
    filename: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(BigInteger)
    test: Mapped[bool] = mapped_column(Boolean, default=False)
    channel: Mapped[str] = mapped_column(String(20), default=Channel.DROPFOLDER.value)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    processed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    state: Mapped[str] = mapped_column(String(20), default=DeliveryState.RECEIVED.value)
    archive_path: Mapped[str] = mapped_column(Text)
    protocol_path: Mapped[str | None] = mapped_column(Text)
    file_number: Mapped[int | None] = mapped_column(Integer)
    file_kind: Mapped[str | None] = mapped_column(String(20))
    period: Mapped[str | None] = mapped_column(String(7))
    result: Mapped[str | None] = mapped_column(String(30))
    total: Mapped[int] = mapped_column(Integer, default=0)
    accepted: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    progress: Mapped[int] = mapped_column(Integer, default=0)
    original_sha256: Mapped[str | None] = mapped_column(String(64))
    file_number_used: Mapped[int | None] = mapped_column(Integer)
    duplicate_of: Mapped[str | None] = mapped_column(String(40))
    ruleset: Mapped[str | None] = mapped_column(String(40))
    error: Mapped[str | None] = mapped_column(Text)


class FindingRow(Base):
    __tablename__ = "findings"
    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("deliveries.id"), index=True)
    code: Mapped[str] = mapped_column(String(7), index=True)
    severity: Mapped[str] = mapped_column(String(1))
    satz: Mapped[int | None] = mapped_column(Integer)
    meldungs_id: Mapped[str | None] = mapped_column(String(36))
    field: Mapped[str | None] = mapped_column(String(100))
    line: Mapped[int | None] = mapped_column(Integer)
    column: Mapped[int | None] = mapped_column(Integer)
    message: Mapped[str] = mapped_column(Text)


class Person(Base):
    __tablename__ = "persons"
    id: Mapped[int] = mapped_column(primary_key=True)
    versicherungsnummer: Mapped[str] = mapped_column(String(10), unique=True)
    rvnr: Mapped[str | None] = mapped_column(String(12), unique=True)
    family_name: Mapped[str] = mapped_column(String(45))
    first_name: Mapped[str] = mapped_column(String(45))
    birth_name: Mapped[str | None] = mapped_column(String(45))
    birth_date: Mapped[date] = mapped_column(Date)
    gender: Mapped[str] = mapped_column(String(1))


class Insurance(Base):
    """An insurance relationship: a person at a billing office from ``begin`` to ``end``."""

    __tablename__ = "insurances"
    __table_args__ = (Index("ix_insurances_person_office", "person_id", "billing_office_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"))
    billing_office_id: Mapped[int] = mapped_column(ForeignKey("billing_offices.id"))
    begin: Mapped[date] = mapped_column(Date)
    end: Mapped[date | None] = mapped_column(Date)
    opened_by: Mapped[int] = mapped_column(ForeignKey("reports.id"))
    closed_by: Mapped[int | None] = mapped_column(ForeignKey("reports.id"))


class Report(Base):
    """A committed report of any kind."""

    __tablename__ = "reports"
    __table_args__ = (
        # MeldungsId first: the index also finds a Storno's Bezug, which names no sender
        UniqueConstraint("meldungs_id", "sender_number"),
        Index("ix_reports_office_kind", "billing_office_id", "kind"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("deliveries.id"), index=True)
    sender_number: Mapped[str] = mapped_column(String(8))
    satz: Mapped[int] = mapped_column(Integer)
    meldungs_id: Mapped[str] = mapped_column(String(36))
    kind: Mapped[str] = mapped_column(String(20))
    billing_office_id: Mapped[int] = mapped_column(ForeignKey("billing_offices.id"))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"), index=True)
    rvnr: Mapped[str | None] = mapped_column(String(12))
    versicherungsnummer: Mapped[str | None] = mapped_column(String(10))
    begin: Mapped[date | None] = mapped_column(Date)
    end: Mapped[date | None] = mapped_column(Date)
    reason: Mapped[str | None] = mapped_column(String(2))
    year: Mapped[int | None] = mapped_column(Integer)
    month: Mapped[str | None] = mapped_column(String(7))
    reference: Mapped[str | None] = mapped_column(String(36))
    cancelled: Mapped[bool] = mapped_column(Boolean, default=False)
    cancelled_by: Mapped[int | None] = mapped_column(ForeignKey("reports.id"))
    # The fund assigned the person's Versicherungsnummer with this report (Rueckmeldung).
    assigned: Mapped[bool] = mapped_column(Boolean, default=False)


class Period(Base):
    """An insurance period (Versicherungsabschnitt) of a person report."""

    __tablename__ = "periods"
    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    begin: Mapped[date] = mapped_column(Date)
    end: Mapped[date] = mapped_column(Date)
    booking_key: Mapped[str] = mapped_column(String(6))
    pay: Mapped[Decimal] = mapped_column(Money)
    amount: Mapped[Decimal] = mapped_column(Money)
    children: Mapped[int | None] = mapped_column(Integer)


class MonthlyStatement(Base):
    """The figures of a Monatsabrechnung."""

    __tablename__ = "monthly_statements"
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id"), primary_key=True)
    billing_office_id: Mapped[int] = mapped_column(ForeignKey("billing_offices.id"))
    month: Mapped[str] = mapped_column(String(7))
    insured_count: Mapped[int] = mapped_column(Integer)
    pay: Mapped[Decimal] = mapped_column(Money)
    levy: Mapped[Decimal] = mapped_column(Money)
    additional: Mapped[Decimal] = mapped_column(Money)
    restructuring: Mapped[Decimal] = mapped_column(Money)
    total: Mapped[Decimal] = mapped_column(Money)
