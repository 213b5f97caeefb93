"""Delivered names: stored losslessly, shown escaped; odd inbox entries answered or named once."""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest
import structlog
from conftest import SENDER, wait_for
from sqlalchemy import update
from test_poison import codes_of, serving
from zvk_inprocess import zvk_in

from ingest.pipeline import Service
from ingest.receiving.dropfolder import DropFolderWatcher
from ingest.receiving.names import escaped_name, is_escaped, name_bytes, shown
from ingest.samples.builder import FileBuilder
from ingest.settings import Settings
from ingest.storing.models import Delivery


def test_escaped_names_are_printable_and_give_back_the_bytes() -> None:
    rng = random.Random(7)
    names = [b"bad\xff.xml", b"a\\b\r\n\x1b[2J.xml", "M\u00e4rz\u202e.xml".encode(), b"\xc2\x85"]
    names += [bytes(rng.choice(range(1, 256)) for _ in range(40)) for _ in range(300)]
    for raw in names:
        text = escaped_name(raw)
        assert is_escaped(text) and text.isprintable(), text
        assert name_bytes(text) == raw
        assert escaped_name(os.fsdecode(raw)) == text
    assert escaped_name("März.xml") == "März.xml"
    assert shown("a\rb\u202ec") == "a\\x0db\\u202ec"


def test_a_long_symlink_name_is_quarantined_and_answered(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A symbolic link with a 250-character name is moved aside (the link itself, its target
    untouched) and answered with ZVDA006, at the first rescan."""
    target = tmp_path / "geheim.txt"
    target.write_text("nicht lesen")
    name = "v" * 246 + ".xml"
    with serving(settings, monkeypatch):
        (settings.inbox / SENDER / name).symlink_to(target)
        protocol = wait_for("v*.protokoll.xml", settings.outbox / SENDER)
    assert codes_of(protocol) == ["ZVDA006"]
    assert not os.path.lexists(settings.inbox / SENDER / name)
    [moved] = [p for p in (settings.quarantine / "inbox" / SENDER).iterdir() if p.is_symlink()]
    assert moved.name.endswith(name[-60:]) and len(moved.name.encode()) < 200
    assert os.readlink(moved) == str(target) and target.read_text() == "nicht lesen"
    assert (moved.parent / (moved.name + ".grund.txt")).is_file()


def test_a_carriage_return_in_a_name_cannot_overwrite_the_output(
    service: Service, settings: Settings, tmp_path: Path
) -> None:
    builder = FileBuilder()
    builder.anmeldung(1)
    path = builder.write(tmp_path / "monat\rGEFAELSCHT.xml")
    verdict = service.ingest(path, sender_number=SENDER, test=False)
    with service.sessions.begin() as session:  # a row stored before names were escaped
        old = FileBuilder(file_number=2)
        old.anmeldung(2)
        earlier = service.ingest(old.write(tmp_path / "alt.xml"), sender_number=SENDER, test=False)
        session.execute(
            update(Delivery)
            .where(Delivery.delivery_id == earlier.delivery_id)
            .values(filename="alt\r\x1b[2Jneu.xml")
        )
    for args in (
        ("deliveries", "show", verdict.delivery_id),
        ("deliveries", "show", earlier.delivery_id),
        ("deliveries", "list"),
    ):
        done = zvk_in(settings.home, *args)
        assert done.returncode == 0, done.stderr
        out = done.stdout  # as written: no text stream turns a carriage return into a newline
        assert "\r" not in out and "\x1b" not in out
    assert "monat\\x0dGEFAELSCHT.xml" in out
    assert "alt\\x0d\\x1b[2Jneu.xml" in out


def test_entries_that_stand_for_no_sender_are_named_once(settings: Settings) -> None:
    (settings.inbox / "liesmich.txt").write_text("x")
    (settings.inbox / "abc").mkdir()
    (settings.inbox / "abc" / "monat.xml").write_text("x")
    (settings.inbox / SENDER / "unterordner").mkdir()
    watcher = DropFolderWatcher(settings, lambda _drop: None, lambda _drop, _exc: None)
    with structlog.testing.capture_logs() as logs:
        for _ in range(3):
            watcher.rescan()
    named = sorted(e["entry"] for e in logs if e["event"].startswith("inbox entry ignored"))
    assert named == sorted(["abc", f"{SENDER}/unterordner", "liesmich.txt"])


def test_a_name_of_many_undecodable_bytes_is_received(
    service: Service, settings: Settings, tmp_path: Path
) -> None:
    """200 bytes that are no UTF-8 escape to 800 characters: the delivery is still taken (the
    ledger keeps both ends of the name), checked and answered."""
    builder = FileBuilder()
    builder.anmeldung(1)
    raw = os.fsencode(tmp_path) + b"/" + b"\xff" * 200 + b".xml"
    builder.write(Path(os.fsdecode(raw)))
    verdict = service.ingest(Path(os.fsdecode(raw)), sender_number=SENDER, test=False)
    assert verdict.result == "fehlerfrei"
    assert verdict.filename.startswith("\\xff") and verdict.filename.endswith(".xml")
    assert len(verdict.filename) <= 255
