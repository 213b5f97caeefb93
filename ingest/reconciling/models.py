"""Tables of the reconciliation: payments, runs, their findings, the run lock, pension points.

Idempotency lives in unique constraints, as in the rest of the fund's tables: a bank entry is
booked once (account, bank reference, booking date, amount), a nightly run claims its day once,
and the lock is a row whose primary key two runs cannot both insert.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from ingest.storing.models import Base, Money


class PaymentFile(Base):
    """One imported bank statement file (a file imported twice is listed twice)."""

    __tablename__ = "payment_files"
    id: Mapped[int] = mapped_column(primary_key=True)
    filename: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    file_format: Mapped[str] = mapped_column(String(20))
    imported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    entries: Mapped[int] = mapped_column(Integer)
    booked: Mapped[int] = mapped_column(Integer)


class Payment(Base):
    """One booked bank entry; credits with the remittance pattern name an office and month."""

    __tablename__ = "payments"
    __table_args__ = (
        UniqueConstraint("account", "bank_reference", "booking_date", "amount"),
        Index("ix_payments_office_month", "billing_office_id", "month"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    file_id: Mapped[int] = mapped_column(ForeignKey("payment_files.id"), index=True)
    account: Mapped[str] = mapped_column(String(34))
    bank_reference: Mapped[str] = mapped_column(String(120))
    booking_date: Mapped[date] = mapped_column(Date)
    amount: Mapped[Decimal] = mapped_column(Money)  # debits are negative
    currency: Mapped[str] = mapped_column(String(3))
    remittance: Mapped[str] = mapped_column(Text)
    payer: Mapped[str | None] = mapped_column(String(140))
    billing_office_id: Mapped[int | None] = mapped_column(ForeignKey("billing_offices.id"))
    month: Mapped[str | None] = mapped_column(String(7))
    unmatched_reason: Mapped[str | None] = mapped_column(String(100))


class ReconciliationRun(Base):
    """One reconciliation; a nightly run claims its ``slot`` (``nightly:YYYY-MM-DD``) once."""

    __tablename__ = "reconciliation_runs"
    id: Mapped[int] = mapped_column(primary_key=True)
    trigger: Mapped[str] = mapped_column(String(20))
    slot: Mapped[str | None] = mapped_column(String(40), unique=True)
    as_of: Mapped[date] = mapped_column(Date)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(20))
    findings: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)


class ReconciliationFinding(Base):
    """A difference found by a run (``kind`` is the export's ``art``)."""

    __tablename__ = "reconciliation_findings"
    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("reconciliation_runs.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    billing_office_id: Mapped[int | None] = mapped_column(ForeignKey("billing_offices.id"))
    period: Mapped[str] = mapped_column(String(10))
    component: Mapped[str | None] = mapped_column(String(20))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"))
    expected: Mapped[Decimal | None] = mapped_column(Money)
    actual: Mapped[Decimal | None] = mapped_column(Money)
    difference: Mapped[Decimal | None] = mapped_column(Money)
    reference: Mapped[str | None] = mapped_column(String(120))
    detail: Mapped[str | None] = mapped_column(Text)


class RunLock(Base):
    """A named lock: the row exists while a run holds it; a stale row expires."""

    __tablename__ = "run_locks"
    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    holder: Mapped[str] = mapped_column(String(120))
    acquired_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class PensionPoints(Base):
    """The pension points of one uncancelled Jahresmeldung (dropped when it is cancelled)."""

    __tablename__ = "pension_points"
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id"), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    billing_office_id: Mapped[int] = mapped_column(ForeignKey("billing_offices.id"))
    year: Mapped[int] = mapped_column(Integer)
    age: Mapped[int] = mapped_column(Integer)
    factor: Mapped[Decimal] = mapped_column(Numeric(3, 1))
    pay: Mapped[Decimal] = mapped_column(Money)
    child_months: Mapped[int] = mapped_column(Integer)
    points: Mapped[Decimal] = mapped_column(Numeric(8, 2))
    computed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
