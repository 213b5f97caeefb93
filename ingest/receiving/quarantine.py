"""Failing one delivery alone: its files moved aside with the reason, the sender answered.

Whatever goes wrong with one file (a name the database refuses, a file that cannot be read or
archived, a hard link) must not stop the files of other senders. A failure that is about the
file is final for it: its bytes go to ``quarantine/`` next to a ``.grund.txt`` that says why,
and the sender gets a protocol. A failure of the installation itself (database unreachable,
disk full) is *transient*: the file stays where it is and a later pass tries again.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import secrets
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

import structlog
from sqlalchemy.exc import DBAPIError, OperationalError

from ingest.answering.outbox import write_atomically, write_protocol
from ingest.answering.protocol import Verdict
from ingest.errors import TransientError
from ingest.receiving.names import escaped_name
from ingest.settings import Settings
from ingest.validating.findings import load_catalogue

log = structlog.stdlib.get_logger("ingest.quarantine")

# The disk or the machine, not the file: a later pass may well succeed.
_TRANSIENT_ERRNOS = frozenset(
    {errno.ENOSPC, errno.EDQUOT, errno.ENOMEM, errno.EAGAIN, errno.EINTR, errno.EMFILE}
    | {errno.ENFILE, errno.EBUSY, errno.ETIMEDOUT}
)
_NAME_ROOM = 100  # characters of the original name kept in a quarantined entry's name


class Refused(Exception):
    """The file cannot be taken as it is; the sender is answered with ``code``."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail


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


def quarantine_entry(settings: Settings, path: Path, sender: str, reason: str) -> Path | None:
    """Move an inbox entry aside untouched (a symlink itself, never its target)."""
    folder = settings.quarantine / "inbox" / sender
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / bounded_name(path.name)
    try:
        os.rename(path, target)
    except FileNotFoundError:
        return None  # taken meanwhile
    _write_reason(target, reason, absender=sender, dateiname=escaped_name(path.name))
    return target


def quarantine_spooled(
    settings: Settings, files: list[Path], delivery_id: str, reason: str, facts: dict[str, object]
) -> Path:
    """Move what the spool (or archive) holds of one arrival into ``quarantine/spool/``."""
    folder = settings.quarantine / "spool" / delivery_id
    folder.mkdir(parents=True, exist_ok=True)
    for path in files:
        try:
            os.rename(path, folder / path.name)
        except FileNotFoundError:
            continue
    _write_reason(folder / delivery_id, reason, **facts)
    return folder


def sha256_of(path: Path | None) -> str:
    """Digest of the bytes that are there (of nothing, when none can be read)."""
    digest = hashlib.sha256()
    if path is not None:
        try:
            with path.open("rb") as fh:
                while chunk := fh.read(1 << 20):
                    digest.update(chunk)
        except OSError:
            return hashlib.sha256().hexdigest()
    return digest.hexdigest()


def answer_refused(
    settings: Settings,
    *,
    delivery_id: str,
    sender: str,
    filename: str,
    test: bool,
    received_at: datetime,
    data: Path | None,
    code: str = "ZVSY999",
    detail: str | None = None,
) -> Path | None:
    """The protocol of a delivery that never reached the ledger; ``None`` when it cannot be
    written either (the log says so)."""
    catalogue = load_catalogue()
    verdict = Verdict(
        delivery_id=delivery_id,
        sender=sender,
        filename=filename or "datei",
        sha256=sha256_of(data),
        received_at=received_at,
        processed_at=datetime.now(UTC),
        test=test,
        ruleset=f"Meldedatei 1, Regelwerk {catalogue.version}",  # as Service.ruleset
        result="abgewiesen",
        findings=[catalogue.finding(code, detail)],
    )
    try:
        return write_protocol(settings.outbox, verdict)
    except Exception as exc:
        log.error("could not write the protocol of a refused file", reason=reason_of(exc))
        return None


def note_facts(arrival: object) -> dict[str, object]:
    """The arrival's fields for a reason file (a dataclass of :mod:`ingest.receiving.intake`)."""
    facts = asdict(arrival)  # type: ignore[call-overload]
    return {str(k): v for k, v in facts.items()}
