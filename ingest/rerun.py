"""Checking a delivery again (``zvk reprocess``): back to ``received``, its findings dropped
(:meth:`ingest.pipeline.ledger.Ledger.reset_for_rerun`).

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

import structlog

from ingest.errors import UsageError
from ingest.receiving import intake
from ingest.receiving.intake import channel_of
from ingest.settings import Settings
from ingest.storing.models import Delivery

log = structlog.stdlib.get_logger("ingest.rerun")


def archive_quarantined(settings: Settings, delivery: Delivery) -> None:
    """Copy the quarantined bytes into the archive (hashed, read-only) and point the row there;
    the quarantined file stays as it is."""
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
        channel=channel_of(delivery.channel),
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
