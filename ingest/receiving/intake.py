"""Intake: claim a delivered file exactly once, hash it and archive the original bytes.

A file is claimed by renaming it out of the inbox into the spool (atomic: of two watchers only
one rename succeeds). A small JSON note written before the rename records who sent it, so that a
crash between any two steps leaves enough on disk for :func:`pending_arrivals` to finish the job.
The note is created exclusively under a LieferungsId no other arrival or ledger row has, so an
id and its spool files belong to one file only.

The archive holds a copy, made and hashed in one pass, of a file that nobody else can still
write: a file with a second hard link is refused, a file some process still holds open or that
grows while it is copied is left in the spool until it is complete. The copy is read-only
(0400), checked against size and hash once it is in place, and never changed again.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import os
import re
import secrets
import shutil
import stat
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ingest.errors import Refused, TransientError, UsageError
from ingest.receiving.names import escaped_name, is_escaped
from ingest.settings import Settings
from ingest.validating.identifiers import sender_number_shaped
from ingest.validating.submission import Channel

_CHUNK = 1024 * 1024
_ZEROS = bytes(_CHUNK)
_ID_ATTEMPTS = 20
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


@dataclass(frozen=True, slots=True)
class Arrival:
    """What is known of a file when it arrives."""

    delivery_id: str
    sender_number: str
    filename: str
    test: bool
    channel: Channel
    received_at: str  # ISO timestamp, UTC
    # The spooled bytes are the service's own copy (``zvk ingest``): archived by renaming it.
    own_copy: bool = False


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


class NotYetComplete(TransientError):
    """A writer still holds the spooled file open, or it grew while it was copied."""


_CHANNELS_BEFORE = {"drop": Channel.DROPFOLDER}  # names in notes of an earlier version


def channel_of(name: str) -> Channel:
    """The channel a note on disk names (a spool note, a refused upload's note)."""
    return _CHANNELS_BEFORE.get(name) or Channel(name)


def new_delivery_id(now: datetime) -> str:
    """A LieferungsId: time of receipt plus six random hex digits, sortable and easy to quote.

    The shape is the one senders' software has seen from the start. Its uniqueness does not
    rest on chance: :func:`claim` reserves each id exclusively in the spool and against the
    ledger before it is used, and draws again on a collision.
    """
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
    channel: Channel,
    keep_source: bool = False,
    filename: str | None = None,
    taken: Callable[[str], bool] | None = None,
) -> Arrival | None:
    """Take ``source`` into the spool; ``None`` when another process claimed it first.

    With ``keep_source`` the file is copied (``zvk ingest`` of an operator's file), otherwise
    it is moved out of the inbox. ``taken`` tells whether the ledger has a LieferungsId already.
    The recorded file name is :func:`~ingest.receiving.names.escaped_name` of the name on disk.
    """
    if not sender_number_shaped(sender_number):
        # it names the sender's outbox folder: never a path of its own
        raise UsageError(f"sender {sender_number!r} is not a Betriebsnummer")
    require_regular_file(source)
    settings.spool.mkdir(parents=True, exist_ok=True)
    arrival, held = _reserve(
        settings.spool,
        taken,
        sender_number=sender_number,
        filename=escaped_name(filename if filename is not None else source.name),
        test=test,
        channel=channel,
        own_copy=keep_source,
    )
    note = _note_path(settings.spool, arrival.delivery_id)
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
    except BaseException:
        note.unlink(missing_ok=True)  # nothing was claimed: the file is where it was
        raise
    finally:
        os.close(held)
    return arrival


def _reserve(
    spool: Path, taken: Callable[[str], bool] | None, **fields: Any
) -> tuple[Arrival, int]:
    """Write the note of a new arrival under a LieferungsId nobody else has.

    The note is linked into place, which fails when a note of that name exists; the ledger is
    asked only after that, because a registered arrival's note is removed after its ledger row
    is committed. The note appears locked (``flock``) and stays so, through the returned file
    descriptor, until the claim is done: a note without its file that nobody holds is left
    from a claim that died, and :func:`pending_arrivals` drops it.
    """
    for _ in range(_ID_ATTEMPTS):
        now = datetime.now(UTC)
        arrival = Arrival(delivery_id=new_delivery_id(now), received_at=now.isoformat(), **fields)
        note = _note_path(spool, arrival.delivery_id)
        tmp = spool / f".{arrival.delivery_id}.{secrets.token_hex(4)}.note"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            os.write(fd, json.dumps(asdict(arrival)).encode())
            os.fsync(fd)
            os.link(tmp, note)
        except FileExistsError:
            os.close(fd)
            continue
        except BaseException:
            os.close(fd)
            raise
        finally:
            tmp.unlink()
        try:
            if taken is None or not taken(arrival.delivery_id):
                return arrival, fd
        except BaseException:
            note.unlink()  # nothing claimed under it
            os.close(fd)
            raise
        note.unlink()
        os.close(fd)
    raise RuntimeError("no unused LieferungsId found")


