"""`zvk demo` writes sample members, senders and reports: only into a new or empty home, or
one it made itself; a home with the fund's data, or a configured database with data, is left
untouched with exit status 2."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from zvk_inprocess import zvk_here

from ingest.settings import Settings
from ingest.storing.db import make_engine, session_factory
from ingest.storing.models import Delivery, Member, Sender


def _state(settings: Settings) -> tuple[list[tuple[str, str]], int]:
    with session_factory(make_engine(settings))() as session:
        names = [(m.number, m.name) for m in session.scalars(select(Member))]
        names += [(s.number, s.name) for s in session.scalars(select(Sender))]
        deliveries = len(list(session.scalars(select(Delivery))))
    return sorted(names), deliveries


def test_demo_refuses_a_home_with_data(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    before = _state(settings)
    files = sorted(p.relative_to(settings.home) for p in settings.home.rglob("*"))
    done = zvk_here(capsys, settings.home, "demo")
    assert done.returncode == 2, done.stdout
    assert "zvk demo did not make" in done.stderr and "Traceback" not in done.stderr
    assert _state(settings) == before
    assert sorted(p.relative_to(settings.home) for p in settings.home.rglob("*")) == files


def test_demo_refuses_a_configured_database_with_data(
    settings: Settings,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    before = _state(settings)
    monkeypatch.setenv("ZVK_DB__URL", settings.database_url)
    done = zvk_here(capsys, tmp_path / "neu", "demo")
    assert done.returncode == 2 and "db.url" in done.stderr, done.stderr
    assert _state(settings) == before


def test_demo_in_a_new_home_and_again(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    home = tmp_path / "demo-home"
    first = zvk_here(capsys, home, "demo")
    assert first.returncode == 0, first.stderr
    assert "--- protocol of monat-2026-10.xml ---" in first.stdout
    again = zvk_here(capsys, home, "demo", "--show", "1")
    assert again.returncode == 0, again.stderr  # its own home: runs again
    assert zvk_here(capsys, home, "demo", "--show", "99").returncode == 2
