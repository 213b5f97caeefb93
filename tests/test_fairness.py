"""One sender's backlog does not hold up another sender's file.

The worker takes at most one delivery of each sender per pass over the ledger, in the order of
arrival within a sender, so a sender with many queued files cannot make another sender's single
file wait behind all of them.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from conftest import MEMBER_SENDER, SENDER

from ingest.pipeline import Service
from ingest.pipeline.worker import Worker
from ingest.samples.builder import FileBuilder
from ingest.validating.submission import Channel


def _file(path: Path, sender: str, member: str, office: str, number: int) -> Path:
    builder = FileBuilder(sender=sender, member=member, office=office, file_number=number)
    builder.anmeldung(1)
    return builder.write(path)


def test_a_backlog_of_one_sender_does_not_delay_another(
    service: Service, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Six queued files of one sender, then one of another: the other sender's file is
    processed second, not seventh; each sender's files keep their order."""
    ids: dict[str, str] = {}
    for n in range(1, 7):
        source = _file(tmp_path / f"a{n}.xml", SENDER, "100001", "001", n)
        got = service.receive(source, sender_number=SENDER, test=False, channel=Channel.DROPFOLDER)
        assert got is not None
        ids[got] = SENDER
    source = _file(tmp_path / "b.xml", MEMBER_SENDER, "100002", "001", 1)
    other = service.receive(
        source, sender_number=MEMBER_SENDER, test=False, channel=Channel.DROPFOLDER
    )
    assert other is not None
    ids[other] = MEMBER_SENDER

    order: list[str] = []
    process = Worker.process
    stop = threading.Event()

    def recording(self: Worker, delivery_id: str, wait_seconds: float = 0.0):  # type: ignore[no-untyped-def]
        verdict = process(self, delivery_id, wait_seconds)
        order.append(delivery_id)
        if len(order) == len(ids):
            stop.set()
        return verdict

    monkeypatch.setattr(Worker, "process", recording)
    worker = threading.Thread(target=service.work, args=(stop,), kwargs={"idle_seconds": 0.1})
    worker.start()
    worker.join(timeout=120)
    stop.set()
    assert sorted(order) == sorted(ids)
    assert order.index(other) == 1
    first_sender = [d for d in order if ids[d] == SENDER]
    assert first_sender == [d for d in ids if ids[d] == SENDER]  # arrival order kept
