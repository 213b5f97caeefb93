"""Files refused before they could be checked, in the delivery ledger.

Every refusal gets a ledger row like any delivery, whichever way the file came: an SFTP upload
stopped before it was complete (ZVDA005, ZVDA006), an inbox entry that is no regular file or
cannot be claimed, a file that cannot be archived or registered (a second hard link, ZVDA006;
an error of the service, ZVSY999). A refusal with a finding of the file is ``rejected`` with
result ``abgewiesen``; an error of the service is ``failed`` with ZVSY999 and its reason in
``error``. The worker then writes the protocol from that row as it does for every delivery,
so every protocol names a LieferungsId the ledger knows.

``archive_path`` points at the bytes where they were kept (in ``quarantine/``) and is empty
(:data:`NOT_ARCHIVED`) where nothing of them was kept. A refused file never claims the hash of
an original (a complete resend is not ``doppelt``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from ingest.pipeline.results import Result
from ingest.storing.models import Delivery, DeliveryState, FindingRow
from ingest.storing.registry import find_sender
from ingest.validating.findings import Catalogue, Findings
from ingest.validating.rules_delivery import SYSTEM_ERROR
from ingest.validating.submission import Channel

NOT_ARCHIVED = ""  # archive_path of a delivery whose bytes were not kept
QUARANTINED = "quarantine/"  # archive_path of a delivery whose bytes are in the quarantine


@dataclass(frozen=True, slots=True)
class RefusedUpload:
    """What is known of a file refused before it could be checked."""

    delivery_id: str
    sender_number: str
    filename: str
    test: bool
    channel: Channel
    sha256: str  # of the bytes that arrived
    size: int
    received_at: str  # ISO timestamp, UTC
    refused_at: str  # ISO timestamp, UTC
    code: str
    detail: str | None
    archive_path: str = NOT_ARCHIVED  # relative to the home
    error: str | None = None  # the reason of a failure of the service (no personal data)


def is_quarantined(archive_path: str) -> bool:
    return archive_path.startswith(QUARANTINED)


def record_refusal(
    session: Session, catalogue: Catalogue, ruleset: str, refused: RefusedUpload
) -> bool:
    """Enter a refused file in the ledger, ready to be answered; ``False`` when it is there
    already (the same refusal recorded before a restart)."""
    exists = session.scalar(select(Delivery.id).where(Delivery.delivery_id == refused.delivery_id))
    if exists is not None:
        return False
    sender = find_sender(session, refused.sender_number)
    failed = refused.code == SYSTEM_ERROR
    delivery = Delivery(
        delivery_id=refused.delivery_id,
        sender_number=refused.sender_number,
        sender_id=sender.id if sender else None,
        filename=refused.filename,
        sha256=refused.sha256,
        size=refused.size,
        test=refused.test,
        channel=Channel(refused.channel).value,
        received_at=datetime.fromisoformat(refused.received_at),
        processed_at=datetime.fromisoformat(refused.refused_at),
        state=(DeliveryState.FAILED if failed else DeliveryState.REJECTED).value,
        result=Result.ABGEWIESEN.value,
        ruleset=ruleset,
        archive_path=refused.archive_path,
        error=refused.error if failed else None,
    )
    session.add(delivery)
    session.flush()
    out = Findings(catalogue)
    out.add(refused.code, refused.detail)
    (finding,) = out.items
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
