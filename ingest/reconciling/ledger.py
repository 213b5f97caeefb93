"""Nothing lost: the delivery ledger against the files on disk and the committed reports.

For every delivery the archived original must exist with the size the ledger recorded
(``archivdatei_fehlt``, ``archivdatei_abweichend``); every file in the archive must belong to a
delivery (``archivdatei_unbekannt``); an answered delivery must have its protocol in the
sender's outbox unless the sender deleted it over SFTP, which is its acknowledgement
(``protokoll_fehlt``); the reports stored for a delivery must be as many as it accepted, and
none for a test or failed delivery (``meldungsanzahl_abweichend``); and no delivery may stay
unfinished (received, checking, or committed or rejected without its protocol) for longer than
an hour (``lieferung_unerledigt``).
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ingest.reconciling.asof import arrived_by
from ingest.reconciling.checks import Found
from ingest.settings import Settings
from ingest.storing.credentials import OutboxAcknowledgement
from ingest.storing.models import Delivery, DeliveryState, Report
from ingest.storing.refusals import NOT_ARCHIVED

# Every state is named in exactly one of these sets (tests/test_reconcile_ledger.py checks it).
IN_PROGRESS = {DeliveryState.RECEIVED.value, DeliveryState.CHECKING.value}
# Decided and stored, the protocol not yet written: unfinished too, but its reports count.
UNANSWERED = {DeliveryState.COMMITTED.value, DeliveryState.REJECTED.value}
# The protocol was written; an acknowledged one was deleted by the sender on purpose.
ANSWERED = {DeliveryState.ANSWERED.value, DeliveryState.FAILED.value}
ACKNOWLEDGED = {DeliveryState.ACKNOWLEDGED.value}
STUCK_AFTER = timedelta(hours=1)


def _found(
    kind: str,
    d: Delivery,
    detail: str,
    expected: int | None = None,
    actual: int | None = None,
) -> Found:
    both = expected is not None and actual is not None
    return Found(
        kind,
        d.period or d.received_at.date().isoformat(),
        expected=Decimal(expected) if expected is not None else None,
        actual=Decimal(actual) if actual is not None else None,
        difference=Decimal((actual or 0) - (expected or 0)) if both else None,
        reference=d.delivery_id,
        detail=detail,
    )


def ledger_checks(
    session: Session,
    settings: Settings,
    now: datetime | None = None,
    as_of: date | None = None,
) -> list[Found]:
    """Every ledger difference; ``now`` (default: the current time) dates what counts as old.

    With ``as_of``, only deliveries received (and archive files written) by the end of that day
    are looked at: a run for a day in the past says nothing about what came later.
    """
    counts: dict[int, int] = {
        delivery: n
        for delivery, n in session.execute(
            select(Report.delivery_id, func.count(Report.id)).group_by(Report.delivery_id)
        )
    }
    out: list[Found] = []
    known: set[Path] = set()
    now = now or datetime.now(UTC)
    deleted: set[tuple[str, str]] = {
        (sender, name)
        for sender, name in session.execute(
            select(OutboxAcknowledgement.sender_number, OutboxAcknowledgement.filename)
        )
    }
    for d in session.scalars(select(Delivery).order_by(Delivery.id)):
        archived = settings.home / d.archive_path
        known.add(archived.resolve())
        if as_of is not None and not arrived_by(d.received_at, as_of):
            continue
        try:
            # nothing is kept of an upload refused before it was complete
            size = d.size if d.archive_path == NOT_ARCHIVED else archived.stat().st_size
        except FileNotFoundError:
            out.append(_found("archivdatei_fehlt", d, d.archive_path))
        else:
            if size != d.size:
                out.append(
                    _found(
                        "archivdatei_abweichend",
                        d,
                        d.archive_path,
                        expected=d.size,
                        actual=size,
                    )
                )
        if d.state in IN_PROGRESS or d.state in UNANSWERED:
            received = d.received_at if d.received_at.tzinfo else d.received_at.replace(tzinfo=UTC)
            if now - received > STUCK_AFTER:
                out.append(_found("lieferung_unerledigt", d, f"Zustand {d.state}"))
            if d.state in IN_PROGRESS:
                continue
        if d.state in ANSWERED and _protocol_missing(settings, d, deleted):
            out.append(_found("protokoll_fehlt", d, d.protocol_path or "-"))
        failed = d.state == DeliveryState.FAILED.value
        expected = 0 if d.test or failed else d.accepted
        stored = counts.get(d.id, 0)
        if stored != expected:
            out.append(
                _found(
                    "meldungsanzahl_abweichend",
                    d,
                    "gespeicherte Meldungen gegen angenommene",
                    expected=expected,
                    actual=stored,
                )
            )
    out.extend(_unknown_files(settings, known, now, as_of))
    return out


def _protocol_missing(settings: Settings, d: Delivery, deleted: set[tuple[str, str]]) -> bool:
    """The protocol of an answered delivery is neither in the outbox nor deleted by the sender.

    A failed delivery without a protocol path waits for ``zvk reprocess``; that is no loss.
    """
    if not d.protocol_path:
        return d.state != DeliveryState.FAILED.value
    if (settings.home / d.protocol_path).is_file():
        return False
    return (d.sender_number, Path(d.protocol_path).name) not in deleted


def _unknown_files(
    settings: Settings, known: set[Path], now: datetime, as_of: date | None
) -> list[Found]:
    out: list[Found] = []
    root = settings.archive
    if not root.is_dir():
        return out
    for folder, _dirs, files in os.walk(root):
        for name in sorted(files):
            path = Path(folder, name)
            if name.startswith(".") or path.resolve() in known:
                continue
            if now.timestamp() - path.stat().st_ctime < STUCK_AFTER.total_seconds():
                continue  # archived a moment ago: its ledger row may be on its way
            written = datetime.fromtimestamp(path.stat().st_mtime, UTC)
            if as_of is not None and not arrived_by(written, as_of):
                continue
            out.append(
                Found(
                    "archivdatei_unbekannt",
                    datetime.fromtimestamp(path.stat().st_mtime, UTC).date().isoformat(),
                    reference=str(path.relative_to(settings.home)),
                    detail="Datei im Archiv ohne Lieferung im Ledger",
                )
            )
    return out
