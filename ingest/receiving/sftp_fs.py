"""What a sender sees over SFTP: a virtual tree of ``/inbox``, ``/test`` and ``/outbox``.

paramiko does not confine paths: :class:`SenderTree` maps every path the client sends onto this
virtual tree itself. Paths are resolved as text, so ``..``, absolute paths and symlinks cannot
reach anything but the three folders: the upload folders are write-only (a sender cannot read back
what it sent), the outbox is the sender's own protocols (list, read, delete), and nothing else
exists. Every handler catches its errors and answers with an SFTP status code, because an exception
would end the whole session.
"""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path
from typing import Any

import structlog
from paramiko import SFTPAttributes, SFTPHandle, SFTPServer, SFTPServerInterface
from paramiko.sftp import SFTP_NO_SUCH_FILE, SFTP_OK, SFTP_OP_UNSUPPORTED

from ingest.receiving.sftp_handles import (
    BUSY,
    NOT_YOURS,
    OutboxHandle,
    Refusal,
    UploadHandle,
    file_attributes,
    folder_attributes,
    guarded,
)
from ingest.receiving.sftp_uploads import AREAS, Staged, Uploads

log = structlog.stdlib.get_logger("ingest.sftp")

OUTBOX = "outbox"


def resolve(path: str) -> tuple[str, ...] | None:
    """The parts of ``path`` below the sender's root; ``None`` when it tries to leave it."""
    parts: list[str] = []
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if not parts:
                return None
            parts.pop()
            continue
        if "\0" in part or len(part) > 255:
            return None
        parts.append(part)
    return tuple(parts)


