"""Importing bank statements: every entry booked once, each credit matched to an office and month.

Files come from ``zvk payments import`` or from the payments inbox (``reconcile.payments_inbox``,
default ``<home>/payments``), which ``zvk serve`` scans: a file there is claimed by renaming it
into ``.processing/`` (of two scanners only one rename succeeds), imported, and moved to
``imported/YYYY-MM-DD/``, or to ``failed/`` with a ``.reason.txt`` beside it.
"""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import structlog
from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from ingest.reconciling.bankfiles import EUR, BankEntry, StatementError, read_statement
from ingest.reconciling.matching import UNKNOWN_OFFICE, Target, match_remittance
from ingest.reconciling.models import Payment, PaymentFile
from ingest.settings import Settings
from ingest.storing.models import BillingOffice, Member

log = structlog.stdlib.get_logger("ingest.payments")
PROCESSING, IMPORTED, FAILED = ".processing", "imported", "failed"


@dataclass(frozen=True, slots=True)
class ImportResult:
    filename: str
    file_format: str
    entries: int
    booked: int  # new entries; the rest were booked by an earlier import
    matched: int  # of the new entries
    unmatched: int

    @property
    def duplicates(self) -> int:
        return self.entries - self.booked


def office_ids(session: Session) -> dict[tuple[str, str], int]:
    rows = session.execute(
        select(Member.number, BillingOffice.number, BillingOffice.id).join(
            Member, Member.id == BillingOffice.member_id
        )
    )
    return {(member, office): office_id for member, office, office_id in rows}


def _assign(payment: Payment, entry: BankEntry, offices: dict[tuple[str, str], int]) -> None:
    target = match_remittance(entry.remittance, entry.amount, entry.currency)
    if isinstance(target, Target):
        office_id = offices.get((target.member, target.office))
        if office_id is not None:
            payment.billing_office_id, payment.month = office_id, target.month
            payment.unmatched_reason = None
            return
        target = UNKNOWN_OFFICE
    payment.billing_office_id, payment.month, payment.unmatched_reason = None, None, target


def import_statement(sessions: sessionmaker[Session], data: bytes, filename: str) -> ImportResult:
    """Book the entries of one statement that are not booked yet (one transaction)."""
    statement = read_statement(data)
    sha = hashlib.sha256(data).hexdigest()
    booked = matched = 0
    with sessions.begin() as session:
        offices = office_ids(session)
        record = PaymentFile(
            filename=filename[:255],
            sha256=sha,
            file_format=statement.file_format,
            imported_at=datetime.now(UTC),
            entries=len(statement.entries),
            booked=0,
        )
        session.add(record)
        session.flush()
        for entry in statement.entries:
            if _known(session, entry):
                continue
            payment = Payment(
                file_id=record.id,
                account=entry.account[:34],
                bank_reference=entry.bank_reference[:120],
                booking_date=entry.booking_date,
                amount=entry.amount,
                currency=entry.currency[:3],
                remittance=entry.remittance,
                payer=entry.payer,
            )
            _assign(payment, entry, offices)
            try:
                with session.begin_nested():
                    session.add(payment)
            except IntegrityError:
                continue  # booked a moment ago by a concurrent import of the same statement
            booked += 1
            matched += payment.billing_office_id is not None
        record.booked = booked
    log.info(
        "bank statement imported",
        file_format=statement.file_format,
        entries=len(statement.entries),
        booked=booked,
        matched=matched,
    )
    return ImportResult(
        filename, statement.file_format, len(statement.entries), booked, matched, booked - matched
    )


def _known(session: Session, entry: BankEntry) -> bool:
    found = session.scalar(
        select(Payment.id).where(
            Payment.account == entry.account[:34],
            Payment.bank_reference.in_(
                [ref[:120] for ref in (entry.bank_reference, *entry.former_references)]
            ),
            Payment.booking_date == entry.booking_date,
            Payment.amount == entry.amount,
        )
    )
    return found is not None


def rematch(session: Session) -> int:
    """Try again the credits whose member or office was unknown when they were imported.

    Entries in a currency other than EUR that an earlier version matched are unmatched again.
    """
    offices = office_ids(session)
    count = 0
    for payment in session.scalars(
        select(Payment).where(
            or_(
                Payment.unmatched_reason == UNKNOWN_OFFICE,
                Payment.billing_office_id.is_not(None) & (Payment.currency != EUR),
            )
        )
    ):
        entry = BankEntry(
            payment.account,
            payment.bank_reference,
            payment.booking_date,
            payment.amount,
            payment.currency,
            payment.remittance,
            payment.payer,
        )
        _assign(payment, entry, offices)
        count += payment.billing_office_id is not None
    return count


# -- the payments inbox -----------------------------------------------------------------------


def inbox_of(settings: Settings) -> Path:
    folder = settings.reconcile.payments_inbox
    return folder if folder.is_absolute() else settings.home / folder


def scan_inbox(settings: Settings, sessions: sessionmaker[Session]) -> list[ImportResult]:
    """Import every complete file in the payments inbox; a bad file goes to ``failed/``."""
    inbox = inbox_of(settings)
    inbox.mkdir(parents=True, exist_ok=True)
    results = []
    settle = settings.intake.settle_seconds
    for path in sorted(inbox.iterdir()):
        name = path.name
        if name.startswith(".") or not path.is_file() or path.is_symlink():
            continue
        if any(name.lower().endswith(s) for s in settings.intake.ignore_suffixes):
            continue
        if time.time() - path.stat().st_mtime < settle:
            continue  # still being written; the next scan takes it
        claimed = inbox / PROCESSING / f"{time.time_ns()}-{name}"
        claimed.parent.mkdir(exist_ok=True)
        try:
            os.rename(path, claimed)
        except FileNotFoundError:
            continue  # another scanner was faster
        result = _import_claimed(settings, sessions, claimed, name)
        if result is not None:
            results.append(result)
    return results


def _import_claimed(
    settings: Settings, sessions: sessionmaker[Session], claimed: Path, name: str
) -> ImportResult | None:
    inbox = inbox_of(settings)
    today = datetime.now(UTC).date().isoformat()
    try:
        result = import_statement(sessions, claimed.read_bytes(), name)
    except StatementError as exc:
        target = _free(inbox / FAILED / name)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.rename(claimed, target)
        target.with_name(target.name + ".reason.txt").write_text(f"{exc}\n", encoding="utf-8")
        log.warning("bank statement refused", reason=str(exc))
        return None
    target = _free(inbox / IMPORTED / today / name)
    target.parent.mkdir(parents=True, exist_ok=True)
    os.rename(claimed, target)
    return result


def _free(path: Path) -> Path:
    """``path``, or ``name-2.ext`` and so on when it exists already."""
    candidate, n = path, 1
    while candidate.exists():
        n += 1
        candidate = path.with_name(f"{path.stem}-{n}{path.suffix}")
    return candidate
