"""Refusing one file: into the quarantine with its reason, and a protocol for its sender.

Used wherever a file fails for a reason of its own before it has a row in the ledger: when it
is claimed from an inbox, archived or entered in the ledger. Later failures are the ledger's
(state ``failed``, ZVSY999).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import structlog

from ingest.receiving import intake
from ingest.receiving.names import escaped_name
from ingest.receiving.quarantine import (
    Refused,
    answer_refused,
    note_facts,
    quarantine_entry,
    quarantine_spooled,
    reason_of,
)
from ingest.settings import Settings

log = structlog.stdlib.get_logger("ingest.refusals")


def _code(exc: BaseException) -> tuple[str, str | None]:
    return (exc.code, exc.detail) if isinstance(exc, Refused) else ("ZVSY999", None)


def refuse_arrival(settings: Settings, arrival: intake.Arrival, exc: BaseException) -> None:
    """Move a claimed arrival's files to ``quarantine/spool/<LieferungsId>/`` and answer it."""
    reason = reason_of(exc)
    log.error(
        "delivery refused before it reached the ledger",
        delivery_id=arrival.delivery_id,
        sender=arrival.sender_number,
        reason=reason,
        exc_info=not isinstance(exc, Refused),
    )
    folder = quarantine_spooled(
        settings,
        intake.spooled_files(settings, arrival),
        arrival.delivery_id,
        reason,
        note_facts(arrival),
    )
    kept = sorted(p for p in folder.iterdir() if not p.name.endswith((".json", ".grund.txt")))
    code, detail = _code(exc)
    answer_refused(
        settings,
        delivery_id=arrival.delivery_id,
        sender=arrival.sender_number,
        filename=arrival.filename,
        test=arrival.test,
        received_at=datetime.fromisoformat(arrival.received_at),
        data=kept[0] if kept else None,
        code=code,
        detail=detail,
    )


def refuse_entry(
    settings: Settings, path: Path, sender: str, test: bool, exc: BaseException
) -> None:
    """An inbox entry that could not be claimed: moved aside untouched and answered."""
    reason = reason_of(exc)
    log.error(
        "inbox entry could not be claimed",
        sender=sender,
        reason=reason,
        exc_info=not isinstance(exc, Refused),
    )
    moved = quarantine_entry(settings, path, sender, reason)
    if moved is None:
        return
    now = datetime.now(UTC)
    code, detail = _code(exc)
    answer_refused(
        settings,
        delivery_id=intake.new_delivery_id(now),
        sender=sender,
        filename=escaped_name(path.name),
        test=test,
        received_at=now,
        data=moved if moved.is_file() and not moved.is_symlink() else None,
        code=code,
        detail=detail,
    )
