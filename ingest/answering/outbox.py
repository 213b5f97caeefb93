"""Writing protocols into a sender's outbox so that a reader never sees half a file."""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO

from ingest.answering.protocol import Verdict, write_text, write_xml

_UNSAFE = re.compile(r"[^\w.,+=@-]")
BUFFER = 1 << 20
MAX_STEM = 120  # leaves room for ".<LieferungsId>.protokoll.xml" within 255 bytes


def protocol_stem(filename: str, delivery_id: str) -> str:
    """``<stem>.<LieferungsId>.protokoll`` where stem is the name without its last extension.

    Characters that are no good in a file name (control characters, separators, undecodable
    bytes) become ``_`` and long names are cut, so any delivered name gets its protocol.
    """
    stem = _UNSAFE.sub("_", Path(filename).stem).lstrip(".")
    stem = stem.encode("utf-8", "replace")[:MAX_STEM].decode("utf-8", "ignore")
    return f"{stem or 'datei'}.{delivery_id}.protokoll"


def write_atomically(target: Path, data: bytes | Callable[[IO[bytes]], None]) -> None:
    """Write to a hidden temporary file in the same folder, fsync, then rename into place.

    ``data`` is the content, or a function that writes it to the open file as a stream.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb", buffering=BUFFER) as fh:
            if callable(data):
                data(fh)
            else:
                fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o600)  # personal data: the service user's alone (SFTP runs as it too)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_protocol(outbox: Path, verdict: Verdict) -> Path:
    """Write the text version first and the XML last: the XML's arrival means "complete"."""
    folder = outbox / verdict.sender
    stem = protocol_stem(verdict.filename, verdict.delivery_id)
    write_atomically(folder / f"{stem}.txt", lambda out: write_text(verdict, out))
    xml_path = folder / f"{stem}.xml"
    write_atomically(xml_path, lambda out: write_xml(verdict, out))
    return xml_path
