"""Uploads refused before they became a file (ZVDA005, ZVDA006) in the delivery ledger.

Such an upload gets a ledger row like any delivery, in state ``rejected`` with result
``abgewiesen`` and its one finding; the worker then writes its protocol as it does for every
other delivery, so every protocol names a LieferungsId the ledger knows. Nothing of the bytes is
kept: the row's ``archive_path`` is empty (:data:`NOT_ARCHIVED`), its SHA-256 and size are of
the bytes that did arrive, and it never claims the hash of an original (a complete resend is not
``doppelt``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from ingest.storing.models import Delivery, DeliveryState, FindingRow
from ingest.storing.registry import find_sender
from ingest.validating.findings import Catalogue

NOT_ARCHIVED = ""  # archive_path of a delivery whose bytes were not kept


@dataclass(frozen=True, slots=True)
class RefusedUpload:
    """What is known of an upload refused before it was complete."""

    delivery_id: str
    sender_number: str
    filename: str
    test: bool
    channel: str
    sha256: str  # of the bytes that arrived
    size: int
    received_at: str  # ISO timestamp, UTC
    refused_at: str  # ISO timestamp, UTC
    code: str
    detail: str


def record_refusal(
    session: Session, catalogue: Catalogue, ruleset: str, refused: RefusedUpload
) -> bool:
    """Enter a refused upload in the ledger, ready to be answered; ``False`` when it is there
    already (the same refusal recorded before a restart)."""
    exists = session.scalar(select(Delivery.id).where(Delivery.delivery_id == refused.delivery_id))
    if exists is not None:
        return False
    sender = find_sender(session, refused.sender_number)
    delivery = Delivery(
        delivery_id=refused.delivery_id,
        sender_number=refused.sender_number,
        sender_id=sender.id if sender else None,
        filename=refused.filename,
        sha256=refused.sha256,
        size=refused.size,
        test=refused.test,
        channel=refused.channel,
        received_at=datetime.fromisoformat(refused.received_at),
        processed_at=datetime.fromisoformat(refused.refused_at),
        state=DeliveryState.REJECTED.value,
        result="abgewiesen",
        ruleset=ruleset,
        archive_path=NOT_ARCHIVED,
    )
    session.add(delivery)
    session.flush()
    finding = catalogue.finding(refused.code, refused.detail)
    session.execute(
        insert(FindingRow),
        [
            {
                "delivery_id": delivery.id,
                "code": finding.code,
                "severity": finding.severity,
                "message": finding.message,
            }
        ],
    )
    return True


def now_iso() -> str:
    return datetime.now(UTC).isoformat()