def archive(settings: Settings, arrival: Arrival) -> Archived:
    """Copy the spooled bytes into the archive while hashing them, verify, drop the spool copy.

    Raises :class:`~ingest.receiving.quarantine.Refused` for a file that is not the sender's
    alone (a second hard link, not a regular file), :class:`NotYetComplete` while it is still
    being written.
    """
    source = _data_path(settings.spool, arrival.delivery_id)
    target = archive_path(settings, arrival)
    try:
        fd = os.open(source, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        if not target.exists():
            raise
        sha256, size = _digest(target)  # an earlier run archived it already
        return Archived(arrival=arrival, path=target, sha256=sha256, size=size)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise Refused("ZVDA006", "kein gewöhnlicher Dateiinhalt") from exc
        raise
    with os.fdopen(fd, "rb") as src:
        before = os.fstat(fd)
        _require_sole_copy(fd, before)
        target.parent.mkdir(parents=True, exist_ok=True)
        if arrival.own_copy:  # nobody else ever had it: hash it and move it in
            sha256, size = _digest(source)
            os.chmod(source, 0o400)
            os.replace(source, target)
            return Archived(arrival=arrival, path=target, sha256=sha256, size=size)
        tmp = target.with_name(f".{target.name}.copying")
        digest = hashlib.sha256()
        size = 0
        with open(tmp, "wb") as dst:
            while chunk := src.read(_CHUNK):
                digest.update(chunk)
                if chunk == _ZEROS[: len(chunk)]:
                    dst.seek(len(chunk), os.SEEK_CUR)  # a hole: the copy stays sparse
                else:
                    dst.write(chunk)
                size += len(chunk)
            dst.truncate(size)
            dst.flush()
            os.fsync(dst.fileno())
        after = os.fstat(fd)
    if size != after.st_size or (before.st_size, before.st_mtime_ns) != (
        after.st_size,
        after.st_mtime_ns,
    ):
        tmp.unlink()
        raise NotYetComplete(f"{arrival.delivery_id}: the file grew while it was archived")
    os.chmod(tmp, 0o400)
    os.replace(tmp, target)
    sha256 = digest.hexdigest()
    if _digest(target) != (sha256, size):
        raise RuntimeError(f"{arrival.delivery_id}: the archived copy differs from what was read")
    source.unlink()
    return Archived(arrival=arrival, path=target, sha256=sha256, size=size)


def _require_sole_copy(fd: int, info: os.stat_result) -> None:
    """Refuse a file somebody else can still change; wait for a writer that holds it open."""
    if not stat.S_ISREG(info.st_mode):
        raise Refused("ZVDA006", "kein gewöhnlicher Dateiinhalt")
    if info.st_nlink > 1:
        raise Refused(
            "ZVDA006",
            "die Datei ist über einen harten Link auch an anderer Stelle erreichbar; "
            "bitte als eigenständige Datei liefern",
        )
    try:
        # A write lease is granted only while no other process has the file open.
        fcntl.fcntl(fd, fcntl.F_SETLEASE, fcntl.F_WRLCK)
    except OSError as exc:
        if exc.errno in (errno.EAGAIN, errno.EBUSY):
            raise NotYetComplete("a process still holds the file open") from exc
        return  # leases not available here (not the owner, file system): growth check only
    fcntl.fcntl(fd, fcntl.F_SETLEASE, fcntl.F_UNLCK)


def _digest(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def spooled_files(settings: Settings, arrival: Arrival) -> list[Path]:
    """Everything on disk of an arrival that is not yet in the ledger (for the quarantine)."""
    target = archive_path(settings, arrival)
    return [
        _data_path(settings.spool, arrival.delivery_id),
        target.with_name(f".{target.name}.copying"),
        target,
        _note_path(settings.spool, arrival.delivery_id),
    ]


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
        if not is_escaped(arrival.filename):  # a note of an earlier version: the raw name
            arrival = replace(arrival, filename=escaped_name(arrival.filename))
        arrival = replace(arrival, channel=channel_of(arrival.channel))
        has_bytes = _data_path(settings.spool, arrival.delivery_id).exists()
        if has_bytes or archive_path(settings, arrival).exists():
            found.append(arrival)
        elif _abandoned(settings, note, arrival) or _older_than(note, ABANDONED_NOTE_SECONDS):
            # The rename never happened: nothing was claimed. A note held locked belongs to a
            # claim in progress (the note is written before the file is moved).
            note.unlink(missing_ok=True)
    return found


def _abandoned(settings: Settings, note: Path, arrival: Arrival) -> bool:
    """Whether no claim holds the note and it has no file: its claim died before the rename."""
    try:
        fd = os.open(note, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return False  # a claim in progress
        has_bytes = _data_path(settings.spool, arrival.delivery_id).exists()
        return not has_bytes and not archive_path(settings, arrival).exists()
    finally:
        os.close(fd)


def _older_than(path: Path, seconds: float) -> bool:
    try:
        return time.time() - path.stat().st_mtime > seconds
    except FileNotFoundError:
        return False
