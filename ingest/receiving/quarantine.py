"""Failing one file alone: its bytes moved aside with the reason, a ledger row, an answer.

Whatever goes wrong with one file (an inbox entry that is no regular file, a file that cannot
be claimed, read, archived or registered, a hard link) must not stop the files of other
senders. A failure that is about the file is final for it: what there is of it goes to
``quarantine/`` next to a ``.grund.txt`` that says why, and it gets a row in the delivery ledger
(:func:`ingest.storing.refusals.record_refusal`) from which the worker writes its protocol, as
for every delivery. A failure of the installation itself (database unreachable, disk full) is
*transient*: the file stays where it is (inbox or spool) and a later pass tries again; a file
is never answered without its ledger row. When the row cannot be written for a reason of its
own, the file stays in the quarantine with its reason and gets no protocol (the log says so).
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import secrets
import stat
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

import structlog
from sqlalchemy.exc import DBAPIError, OperationalError

from ingest.answering.outbox import write_atomically
from ingest.errors import Refused, TransientError
from ingest.receiving import intake
from ingest.receiving.names import escaped_name
from ingest.settings import Settings
from ingest.storing.refusals import NOT_ARCHIVED, RefusedUpload, now_iso
from ingest.validating.rules_delivery import SYSTEM_ERROR
from ingest.validating.submission import Channel

__all__ = ["RefusalLedger", "Refused", "is_transient", "reason_of", "refuse_arrival"]

log = structlog.stdlib.get_logger("ingest.quarantine")

# The disk or the machine, not the file: a later pass may well succeed.
_TRANSIENT_ERRNOS = frozenset(
    {errno.ENOSPC, errno.EDQUOT, errno.ENOMEM, errno.EAGAIN, errno.EINTR, errno.EMFILE}
    | {errno.ENFILE, errno.EBUSY, errno.ETIMEDOUT}
)
_NAME_ROOM = 100  # characters of the original name kept in a quarantined entry's name


class RefusalLedger(Protocol):
    """Where refusals are entered (the pipeline's :class:`~ingest.pipeline.ledger.Ledger`)."""

    def enter_refusal(self, refused: RefusedUpload) -> None: ...

    def taken(self, delivery_id: str) -> bool: ...


def is_transient(exc: BaseException) -> bool:
    """Whether ``exc`` is about the installation (retry later) rather than about one file."""
    if isinstance(exc, TransientError | OperationalError):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(exc, OSError) and exc.errno in _TRANSIENT_ERRNOS


def reason_of(exc: BaseException) -> str:
    """A one-line reason without the values of the file (no names, no personal data)."""
    if isinstance(exc, Refused):
        return f"{exc.code}: {exc.detail}"
    if isinstance(exc, OSError) and exc.errno is not None:
        return f"{type(exc).__name__} ({errno.errorcode.get(exc.errno, exc.errno)})"
    return type(exc).__name__


def _code(exc: BaseException) -> tuple[str, str | None]:
    return (exc.code, exc.detail) if isinstance(exc, Refused) else (SYSTEM_ERROR, None)


def bounded_name(name: str) -> str:
    """An entry name for the quarantine: unique, printable and well below the 255-byte limit."""
    kept = escaped_name(name).replace("/", "_")[-_NAME_ROOM:].lstrip(".") or "datei"
    return f"{datetime.now(UTC):%Y%m%d-%H%M%S}-{secrets.token_hex(4)}-{kept}"


def _write_reason(target: Path, reason: str, **facts: object) -> None:
    note = {"grund": reason, "zeit": datetime.now(UTC).isoformat(), **facts}
    write_atomically(
        target.with_name(target.name + ".grund.txt"),
        (json.dumps(note, ensure_ascii=False, indent=1) + "\n").encode(),
    )


def _regular(path: Path) -> bool:
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except FileNotFoundError:
        return False


def _digest(path: Path | None) -> tuple[str, int]:
    """Digest and size of the bytes that are there (of nothing, when none can be read)."""
    digest = hashlib.sha256()
    size = 0
    if path is None:
        return digest.hexdigest(), 0
    try:
        with path.open("rb") as fh:
            while chunk := fh.read(1 << 20):
                digest.update(chunk)
                size += len(chunk)
    except OSError:
        return hashlib.sha256().hexdigest(), 0
    return digest.hexdigest(), size


def _enter(ledger: RefusalLedger, refused: RefusedUpload) -> bool:
    """Enter the refusal; ``False`` when that failed for a reason of its own (logged)."""
    try:
        ledger.enter_refusal(refused)
    except Exception as exc:
        if is_transient(exc):
            raise
        log.error(
            "could not enter a refused file in the ledger; it stays in the quarantine "
            "without a protocol",
            delivery_id=refused.delivery_id,
            sender=refused.sender_number,
            reason=reason_of(exc),
        )
        return False
    return True


def refuse_arrival(
    settings: Settings, ledger: RefusalLedger, arrival: intake.Arrival, exc: BaseException
) -> None:
    """Enter a claimed arrival that cannot be registered in the ledger as refused, then move
    what the spool (or archive) holds of it to ``quarantine/spool/<LieferungsId>/``.

    A transient failure of the ledger is raised and leaves everything in the spool; a second
    call after a crash in between finds the row and only moves the files.
    """
    reason = reason_of(exc)
    log.error(
        "delivery refused before it was registered",
        delivery_id=arrival.delivery_id,
        sender=arrival.sender_number,
        reason=reason,
        exc_info=not isinstance(exc, Refused),
    )
    files = intake.spooled_files(settings, arrival)
    folder = settings.quarantine / "spool" / arrival.delivery_id
    data = next((p for p in (files[0], files[2]) if _regular(p)), None)
    sha256, size = _digest(data)
    code, detail = _code(exc)
    refused = RefusedUpload(
        delivery_id=arrival.delivery_id,
        sender_number=arrival.sender_number,
        filename=arrival.filename,
        test=arrival.test,
        channel=arrival.channel,
        sha256=sha256,
        size=size,
        received_at=arrival.received_at,
        refused_at=now_iso(),
        code=code,
        detail=detail,
        archive_path=(
            str((folder / data.name).relative_to(settings.home)) if data else NOT_ARCHIVED
        ),
        error=reason,
    )
    _enter(ledger, refused)
    folder.mkdir(parents=True, exist_ok=True)
    for path in files:  # the note last: until it is gone, the recovery finds the arrival
        try:
            os.rename(path, folder / path.name)
        except FileNotFoundError:
            continue
    facts = {str(k): v for k, v in asdict(arrival).items()}
    _write_reason(folder / arrival.delivery_id, reason, **facts)


def refuse_entry(
    settings: Settings,
    ledger: RefusalLedger,
    path: Path,
    sender: str,
    test: bool,
    exc: BaseException,
) -> None:
    """An inbox entry that could not be claimed: moved aside untouched (a symlink itself,
    never its target) into ``quarantine/inbox/<sender>/``, entered in the ledger as refused.

    A transient failure of the ledger moves the entry back into the inbox and is raised: the
    next rescan tries again.
    """
    reason = reason_of(exc)
    log.error(
        "inbox entry could not be claimed",
        sender=sender,
        reason=reason,
        exc_info=not isinstance(exc, Refused),
    )
    delivery_id = intake.new_delivery_id(datetime.now(UTC))
    while ledger.taken(delivery_id) or (settings.spool / f"{delivery_id}.json").exists():
        delivery_id = intake.new_delivery_id(datetime.now(UTC))
    folder = settings.quarantine / "inbox" / sender
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / bounded_name(path.name)
    try:
        os.rename(path, target)
    except FileNotFoundError:
        return  # taken meanwhile
    kept = _regular(target)
    sha256, size = _digest(target if kept else None)
    received = now_iso()
    code, detail = _code(exc)
    refused = RefusedUpload(
        delivery_id=delivery_id,
        sender_number=sender,
        filename=escaped_name(path.name),
        test=test,
        channel=Channel.DROPFOLDER,
        sha256=sha256,
        size=size,
        received_at=received,
        refused_at=received,
        code=code,
        detail=detail,
        archive_path=str(target.relative_to(settings.home)) if kept else NOT_ARCHIVED,
        error=reason,
    )
    facts = {"absender": sender, "dateiname": escaped_name(path.name), "lieferung": delivery_id}
    _write_reason(target, reason, **facts)  # first: a crash now leaves the file with its reason
    try:
        _enter(ledger, refused)
    except Exception:
        try:
            os.rename(target, path)  # back where it was: tried again at the next rescan
        except OSError as back:
            log.error(
                "could not put a refused inbox entry back; it stays in the quarantine",
                sender=sender,
                reason=reason_of(back),
            )
        else:
            target.with_name(target.name + ".grund.txt").unlink(missing_ok=True)
        raise
