"""Intake: claim a delivered file exactly once, hash it and archive the original bytes.

A file is claimed by renaming it out of the inbox into the spool (atomic: of two watchers only
one rename succeeds). A small JSON note written before the rename records who sent it, so that a
crash between any two steps leaves enough on disk for :func:`recover_spool` to finish the job.
The archived original is read-only and never changed again.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import secrets
import shutil
import stat
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from ingest.answering.outbox import write_atomically
from ingest.errors import UsageError
from ingest.settings import Settings
from ingest.validating.identifiers import sender_number_shaped

_CHUNK = 1024 * 1024
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


@dataclass(frozen=True, slots=True)
class Arrival:
    """What is known of a file when it arrives."""

    delivery_id: str
    sender_number: str
    filename: str
    test: bool
    channel: str
    received_at: str  # ISO timestamp, UTC


@dataclass(frozen=True, slots=True)
class Archived:
    arrival: Arrival
    path: Path
    sha256: str
    size: int


class NotARegularFile(UsageError):
    """The inbox entry is a symlink, FIFO, device or folder: it is left alone and reported."""

    def __init__(self, path: str) -> None:
        super().__init__(f"{path}: not a regular file (a symbolic link, folder or device)")
        self.path = path


def require_regular_file(path: Path) -> None:
    """Raise :class:`NotARegularFile` unless ``path`` itself (not what it links to) is one."""
    if not stat.S_ISREG(os.lstat(path).st_mode):
        raise NotARegularFile(str(path))


def in_transfer(name: str, suffixes: Sequence[str]) -> bool:
    """A name a client writes under while the transfer runs: a dot-file or one ending in a
    temporary suffix (``intake.ignore_suffixes``, any case). The drop folder never takes such a
    file; over SFTP it is taken once it is renamed to an ordinary name."""
    lowered = name.lower()
    return name.startswith(".") or any(lowered.endswith(s.lower()) for s in suffixes)


def new_delivery_id(now: datetime) -> str:
    """A LieferungsId: time of receipt plus randomness, sortable and easy to quote."""
    return f"{now:%Y%m%d-%H%M%S}-{secrets.token_hex(3).upper()}"


def safe_name(filename: str) -> str:
    cleaned = _UNSAFE.sub("_", filename)[-120:].lstrip(".")
    return cleaned or "datei"


ABANDONED_NOTE_SECONDS = 300.0


def _note_path(spool: Path, delivery_id: str) -> Path:
    return spool / f"{delivery_id}.json"


def _data_path(spool: Path, delivery_id: str) -> Path:
    return spool / f"{delivery_id}.data"


def archive_path(settings: Settings, arrival: Arrival) -> Path:
    day = arrival.received_at[:10].replace("-", "/")
    return settings.archive / day / f"{arrival.delivery_id}__{safe_name(arrival.filename)}"


def claim(
    settings: Settings,
    source: Path,
    *,
    sender_number: str,
    test: bool,
    channel: str,
    keep_source: bool = False,
    filename: str | None = None,
) -> Arrival | None:
    """Take ``source`` into the spool; ``None`` when another process claimed it first.

    With ``keep_source`` the file is copied (``zvk ingest`` of an operator's file), otherwise
    it is moved out of the inbox.
    """
    if not sender_number_shaped(sender_number):
        # it names the sender's outbox folder: never a path of its own
        raise UsageError(f"sender {sender_number!r} is not a Betriebsnummer")
    require_regular_file(source)
    now = datetime.now(UTC)
    arrival = Arrival(
        delivery_id=new_delivery_id(now),
        sender_number=sender_number,
        filename=filename or source.name,
        test=test,
        channel=channel,
        received_at=now.isoformat(),
    )
    settings.spool.mkdir(parents=True, exist_ok=True)
    note = _note_path(settings.spool, arrival.delivery_id)
    write_atomically(note, json.dumps(asdict(arrival)).encode())
    target = _data_path(settings.spool, arrival.delivery_id)
    try:
        if keep_source:
            tmp = target.with_suffix(".copying")
            shutil.copyfile(source, tmp)
            os.replace(tmp, target)
        else:
            os.rename(source, target)
    except FileNotFoundError:
        note.unlink(missing_ok=True)
        return None
    return arrival


def archive(settings: Settings, arrival: Arrival) -> Archived:
    """Hash the spooled bytes and move them, read-only, into the archive."""
    source = _data_path(settings.spool, arrival.delivery_id)
    target = archive_path(settings, arrival)
    if not source.exists() and target.exists():
        source = target  # an earlier run moved it already
    digest = hashlib.sha256()
    size = 0
    with source.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    if source != target:
        target.parent.mkdir(parents=True, exist_ok=True)
        os.rename(source, target)
        os.chmod(target, 0o444)
    return Archived(arrival=arrival, path=target, sha256=digest.hexdigest(), size=size)


@contextmanager
def registering(settings: Settings, arrival: Arrival, *, wait: bool) -> Iterator[bool]:
    """Hold the arrival's spool note while it is archived and entered in the ledger.

    Yields ``True`` when the caller is to register the arrival, ``False`` when somebody else
    did (the note is gone) or is doing it right now (only without ``wait``). The receiving
    thread and a worker's recovery pass, in this or another process, may both find a new
    arrival; the lock lets exactly one of them register it.
    """
    note = _note_path(settings.spool, arrival.delivery_id)
    try:
        fd = os.open(note, os.O_RDONLY)
    except FileNotFoundError:
        yield False
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield note.exists()  # unlinked by whoever held the lock before: registered
    finally:
        os.close(fd)


def forget(settings: Settings, arrival: Arrival) -> None:
    """Drop the spool note once the ledger has the delivery."""
    _note_path(settings.spool, arrival.delivery_id).unlink(missing_ok=True)


def pending_arrivals(settings: Settings) -> list[Arrival]:
    """Arrivals left in the spool by an interrupted run, oldest first."""
    if not settings.spool.is_dir():
        return []
    found: list[Arrival] = []
    for note in sorted(settings.spool.glob("*.json")):
        try:
            arrival = Arrival(**json.loads(note.read_text()))
        except (FileNotFoundError, ValueError, TypeError):
            continue  # registered meanwhile by another thread or process, or not a note
        has_bytes = _data_path(settings.spool, arrival.delivery_id).exists()
        if has_bytes or archive_path(settings, arrival).exists():
            found.append(arrival)
        elif _older_than(note, ABANDONED_NOTE_SECONDS):
            # The rename never happened: nothing was claimed. A young note may belong to a
            # claim in progress (the note is written before the file is moved).
            note.unlink(missing_ok=True)
    return found


def _older_than(path: Path, seconds: float) -> bool:
    try:
        return time.time() - path.stat().st_mtime > seconds
    except FileNotFoundError:
        return False
