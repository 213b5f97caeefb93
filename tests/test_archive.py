"""The archive holds exactly the bytes that were hashed, and nobody else can change them."""

from __future__ import annotations

import hashlib
import os
import stat
import time
from pathlib import Path

import pytest
from conftest import SENDER, wait_for
from test_poison import codes_of, ledger, serving

from ingest.samples.builder import FileBuilder
from ingest.settings import Settings
from ingest.validating.submission import Channel

pytestmark = pytest.mark.e2e


def content() -> bytes:
    builder = FileBuilder()
    for person in range(1, 4):
        builder.anmeldung(person)
    return builder.to_bytes()


def test_a_slow_writer_is_archived_whole(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A writer that pauses longer than the settle time while it holds the file open: the
    delivery is what it wrote in the end, in the ledger and in the archive alike."""
    data = content()
    half = len(data) // 2
    target = settings.inbox / SENDER / "langsam.xml"
    with serving(settings, monkeypatch) as fast:
        assert fast.intake.settle_seconds < 1.0
        with target.open("wb") as fh:
            fh.write(data[:half])
            fh.flush()
            time.sleep(3.0)  # several settle times and rescans
            fh.write(data[half:])
        protocol = wait_for("langsam.*.protokoll.xml", settings.outbox / SENDER)
    assert codes_of(protocol) == []
    [delivery] = ledger(settings)
    archived = settings.home / delivery.archive_path
    assert delivery.size == len(data) == archived.stat().st_size
    assert delivery.sha256 == hashlib.sha256(data).hexdigest()
    assert archived.read_bytes() == data


def test_a_hard_linked_file_is_refused_and_left_as_it_was(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A file linked into the inbox shares its inode with the sender's own file: it is not
    archived (nor made read-only), the sender is told so (ZVDA006)."""
    own = tmp_path / "eigen.xml"
    own.write_bytes(content())
    own.chmod(0o644)
    with serving(settings, monkeypatch):
        os.link(own, settings.inbox / SENDER / "verlinkt.xml")
        protocol = wait_for("verlinkt.*.protokoll.xml", settings.outbox / SENDER)
    assert codes_of(protocol) == ["ZVDA006"]
    assert stat.S_IMODE(own.stat().st_mode) == 0o644
    assert own.read_bytes() == content()
    [refused] = ledger(settings)  # the protocol's LieferungsId is the ledger's
    assert refused.state == "answered" and refused.result == "abgewiesen"
    assert refused.delivery_id in protocol.name
    assert refused.archive_path.startswith("quarantine/")
    assert (settings.home / refused.archive_path).read_bytes() == content()
    assert not any(p.is_file() for p in settings.archive.rglob("*"))


def test_the_archive_is_a_read_only_copy_of_its_own(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Archived files have one link and mode 0400; what the ledger says is what is there."""
    with serving(settings, monkeypatch):
        (settings.inbox / SENDER / "monat.xml").write_bytes(content())
        wait_for("monat.*.protokoll.xml", settings.outbox / SENDER)
    [delivery] = ledger(settings)
    info = (settings.home / delivery.archive_path).stat()
    assert info.st_nlink == 1
    assert stat.S_IMODE(info.st_mode) == 0o400
    assert list(settings.spool.glob("*.data")) == list(settings.spool.glob("*.json")) == []


def test_a_file_written_while_it_is_copied_is_not_archived_half(
    settings: Settings, tmp_path: Path
) -> None:
    """A writer that holds the spooled file open keeps it in the spool until it lets go."""
    from ingest.pipeline import Service
    from ingest.receiving import intake

    service = Service.open(settings)
    source = settings.inbox / SENDER / "offen.xml"
    data = content()
    writer = source.open("wb")
    writer.write(data[:100])
    writer.flush()
    arrival = intake.claim(
        settings, source, sender_number=SENDER, test=False, channel=Channel.DROPFOLDER
    )
    assert arrival is not None
    with pytest.raises(intake.NotYetComplete):
        intake.archive(settings, arrival)
    service.recover()  # still held open: stays in the spool
    assert ledger(settings) == []
    writer.write(data[100:])
    writer.close()
    time.sleep(max(1.0, settings.intake.settle_seconds) + 0.1)  # looked at again after that
    service.recover()
    [delivery] = ledger(settings)
    assert (settings.home / delivery.archive_path).read_bytes() == data
