"""Hostile and broken input: each file gets its code, nothing leaks, the service keeps going."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from conftest import assert_protocol_valid, codes
from hostile import CORPUS, corpus
from zvk_inprocess import zvk_in

from ingest.pipeline import Service
from ingest.samples.builder import FileBuilder
from ingest.storing.models import DeliveryState
from ingest.validating.submission import Channel

CASES = sorted(corpus().items())


def corpus_file(name: str, content: bytes, tmp_path: Path) -> Path:
    committed = CORPUS / name
    if committed.exists():
        assert committed.read_bytes() == content, f"{name}: run python tests/hostile.py"
        return committed
    path = tmp_path / name
    path.write_bytes(content)
    return path


@pytest.mark.parametrize(("name", "case"), CASES, ids=[name for name, _ in CASES])
def test_pipeline_answers_hostile_file_with_its_code(
    name: str, case: tuple[bytes, str], service: Service, tmp_path: Path
) -> None:
    """The file is rejected as a whole with the expected code; nothing is committed."""
    content, expected = case
    path = corpus_file(name, content, tmp_path)
    verdict = service.ingest(path, sender_number="66667777", test=False)
    assert verdict.result == "abgewiesen"
    assert expected in codes(verdict), codes(verdict)
    assert service.count_committed() == 0
    text = " ".join(f.message for f in verdict.findings)
    assert "root:" not in text and "Traceback" not in text  # no /etc/passwd, no internals


def test_service_keeps_going_after_the_whole_corpus(service: Service, tmp_path: Path) -> None:
    """After every hostile file, a good file is still committed."""
    for name, (content, _code) in CASES:
        service.ingest(corpus_file(name, content, tmp_path), sender_number="66667777", test=False)
    b = FileBuilder()
    b.anmeldung(1)
    verdict = service.ingest(b.write(tmp_path / "gut.xml"), sender_number="66667777", test=False)
    assert verdict.result == "fehlerfrei"


def test_check_command_gives_the_same_codes(tmp_path: Path) -> None:
    """`zvk check` over the corpus prints each file's protocol with its code."""
    paths = [corpus_file(name, content, tmp_path) for name, (content, _c) in CASES]
    done = zvk_in(None, "check", *map(str, paths), env={"ZVK_HOME": str(tmp_path / "none")})
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    protocols = done.stdout.split("Verarbeitungsprotokoll der Zusatzversorgungskasse")[1:]
    assert len(protocols) == len(CASES)
    for (name, (_content, expected)), protocol in zip(CASES, protocols, strict=True):
        assert f"Datei:             {name}" in protocol
        assert expected in protocol, name


def test_three_gigabyte_file_is_refused_by_size(service: Service, tmp_path: Path) -> None:
    """A 3 GB file is answered with ZVDA005 without being parsed (sparse file, no real disk).

    It arrives as in the drop folder (renamed, not copied), and is archived as it came.
    """
    path = service.settings.inbox / "66667777" / "riesig.xml"
    with path.open("wb") as fh:
        fh.write(_good_head())
        fh.truncate(3 * 1024**3)
    delivery_id = service.receive(
        path, sender_number="66667777", test=False, channel=Channel.DROPFOLDER
    )
    assert delivery_id is not None and not path.exists()
    verdict = service.process(delivery_id)
    assert verdict is not None
    assert_protocol_valid(service.settings, verdict)
    assert verdict.result == "abgewiesen"
    assert codes(verdict) == ["ZVDA005"]


def _good_head() -> bytes:
    return FileBuilder().to_bytes()[:200]


def test_internal_error_is_quarantined_and_can_be_rerun(
    service: Service, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An internal error gives a ZVSY999 protocol without internals; a re-run then succeeds."""
    import ingest.validating.checker as checker

    def broken(*_args: object, **_kwargs: object) -> list[object]:
        raise RuntimeError("secret internal detail")

    b = FileBuilder()
    b.anmeldung(1)
    path = b.write(tmp_path / "a.xml")
    monkeypatch.setattr(checker, "check_report", broken)
    verdict = service.ingest(path, sender_number="66667777", test=False)
    assert codes(verdict) == ["ZVSY999"] and verdict.result == "abgewiesen"
    assert "secret" not in verdict.findings[0].message
    assert service.count_committed() == 0
    with service.sessions() as session:
        from sqlalchemy import select

        from ingest.storing.models import Delivery

        row = session.scalar(select(Delivery).where(Delivery.delivery_id == verdict.delivery_id))
        assert row is not None and row.state == DeliveryState.FAILED.value
        assert (service.settings.home / row.archive_path).read_bytes() == path.read_bytes()
    monkeypatch.undo()
    service.reset_for_rerun(verdict.delivery_id)
    again = service.process(verdict.delivery_id)
    assert again is not None and again.result == "fehlerfrei"
    assert service.count_committed() == 1


def test_committed_delivery_cannot_be_rerun(service: Service, tmp_path: Path) -> None:
    """Re-running a delivery whose reports are committed is refused (it would book twice)."""
    from ingest.errors import UsageError

    b = FileBuilder()
    b.anmeldung(1)
    verdict = service.ingest(b.write(tmp_path / "a.xml"), sender_number="66667777", test=False)
    with pytest.raises(UsageError):
        service.reset_for_rerun(verdict.delivery_id)


def test_unusual_file_names_get_a_protocol(service: Service, tmp_path: Path) -> None:
    """Control characters and very long names still give a valid protocol file."""
    b = FileBuilder()
    b.anmeldung(1)
    name = "Jahres\x01meldung " + "x" * 230 + ".xml"  # 250 bytes: the most a disk allows
    path = b.write(tmp_path / name)
    verdict = service.ingest(path, sender_number="66667777", test=False)
    assert verdict.result == "fehlerfrei"
    written = list((service.settings.outbox / "66667777").glob(f"*{verdict.delivery_id}*.xml"))
    assert len(written) == 1 and len(written[0].name.encode()) <= 255
    # kept losslessly, with the control character escaped (names.escaped_name)
    assert dataclasses.replace(verdict).filename == name.replace("\x01", "\\x01")
