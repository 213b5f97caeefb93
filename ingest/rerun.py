"""Checking a delivery again (``zvk reprocess``): back to ``received``, its findings dropped.

A committed delivery cannot be re-run: its reports are in the database. A delivery whose bytes
were not kept (an upload refused before it was complete, an inbox entry that was no regular
file) cannot be re-run either. One whose bytes are in the quarantine is re-run from a
read-only copy of them in the archive, when they are a regular file.
"""

from __future__ import annotations

import hashlib
import os
import stat
from datetime import UTC
from pathlib import Path
from typing import TYPE_CHECKING

import structlog
from sqlalchemy import delete, select

from ingest.errors import UsageError
from ingest.receiving import intake
from ingest.storing.models import Delivery, DeliveryState, FindingRow
from ingest.storing.refusals import NOT_ARCHIVED, is_quarantined

if TYPE_CHECKING:
    from ingest.pipeline import Service

log = structlog.stdlib.get_logger("ingest.rerun")

RERUNNABLE_RESULTS = ("abgewiesen", "doppelt")


def reset(service: Service, delivery_id: str) -> None:
    """Make a failed or rejected delivery new again, so that a worker checks it afresh.

    Raises :class:`~ingest.errors.UsageError` for a delivery that cannot be re-run, saying why.
    """
    with service.sessions.begin() as session:
        delivery = session.scalar(select(Delivery).where(Delivery.delivery_id == delivery_id))
        if delivery is None:
            raise LookupError(delivery_id)
        if delivery.state in (DeliveryState.RECEIVED.value, DeliveryState.CHECKING.value):
            return
        if delivery.archive_path == NOT_ARCHIVED:
            raise UsageError(
                f"{delivery_id} was refused before the file was complete or was no regular "
                "file, and nothing of it was kept; the sender has to send the file again"
            )
        if (
            delivery.state != DeliveryState.FAILED.value
            and delivery.result not in RERUNNABLE_RESULTS
            and not delivery.test
        ):
            raise UsageError(
                f"{delivery_id} has committed reports ({delivery.result}); "
                "send a Storno and a corrected file instead"
            )
        if is_quarantined(delivery.archive_path):
            _archive_quarantined(service, delivery)
        session.execute(delete(FindingRow).where(FindingRow.delivery_id == delivery.id))
        delivery.state = DeliveryState.RECEIVED.value
        delivery.result = None
        delivery.original_sha256 = None
        delivery.file_number_used = None
        delivery.duplicate_of = None
        delivery.protocol_path = None
        delivery.processed_at = None
        delivery.error = None
        delivery.total = delivery.accepted = delivery.rejected = 0
    log.info("delivery reset for a re-run", delivery_id=delivery_id)


def _archive_quarantined(service: Service, delivery: Delivery) -> None:
    """Copy the quarantined bytes into the archive (hashed, read-only) and point the row there;
    the quarantined file stays as it is."""
    settings = service.settings
    kept = settings.home / delivery.archive_path
    try:
        regular = stat.S_ISREG(os.lstat(kept).st_mode)
    except FileNotFoundError:
        regular = False
    if not regular:
        raise UsageError(
            f"{delivery.delivery_id}: what the quarantine holds of it ({delivery.archive_path}) "
            "is missing or no regular file and cannot be checked; the sender has to send the "
            "file again"
        )
    received = delivery.received_at
    received = received if received.tzinfo else received.replace(tzinfo=UTC)
    arrival = intake.Arrival(
        delivery_id=delivery.delivery_id,
        sender_number=delivery.sender_number,
        filename=delivery.filename,
        test=delivery.test,
        channel=delivery.channel,
        received_at=received.isoformat(),
    )
    target = intake.archive_path(settings, arrival)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.copying")
    digest = hashlib.sha256()
    size = 0
    with open(kept, "rb") as src, open(tmp, "wb") as dst:
        while chunk := src.read(1 << 20):
            digest.update(chunk)
            dst.write(chunk)
            size += len(chunk)
        dst.flush()
        os.fsync(dst.fileno())
    os.chmod(tmp, 0o400)
    os.replace(tmp, target)
    delivery.archive_path = str(Path(target).relative_to(settings.home))
    delivery.sha256 = digest.hexdigest()
    delivery.size = size
    log.info("quarantined file archived for a re-run", delivery_id=delivery.delivery_id)