class SenderTree(SFTPServerInterface):
    """One SFTP session of one sender (paramiko makes one per session)."""

    def __init__(self, server: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(server, *args, **kwargs)
        self.sender: str = server.sender
        self.uploads: Uploads = server.context.uploads
        self.outbox: Path = server.context.settings.outbox / self.sender
        self.open_uploads: dict[tuple[bool, str], UploadHandle] = {}
        self.parked: dict[tuple[bool, str], Staged] = {}  # closed, waiting for the final name

    # -- session ------------------------------------------------------------------------
    def session_ended(self) -> None:
        """Uploads still open, or closed under a temporary name and never renamed, broke off."""
        for handle in list(self.open_uploads.values()):
            handle.abort()
        for staged in self.parked.values():
            detail = "die Datei wurde nie unter ihrem endgültigen Namen abgelegt"
            self.uploads.abort(staged, "ZVDA006", detail)
        self.open_uploads.clear()
        self.parked.clear()

    def closed(self, handle: UploadHandle) -> None:
        staged = handle.staged
        self.forget(handle)
        if self.uploads.is_temporary(staged.name):
            self.parked[(staged.test, staged.name)] = staged
        else:
            self.uploads.complete(staged)

    def forget(self, handle: UploadHandle) -> None:
        self.open_uploads.pop((handle.staged.test, handle.staged.name), None)

    # -- paths ---------------------------------------------------------------------------
    def canonicalize(self, path: str) -> str:
        """Inside the tree: the clean path. Outside: the path unchanged, which every other
        request then refuses (paramiko cannot answer REALPATH with an error)."""
        parts = resolve(path)
        return path if parts is None else "/" + "/".join(parts)

    def _live(self, test: bool, name: str) -> SFTPAttributes | None:
        handle = self.open_uploads.get((test, name))
        if handle is not None:
            return handle.stat()
        staged = self.parked.get((test, name))
        if staged is not None:
            return file_attributes(name, staged.path.stat().st_size, time.time())
        return None

    def _outbox_file(self, name: str) -> Path | None:
        """A protocol of this sender: a regular file directly in its outbox, no symlink."""
        if name.startswith("."):
            return None
        path = self.outbox / name
        try:
            info = path.lstat()
        except FileNotFoundError:
            return None
        return path if stat.S_ISREG(info.st_mode) else None

    @guarded
    def stat(self, path: str) -> SFTPAttributes | int:
        parts = resolve(path)
        if parts is None:
            return NOT_YOURS
        if len(parts) == 0:
            return folder_attributes("/")
        if len(parts) == 1:
            return (
                folder_attributes(parts[0]) if parts[0] in (*AREAS, OUTBOX) else SFTP_NO_SUCH_FILE
            )
        if len(parts) == 2 and parts[0] in AREAS:
            live = self._live(AREAS[parts[0]], parts[1])
            return live if live is not None else SFTP_NO_SUCH_FILE
        if len(parts) == 2 and parts[0] == OUTBOX:
            found = self._outbox_file(parts[1])
            if found is None:
                return SFTP_NO_SUCH_FILE
            info = found.stat()
            return file_attributes(found.name, info.st_size, info.st_mtime)
        return SFTP_NO_SUCH_FILE

    def lstat(self, path: str) -> SFTPAttributes | int:
        return self.stat(path)

    @guarded
    def list_folder(self, path: str) -> list[SFTPAttributes] | int:
        parts = resolve(path)
        if parts is None:
            return NOT_YOURS
        if parts == ():
            return [folder_attributes(name) for name in (*AREAS, OUTBOX)]
        if len(parts) == 1 and parts[0] in AREAS:
            test = AREAS[parts[0]]
            names = {n for t, n in (*self.open_uploads, *self.parked) if t == test}
            return [a for n in sorted(names) if (a := self._live(test, n)) is not None]
        if parts == (OUTBOX,):
            return self._list_outbox()
        return SFTP_NO_SUCH_FILE

    def _list_outbox(self) -> list[SFTPAttributes]:
        if not self.outbox.is_dir():
            return []
        found = []
        for entry in sorted(os.scandir(self.outbox), key=lambda e: e.name):
            if not entry.name.startswith(".") and entry.is_file(follow_symlinks=False):
                info = entry.stat(follow_symlinks=False)
                found.append(file_attributes(entry.name, info.st_size, info.st_mtime))
        return found

    # -- files ---------------------------------------------------------------------------
    @guarded
    def open(self, path: str, flags: int, attr: SFTPAttributes) -> SFTPHandle | int:
        parts = resolve(path)
        if parts is None or len(parts) != 2:
            return NOT_YOURS if parts is None or len(parts) < 2 else SFTP_NO_SUCH_FILE
        area, name = parts
        writing = bool(flags & (os.O_WRONLY | os.O_RDWR))
        if area in AREAS and writing:
            return self._start_upload(AREAS[area], name)
        if area == OUTBOX and not writing:
            found = self._outbox_file(name)
            return SFTP_NO_SUCH_FILE if found is None else OutboxHandle(found)
        return NOT_YOURS

    def _start_upload(self, test: bool, name: str) -> SFTPHandle | int:
        staged = self.uploads.begin(self.sender, test, name)
        if staged is None:
            log.warning("upload to a busy name refused", sender=self.sender, test=test)
            return BUSY
        try:
            handle = UploadHandle(self, staged)
        except Exception:
            self.uploads.discard(staged)
            raise
        self.open_uploads[(test, name)] = handle
        return handle

    @guarded
    def remove(self, path: str) -> int:
        parts = resolve(path)
        if parts is None or len(parts) != 2:
            return NOT_YOURS
        area, name = parts
        if area == OUTBOX:
            found = self._outbox_file(name)
            if found is None:
                return SFTP_NO_SUCH_FILE
            found.unlink()
            self.uploads.acknowledge(self.sender, name)
            log.info("protocol acknowledged", sender=self.sender)
            return SFTP_OK
        staged = self.parked.pop((AREAS[area], name), None) if area in AREAS else None
        if staged is None:
            return NOT_YOURS
        self.uploads.discard(staged)  # the client withdrew its own unfinished upload
        return SFTP_OK

    @guarded
    def rename(self, oldpath: str, newpath: str) -> int:
        """Only one rename is allowed: a closed upload under a temporary name to its final name
        in the same folder; that rename completes the upload."""
        old, new = resolve(oldpath), resolve(newpath)
        if old is None or new is None or len(old) != 2 or len(new) != 2 or old[0] != new[0]:
            return NOT_YOURS
        if old[0] not in AREAS:
            return NOT_YOURS
        test = AREAS[old[0]]
        staged = self.parked.get((test, old[1]))
        if staged is None:
            return SFTP_NO_SUCH_FILE if (test, old[1]) not in self.open_uploads else BUSY
        if not self.uploads.rename(staged, new[1]):
            return BUSY
        del self.parked[(test, old[1])]
        if self.uploads.is_temporary(new[1]):
            self.parked[(test, new[1])] = staged
        else:
            self.uploads.complete(staged)
        return SFTP_OK

    def posix_rename(self, oldpath: str, newpath: str) -> int:
        return self.rename(oldpath, newpath)

    @guarded
    def chattr(self, path: str, attr: SFTPAttributes) -> int:
        parts = resolve(path)
        live = parts is not None and len(parts) == 2 and parts[0] in AREAS
        if live and parts and self._live(AREAS[parts[0]], parts[1]) is not None:
            return SFTP_OK
        return NOT_YOURS

    def mkdir(self, path: str, attr: SFTPAttributes) -> int:
        return NOT_YOURS

    def rmdir(self, path: str) -> int:
        return NOT_YOURS

    def symlink(self, target_path: str, path: str) -> int:
        log.warning("symlink refused", sender=self.sender)
        return NOT_YOURS

    def readlink(self, path: str) -> str | int:
        return SFTP_OP_UNSUPPORTED


class TreeServer(SFTPServer):
    """paramiko's SFTP subsystem, sending the message of a :class:`Refusal` to the client."""

    def _send_status(self, request_number: int, code: int, desc: str | None = None) -> None:
        if desc is None and isinstance(code, Refusal):
            desc = code.message
        super()._send_status(request_number, int(code), desc)  # type: ignore[misc]
