"""Registering an arrival: exactly once, whoever finds it first (receiver or recovery pass)."""

from __future__ import annotations

import fcntl
import json
import re
import threading
from pathlib import Path

import pytest
from conftest import SENDER, assert_protocol_valid
from sqlalchemy import select

from ingest.errors import UsageError
from ingest.pipeline import Service
from ingest.receiving import intake
from ingest.samples.builder import FileBuilder
from ingest.settings import Settings
from ingest.storing.models import Delivery
from ingest.validating.submission import Channel


def arrive(settings: Settings, tmp_path: Path, name: str = "monat.xml") -> intake.Arrival:
    source = tmp_path / name
    builder = FileBuilder()
    builder.anmeldung(1)
    builder.write(source)
    arrival = intake.claim(
        settings, source, sender_number=SENDER, test=False, channel=Channel.DROPFOLDER
    )
    assert arrival is not None
    return arrival


def ledger(service: Service) -> list[tuple[str, str]]:
    with service.sessions() as session:
        rows = session.execute(select(Delivery.delivery_id, Delivery.sha256))
        return [(delivery_id, sha) for delivery_id, sha in rows]


def test_recovery_skips_an_arrival_the_receiver_is_registering(
    settings: Settings, service: Service, tmp_path: Path
) -> None:
    arrival = arrive(settings, tmp_path)
    with intake.registering(settings, arrival, wait=True) as mine:
        assert mine
        service.recover()  # a worker's pass while the receiver holds the arrival
        assert ledger(service) == []
        service.intake.enter(arrival)
    service.recover()
    service.intake.register(arrival)
    [(delivery_id, sha)] = ledger(service)
    assert delivery_id == arrival.delivery_id and len(sha) == 64
    assert list(settings.spool.glob("*.json")) == []
    assert intake.archive_path(settings, arrival).is_file()


def test_concurrent_registrations_enter_the_delivery_once(
    settings: Settings, service: Service, tmp_path: Path
) -> None:
    arrivals = [arrive(settings, tmp_path, f"datei-{n}.xml") for n in range(5)]
    start = threading.Barrier(6)
    errors: list[BaseException] = []

    def register(wait: bool) -> None:
        start.wait()
        try:
            for arrival in arrivals:
                if wait:
                    service.intake.register(arrival)
                else:
                    service.recover()
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=register, args=(n % 2 == 0,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert sorted(d for d, _ in ledger(service)) == sorted(a.delivery_id for a in arrivals)


def test_a_note_of_a_claim_in_progress_is_kept_an_abandoned_one_dropped(
    settings: Settings,
) -> None:
    """The note is written before the file is moved, and held locked until the claim is done:
    a held note is kept; one nobody holds and that has no file is left from a claim that died."""
    settings.spool.mkdir(parents=True, exist_ok=True)
    held = settings.spool / "20261128-120000-AAAAAA.json"
    dead = settings.spool / "20261128-110000-BBBBBB.json"
    for note, delivery_id in ((held, "20261128-120000-AAAAAA"), (dead, "20261128-110000-BBBBBB")):
        fields = {
            "delivery_id": delivery_id,
            "sender_number": SENDER,
            "filename": "x.xml",
            "test": False,
            "channel": "drop",
            "received_at": "2026-11-28T12:00:00+00:00",
        }
        note.write_text(json.dumps(fields))
    with held.open("rb") as claim_in_progress:
        fcntl.flock(claim_in_progress.fileno(), fcntl.LOCK_EX)
        assert intake.pending_arrivals(settings) == []
        assert held.exists()
        assert not dead.exists()


def test_a_sender_number_that_is_not_a_betriebsnummer_is_never_a_path(
    settings: Settings, tmp_path: Path
) -> None:
    """The sender number names the outbox folder; anything but eight digits is refused before
    a note or a copy is made, so no caller can make the service write outside its home."""
    source = FileBuilder(file_number=1).write(tmp_path / "monat.xml")
    for bad in ("../../elsewhere", "6666777", "666677770", "6666777x", "", "６６６６７７７７"):
        with pytest.raises(UsageError, match="not a Betriebsnummer"):
            intake.claim(
                settings,
                source,
                sender_number=bad,
                test=False,
                channel=Channel.CLI,
                keep_source=True,
            )
    assert source.exists()
    assert not settings.spool.exists() or not any(settings.spool.iterdir())


def test_a_forced_collision_of_lieferungsids_loses_no_file(
    settings: Settings, service: Service, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The random part of two LieferungsIds is made equal: once while the first file is still
    in the spool, once after it is in the ledger. Every file keeps its bytes and gets an id of
    its own, in the shape protocols have always had."""
    fixed = "20261202-120000-ABCDEF"
    drawn = iter([fixed, fixed, fixed, "20261202-120000-000001", fixed, "20261202-120000-000002"])
    monkeypatch.setattr(intake, "new_delivery_id", lambda _now: next(drawn))
    sources = []
    for n in range(3):
        builder = FileBuilder(file_number=n + 1)
        builder.anmeldung(n + 1)
        sources.append(builder.write(tmp_path / f"datei-{n}.xml"))
    contents = [p.read_bytes() for p in sources]
    first = intake.claim(
        settings, sources[0], sender_number=SENDER, test=False, channel=Channel.DROPFOLDER
    )
    second = intake.claim(
        settings, sources[1], sender_number=SENDER, test=False, channel=Channel.DROPFOLDER
    )
    assert first is not None and second is not None
    service.recover()
    third = service.receive(
        sources[2], sender_number=SENDER, test=False, channel=Channel.DROPFOLDER
    )
    ids = [first.delivery_id, second.delivery_id, third]
    assert ids == [fixed, "20261202-120000-000001", "20261202-120000-000002"]
    for delivery_id, data in zip(ids, contents, strict=True):
        assert delivery_id is not None and re.fullmatch(r"\d{8}-\d{6}-[0-9A-F]{6}", delivery_id)
        verdict = service.process(delivery_id)
        assert verdict is not None and verdict.result == "fehlerfrei"
        assert_protocol_valid(settings, verdict)
        with service.sessions() as session:
            row = session.scalar(select(Delivery).where(Delivery.delivery_id == delivery_id))
            assert row is not None
            assert (settings.home / row.archive_path).read_bytes() == data


def test_an_arrival_noted_by_an_earlier_version_is_registered_as_from_the_drop_folder(
    settings: Settings, service: Service, tmp_path: Path
) -> None:
    """A spool note written before the channels had their names says `drop`: the recovery pass
    registers the file with the channel `dropfolder`, as migration 0005 renamed the rows."""
    arrival = arrive(settings, tmp_path)
    note = settings.spool / f"{arrival.delivery_id}.json"
    fields = json.loads(note.read_text())
    assert fields["channel"] == "dropfolder"
    note.write_text(json.dumps({**fields, "channel": "drop"}))
    service.recover()
    with service.sessions() as session:
        channel = session.scalar(
            select(Delivery.channel).where(Delivery.delivery_id == arrival.delivery_id)
        )
    assert channel == "dropfolder"
