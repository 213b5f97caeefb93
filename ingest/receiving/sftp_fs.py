"""What a sender sees over SFTP: a virtual tree of ``/inbox``, ``/test`` and ``/outbox``.

paramiko does not confine paths: :class:`SenderTree` maps every path the client sends onto this
virtual tree itself. Paths are resolved as text, so ``..``, absolute paths and symlinks cannot
reach anything but the three folders: the upload folders are write-only (a sender sees what it
sent, as a ghost, but cannot read it back), the outbox is the sender's own protocols (list, read,
delete), and nothing else exists. Every handler catches its errors and answers with an SFTP
status code, because an exception would end the whole session.
"""

from __future__ import annotations

import os
import stat
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
        """What the sender sees of a name in an upload folder: an upload in progress, one
        closed under a temporary name, or the ghost of a complete one; else nothing."""
        handle = self.open_uploads.get((test, name))
        if handle is not None:
            return handle.stat()
        staged = self.parked.get((test, name))
        if staged is not None:
            info = staged.path.stat()
            return file_attributes(name, info.st_size, info.st_mtime, atime=info.st_atime)
        ghost = self.uploads.ghosts.get((self.sender, test), name)
        if ghost is not None:
            return file_attributes(name, ghost.size, ghost.mtime, atime=ghost.atime, mode=0o400)
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
            names.update(self.uploads.ghosts.names((self.sender, test)))
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
        if area not in AREAS:
            return NOT_YOURS
        staged = self.parked.pop((AREAS[area], name), None)
        if staged is not None:
            self.uploads.discard(staged)  # the client withdrew its own unfinished upload
            return SFTP_OK
        if self.uploads.ghosts.remove((self.sender, AREAS[area]), name):
            return SFTP_OK  # only the ghost goes: the delivery is under way
        return NOT_YOURS

    @guarded
    def rename(self, oldpath: str, newpath: str) -> int:
        """A rename within one upload folder. A closed upload under a temporary name takes the
        new name, and a final name completes it; a name that is busy (being uploaded, or
        delivered and not yet answered) is refused. The ghost of a complete upload is renamed
        as the sender sees it; its delivery keeps the name it was closed under."""
        old, new = resolve(oldpath), resolve(newpath)
        if old is None or new is None or len(old) != 2 or len(new) != 2 or old[0] != new[0]:
            return NOT_YOURS
        if old[0] not in AREAS:
            return NOT_YOURS
        test = AREAS[old[0]]
        if old[1] == new[1]:
            return SFTP_OK if self._live(test, old[1]) is not None else SFTP_NO_SUCH_FILE
        staged = self.parked.get((test, old[1]))
        if staged is None:
            return self._rename_ghost(test, old[1], new[1])
        if not self.uploads.rename(staged, new[1]):
            return BUSY
        del self.parked[(test, old[1])]
        if self.uploads.is_temporary(new[1]):
            self.parked[(test, new[1])] = staged
        else:
            self.uploads.complete(staged)
        return SFTP_OK

    def _rename_ghost(self, test: bool, old: str, new: str) -> int:
        if (test, old) in self.open_uploads:
            return BUSY
        if (test, new) in self.open_uploads or (test, new) in self.parked:
            return BUSY
        if self.uploads.ghosts.rename((self.sender, test), old, new):
            return SFTP_OK
        return SFTP_NO_SUCH_FILE

    def posix_rename(self, oldpath: str, newpath: str) -> int:
        return self.rename(oldpath, newpath)

    @guarded
    def chattr(self, path: str, attr: SFTPAttributes) -> int:
        """Times (WinSCP's and ``sftp -p``'s "preserve timestamp") are taken for any file the
        sender sees in an upload folder, also after CLOSE; its content cannot change."""
        parts = resolve(path)
        if parts is None or len(parts) != 2 or parts[0] not in AREAS:
            return NOT_YOURS
        test, name = AREAS[parts[0]], parts[1]
        handle = self.open_uploads.get((test, name))
        if handle is not None:
            return handle.chattr(attr)
        staged = self.parked.get((test, name))
        if staged is not None:
            if attr.st_atime is not None and attr.st_mtime is not None:
                os.utime(staged.path, (attr.st_atime, attr.st_mtime))
            return SFTP_OK
        ghost = self.uploads.ghosts.get((self.sender, test), name)
        if ghost is None:
            return SFTP_NO_SUCH_FILE
        if attr.st_size is not None and attr.st_size != ghost.size:
            return NOT_YOURS
        self.uploads.ghosts.set_times((self.sender, test), name, attr.st_atime, attr.st_mtime)
        return SFTP_OK

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
