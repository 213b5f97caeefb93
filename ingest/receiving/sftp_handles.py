"""The file handles of an SFTP session: uploads (write-only, staged) and protocols (read-only).

Every handler answers with an SFTP status code and never raises: paramiko ends the whole session
on an exception, which would turn one bad request into a broken-off upload.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import os
import stat
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, TypeVar, cast

import structlog
from paramiko import SFTPAttributes, SFTPHandle, SFTPServer
from paramiko.sftp import SFTP_FAILURE, SFTP_OK, SFTP_PERMISSION_DENIED

from ingest.receiving.sftp_uploads import Staged, Uploads

log = structlog.stdlib.get_logger("ingest.sftp")

_FLUSH_BYTES = 1024 * 1024  # writes are gathered and go to disk in pieces of this size
_F = TypeVar("_F", bound=Callable[..., Any])


class Refusal(int):
    """An SFTP status code with a message for the client (WinSCP shows it to its user)."""

    message: str

    def __new__(cls, code: int, message: str) -> Refusal:
        refusal = super().__new__(cls, code)
        refusal.message = message
        return refusal


BUSY = Refusal(SFTP_FAILURE, "Eine Datei dieses Namens wird gerade übertragen oder verarbeitet.")
NOT_YOURS = Refusal(SFTP_PERMISSION_DENIED, "Nicht erlaubt.")


class UploadOwner(Protocol):
    """The session an upload belongs to (``SenderTree``)."""

    uploads: Uploads

    def closed(self, handle: UploadHandle) -> None: ...

    def forget(self, handle: UploadHandle) -> None: ...


def folder_attributes(name: str) -> SFTPAttributes:
    attrs = SFTPAttributes()
    attrs.filename = name
    attrs.st_mode = stat.S_IFDIR | 0o700
    attrs.st_size = 0
    attrs.st_mtime = attrs.st_atime = int(time.time())
    return attrs


def file_attributes(
    name: str, size: int, mtime: float, *, atime: float | None = None, mode: int = 0o600
) -> SFTPAttributes:
    attrs = SFTPAttributes()
    attrs.filename = name
    attrs.st_mode = stat.S_IFREG | mode
    attrs.st_size = size
    attrs.st_mtime = int(mtime)
    attrs.st_atime = int(mtime if atime is None else atime)
    return attrs


def guarded(method: _F) -> _F:
    """Turn any exception of a handler into an SFTP status: an exception would end the session."""

    @functools.wraps(method)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except OSError as exc:
            log.warning("sftp request failed", operation=method.__name__, errno=exc.errno)
            return SFTPServer.convert_errno(exc.errno or errno.EIO)
        except Exception:
            log.exception("sftp request failed", operation=method.__name__)
            return SFTP_FAILURE

    return cast(_F, run)


class UploadHandle(SFTPHandle):
    """A file being uploaded: bytes go to the staging folder, nothing can be read back."""

    def __init__(self, tree: UploadOwner, staged: Staged) -> None:
        super().__init__()
        self.tree = tree
        self.staged = staged
        self.size = 0
        self.done = False
        self.times: tuple[float, float] | None = None  # (atime, mtime) the client set
        self._fd = os.open(staged.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        self._buffer = bytearray()
        self._buffer_at = 0  # file offset of the buffer's first byte

    @guarded
    def write(self, offset: int, data: Any) -> int:
        if self.done:
            return SFTP_FAILURE
        end = offset + len(data)
        if end > self.tree.uploads.limit:
            return self._too_large(end)
        if offset == self._buffer_at + len(self._buffer):
            self._buffer += data  # the usual case: pieces arrive in order
            if len(self._buffer) >= _FLUSH_BYTES:
                self._flush()
        else:
            self._flush()
            _write_at(self._fd, memoryview(data), offset)
            self._buffer_at = end
        self.size = max(self.size, end)
        return SFTP_OK

    def _flush(self) -> None:
        if self._buffer:
            _write_at(self._fd, memoryview(self._buffer), self._buffer_at)
            self._buffer_at += len(self._buffer)
            self._buffer.clear()

    def _too_large(self, end: int) -> Refusal:
        """Stop at once: the sender gets ZVDA005 and no byte of the file is kept."""
        self._finish()
        limit = self.tree.uploads.limit
        self.tree.uploads.abort(
            self.staged, "ZVDA005", f"mehr als {limit} Bytes (abgebrochen bei {end} Bytes)"
        )
        self.tree.forget(self)
        return Refusal(SFTP_FAILURE, f"ZVDA005: Datei größer als {limit} Bytes.")

    def read(self, offset: int, length: int) -> int:
        return NOT_YOURS

    def stat(self) -> SFTPAttributes:
        if self.times is None:
            return file_attributes(self.staged.name, self.size, time.time())
        atime, mtime = self.times
        return file_attributes(self.staged.name, self.size, mtime, atime=atime)

    def chattr(self, attr: SFTPAttributes) -> int:
        """Times are kept for the file (``sftp -p``); modes and owners are the fund's business,
        not an error."""
        if attr.st_atime is not None and attr.st_mtime is not None:
            self.times = (attr.st_atime, attr.st_mtime)
        return SFTP_OK

    def _finish(self) -> None:
        """Write what is buffered, make it durable and close the file; at most once."""
        if self.done:
            return
        self.done = True
        try:
            self._flush()
            if self.times is not None:
                os.utime(self._fd, self.times)
            os.fsync(self._fd)
        finally:
            os.close(self._fd)

    def close(self) -> None:
        """The client's CLOSE: the upload is complete (or waits for its final name)."""
        if self.done:
            return
        try:
            self._finish()
            self.tree.closed(self)
        except Exception:
            log.exception("could not finish an upload", sender=self.staged.sender)
            self.tree.uploads.abort(self.staged, "ZVDA006", "die Datei war nicht zu speichern")
            self.tree.forget(self)

    def abort(self) -> None:
        """The session ended before CLOSE: a broken-off transfer."""
        if self.done:
            return
        with contextlib.suppress(OSError):
            self._finish()
        detail = f"Verbindung vor dem Ende der Übertragung beendet ({self.size} Bytes empfangen)"
        self.tree.uploads.abort(self.staged, "ZVDA006", detail)


class OutboxHandle(SFTPHandle):
    """A protocol opened for reading."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        # O_NOFOLLOW: a symlink planted in an outbox is never followed.
        self._fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        info = os.fstat(self._fd)
        if not stat.S_ISREG(info.st_mode):
            os.close(self._fd)
            raise PermissionError(errno.EACCES, "not a regular file")
        self._name = path.name
        self._closed = False

    @guarded
    def read(self, offset: int, length: int) -> bytes | int:
        return os.pread(self._fd, min(length, 1024 * 1024), offset)

    def write(self, offset: int, data: Any) -> int:
        return NOT_YOURS

    @guarded
    def stat(self) -> SFTPAttributes | int:
        info = os.fstat(self._fd)
        return file_attributes(self._name, info.st_size, info.st_mtime)

    def chattr(self, attr: SFTPAttributes) -> int:
        return NOT_YOURS

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            os.close(self._fd)


def _write_at(fd: int, data: memoryview, offset: int) -> None:
    while data:
        written = os.pwrite(fd, data, offset)
        data, offset = data[written:], offset + written
