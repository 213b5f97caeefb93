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
_CLOCK_TICK = 0.05  # seconds a file's time may lag behind the clock (the kernel's coarse clock)
MAX_STEM = 120  # leaves room for ".<LieferungsId>.protokoll.xml" within 255 bytes


def protocol_stem(filename: str, delivery_id: str, run: int = 1) -> str:
    """``<stem>.<LieferungsId>.protokoll`` where stem is the name without its last extension;
    the protocol of a later check of the same delivery (``zvk reprocess``) is
    ``<stem>.erneut-<n>.<LieferungsId>.protokoll``, where ``n`` counts the re-checks: the first
    re-check (``run`` 2) is ``erneut-1``.

    Characters that are no good in a file name (control characters, separators, undecodable
    bytes) become ``_`` and long names are cut, so any delivered name gets its protocol.
    """
    stem = _UNSAFE.sub("_", Path(filename).stem).lstrip(".")
    stem = stem.encode("utf-8", "replace")[:MAX_STEM].decode("utf-8", "ignore")
    again = f".erneut-{run - 1}" if run > 1 else ""
    return f"{stem or 'datei'}{again}.{delivery_id}.protokoll"


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
    """Write the text version first and the XML last: the XML's arrival means "complete".

    A protocol is never replaced by that of another check: when the delivery was checked again
    (a later ``Verarbeitet``), the new protocol gets a name of its own and says so; the same
    check written again after a crash replaces its own files.
    """
    folder = outbox / verdict.sender
    run = _run_number(folder, verdict)
    verdict.rerun = run > 1
    stem = protocol_stem(verdict.filename, verdict.delivery_id, run=run)
    write_atomically(folder / f"{stem}.txt", lambda out: write_text(verdict, out))
    xml_path = folder / f"{stem}.xml"
    write_atomically(xml_path, lambda out: write_xml(verdict, out))
    return xml_path


def _run_number(folder: Path, verdict: Verdict) -> int:
    """1 for a delivery's first protocol; one more than the latest earlier check's otherwise.

    Files written after this check was made (``processed_at``) are its own, from an attempt a
    crash cut short: their number is used again. File times lag the clock by a tick at most.
    """
    made = verdict.processed_at.timestamp() - _CLOCK_TICK
    latest = 0
    for path in folder.glob(f"*.{verdict.delivery_id}.protokoll.xml"):
        try:
            written = path.stat().st_mtime
        except FileNotFoundError:
            continue
        run = _run_of(path.name)
        if written >= made:
            return run
        latest = max(latest, run)
    return latest + 1


def _run_of(name: str) -> int:
    """The check a protocol's name belongs to: 1 for the first, 2 for ``erneut-1``, …"""
    found = re.search(r"\.erneut-(\d+)\.", name)
    return int(found.group(1)) + 1 if found else 1
