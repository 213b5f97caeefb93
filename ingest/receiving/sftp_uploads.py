"""Uploads over SFTP: staging, completion, refusal and the hand-over to the pipeline.

The bytes of an upload go to a staging folder ``<home>/spool/sftp/<sender>/<area>/<token>.upload/``,
never into the inbox, so the drop-folder watcher never sees half a file. The client's CLOSE (or,
for clients that upload to a temporary name such as WinSCP's ``.filepart``, the final RENAME) marks
the file complete: the folder is renamed to ``<token>.ready`` and queued for the pipeline, and the
file stays visible to the sender as a ghost (``sftp_ghosts``). A session that ends before that is
an aborted transfer (ZVDA006), an upload past the size limit is stopped (ZVDA005): the bytes are
deleted, a note ``<token>.refused`` records the refusal, and the hand-over enters it in the ledger,
whose worker writes the protocol. The suffixes make this crash-safe: at start-up ``.ready``
folders are handed over again, ``.refused`` notes entered again (once: the note carries the
LieferungsId), and ``.upload`` folders are refused with ZVDA006.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import queue
import secrets
import shutil
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import structlog

from ingest.answering.outbox import write_atomically
from ingest.receiving.intake import channel_of, in_transfer, new_delivery_id
from ingest.receiving.sftp_ghosts import Ghosts
from ingest.settings import Settings
from ingest.storing.refusals import RefusedUpload, now_iso
from ingest.validating.submission import Channel

log = structlog.stdlib.get_logger("ingest.sftp")

UPLOADING, READY, REFUSED = ".upload", ".ready", ".refused"
AREAS = {"inbox": False, "test": True}  # the sender's upload folders and their test flag


def area_of(test: bool) -> str:
    return "test" if test else "inbox"


@dataclass
class Staged:
    """One upload in progress: where its bytes are and under which name it was sent."""

    sender: str
    test: bool
    name: str
    folder: Path
    received_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def path(self) -> Path:
        return self.folder / self.name

    @property
    def key(self) -> tuple[str, bool, str]:
        return (self.sender, self.test, self.name)


@dataclass(frozen=True, slots=True)
class Completed:
    """A complete upload waiting for the pipeline."""

    staged: Staged


@dataclass(frozen=True, slots=True)
class Refused:
    """An upload refused before it was complete, waiting for its ledger row."""

    upload: RefusedUpload
    note: Path  # the ``<token>.refused`` note, deleted once the ledger has the row
    key: tuple[str, bool, str]


@dataclass(frozen=True, slots=True)
class Acknowledged:
    """A sender deleted a protocol from its outbox."""

    sender: str
    filename: str


Work = Completed | Refused | Acknowledged
Pending = Callable[[str, bool, str], bool]  # (sender, test, name): in the ledger, unanswered?


class Uploads:
    """Staging shared by all SFTP sessions; thread-safe.

    A name (sender, area, file name) is *busy* from the moment an upload to it opens until the
    pipeline has answered it: a second upload to a busy name is refused, so a client cannot
    overwrite a file that is still being received or processed.
    """

    def __init__(self, settings: Settings, pending: Pending = lambda *_: False) -> None:
        self.settings = settings
        self.pending = pending
        self.root = settings.spool / "sftp"
        self.limit = settings.sftp.max_file_bytes or settings.intake.max_file_bytes
        self.work: queue.Queue[Work] = queue.Queue()
        self.ghosts = Ghosts()
        self._busy: set[tuple[str, bool, str]] = set()
        self._lock = threading.Lock()

    def is_temporary(self, name: str) -> bool:
        """Dot-files and names like ``x.filepart``: the client renames them when the upload is
        complete; the same names the drop folder leaves alone."""
        return in_transfer(name, self.settings.intake.ignore_suffixes)

    def begin(self, sender: str, test: bool, name: str) -> Staged | None:
        """Open a staging folder for an upload; ``None`` when the name is busy."""
        if not self._claim((sender, test, name)):
            return None
        folder = self.root / sender / area_of(test) / f"{secrets.token_hex(8)}{UPLOADING}"
        try:
            folder.mkdir(parents=True)
        except OSError:
            self.release((sender, test, name))
            raise
        return Staged(sender=sender, test=test, name=name, folder=folder)

    def rename(self, staged: Staged, name: str) -> bool:
        """Give a closed upload its final name; ``False`` when that name is busy."""
        if not self._claim((staged.sender, staged.test, name)):
            return False
        old_key = staged.key
        os.rename(staged.path, staged.folder / name)
        staged.name = name
        self.release(old_key)
        return True

    def complete(self, staged: Staged) -> None:
        """The bytes are all there: mark the folder ready and queue it for the pipeline."""
        ready = staged.folder.with_suffix(READY)
        os.rename(staged.folder, ready)
        staged.folder = ready
        info = staged.path.stat()  # its times are those of the CLOSE, or those the client set
        self.ghosts.add((staged.sender, staged.test), staged.name, info.st_size, info.st_mtime)
        log.info("upload complete", sender=staged.sender, test=staged.test, channel=Channel.SFTP)
        self.work.put(Completed(staged))

    def abort(self, staged: Staged, code: str, detail: str) -> None:
        """Refuse a transfer that did not complete: keep nothing of its bytes, note the refusal
        and queue it for the ledger (whose worker answers it with a protocol)."""
        try:
            sha256, size = _digest(staged.path)
            refused = RefusedUpload(
                delivery_id=new_delivery_id(datetime.now(UTC)),
                sender_number=staged.sender,
                filename=staged.name,
                test=staged.test,
                channel=Channel.SFTP,
                sha256=sha256,
                size=size,
                received_at=staged.received_at.isoformat(),
                refused_at=now_iso(),
                code=code,
                detail=detail,
            )
            note = staged.folder.with_suffix(REFUSED)
            write_atomically(note, json.dumps(asdict(refused)).encode())
        except Exception:
            # Left as it is: refused again with ZVDA006 at the next start.
            log.exception("could not note a refused upload", code=code)
            self.release(staged.key)
            return
        shutil.rmtree(staged.folder, ignore_errors=True)
        log.warning("upload refused", sender=staged.sender, code=code, test=staged.test)
        self.work.put(Refused(refused, note, staged.key))

    def recorded(self, refused: Refused) -> None:
        """The ledger has the refusal: drop its note and free its name."""
        refused.note.unlink(missing_ok=True)
        self.release(refused.key)

    def discard(self, staged: Staged) -> None:
        """The client deleted its own unfinished upload: nothing to answer."""
        shutil.rmtree(staged.folder, ignore_errors=True)
        self.release(staged.key)

    def finished(self, staged: Staged) -> None:
        """The pipeline has taken the file: free its name and the empty folder."""
        # The folder is not empty when the pipeline failed: it is recovered at the next start.
        with contextlib.suppress(OSError):
            staged.folder.rmdir()
        self.release(staged.key)

    def acknowledge(self, sender: str, filename: str) -> None:
        self.work.put(Acknowledged(sender, filename))

    def release(self, key: tuple[str, bool, str]) -> None:
        with self._lock:
            self._busy.discard(key)

    def _claim(self, key: tuple[str, bool, str]) -> bool:
        """Reserve a name unless an upload holds it or the ledger has it unanswered."""
        with self._lock:
            if key in self._busy:
                return False
            self._busy.add(key)
        try:
            free = not self.pending(*key)
        except Exception:
            log.exception("could not look up the ledger")
            free = False
        if not free:
            self.release(key)
        return free

    def recover(self) -> None:
        """After a restart: queue complete uploads and noted refusals again, refuse broken-off
        uploads with ZVDA006."""
        for sender_dir in sorted(self.root.glob("*")):
            for area, test in AREAS.items():
                for entry in sorted((sender_dir / area).glob("*")):
                    if entry.name.startswith("."):
                        with contextlib.suppress(OSError):
                            entry.unlink()  # a note that was never complete
                    elif entry.suffix == REFUSED:
                        self._recover_refusal(entry)
                    elif entry.with_suffix(REFUSED).exists():
                        shutil.rmtree(entry, ignore_errors=True)  # refused, the bytes not yet gone
                    else:
                        self._recover_one(sender_dir.name, test, entry)

    def _recover_refusal(self, note: Path) -> None:
        try:
            noted = json.loads(note.read_text())
            refused = RefusedUpload(**{**noted, "channel": channel_of(noted["channel"])})
        except (ValueError, TypeError):
            log.exception("unreadable note of a refused upload, left alone", note=note.name)
            return
        key = (refused.sender_number, refused.test, refused.filename)
        self._claim(key)
        self.work.put(Refused(refused, note, key))

    def _recover_one(self, sender: str, test: bool, folder: Path) -> None:
        files = [f for f in folder.iterdir() if f.is_file()] if folder.is_dir() else []
        if not files:
            shutil.rmtree(folder, ignore_errors=True)
            return
        staged = Staged(sender=sender, test=test, name=files[0].name, folder=folder)
        self._claim(staged.key)
        if folder.suffix == READY and not self.is_temporary(staged.name):
            self.work.put(Completed(staged))
        else:
            self.abort(staged, "ZVDA006", "die Übertragung wurde durch einen Neustart unterbrochen")


def _digest(path: Path) -> tuple[str, int]:
    """SHA-256 and size of the bytes that did arrive (of nothing, when none did)."""
    digest = hashlib.sha256()
    size = 0
    try:
        with path.open("rb") as fh:
            while chunk := fh.read(1024 * 1024):
                digest.update(chunk)
                size += len(chunk)
    except FileNotFoundError:
        pass
    return digest.hexdigest(), size
