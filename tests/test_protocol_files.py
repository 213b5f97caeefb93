"""A delivery checked again keeps its earlier protocol; the same check written twice does not."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from conftest import SENDER

from ingest.answering.outbox import protocol_stem, write_protocol
from ingest.answering.protocol import validate_xml
from ingest.pipeline import Service
from ingest.samples.builder import FileBuilder


def test_reprocessing_keeps_the_earlier_protocol(
    service: Service, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ingest.validating.checker as checker

    def broken(*_args: object, **_kwargs: object) -> list[object]:
        raise RuntimeError("kaputt")

    builder = FileBuilder()
    builder.anmeldung(1)
    monkeypatch.setattr(checker, "check_report", broken)
    first = service.ingest(builder.write(tmp_path / "monat.xml"), sender_number=SENDER, test=False)
    outbox = service.settings.outbox / SENDER
    [earlier_xml] = sorted(outbox.glob("*.xml"))
    before = {p.name: p.read_bytes() for p in outbox.iterdir()}
    monkeypatch.undo()
    # A re-check within the file clock's tick (0.05 s) of the earlier protocol cannot be told
    # from a rewrite of that check after a crash; an operator's reprocess comes later than that.
    time.sleep(0.2)
    service.reset_for_rerun(first.delivery_id)
    again = service.process(first.delivery_id)
    assert again is not None and again.result == "fehlerfrei"
    after = {p.name: p.read_bytes() for p in outbox.iterdir()}
    assert {k: after[k] for k in before} == before  # the first protocol is unchanged
    new = sorted(set(after) - set(before))
    assert new == [
        f"monat.erneut-1.{first.delivery_id}.protokoll.txt",
        f"monat.erneut-1.{first.delivery_id}.protokoll.xml",
    ]
    assert "erneut geprüft" in after[new[0]].decode()
    assert "erneut geprüft" not in before[earlier_xml.with_suffix(".txt").name].decode()
    assert validate_xml(after[new[1]]) == []
    # the same check written once more (a crash before the ledger noted it): no third protocol
    write_protocol(service.settings.outbox, service.verdict(first.delivery_id))
    assert sorted(p.name for p in outbox.iterdir()) == sorted(after)


@pytest.mark.parametrize("run", [1, 2, 3, 11])
def test_the_run_number_survives_the_file_name(run: int) -> None:
    """The first re-check is ``erneut-1``; the name gives back the check it belongs to."""
    from ingest.answering.outbox import _run_of

    stem = protocol_stem("monat.xml", "20261128-093000-3F9A2C", run=run)
    assert (".erneut-1." in stem) == (run == 2)
    assert _run_of(f"{stem}.xml") == run
