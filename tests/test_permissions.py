"""The home holds personal data: folders 0700, files 0600, the archive 0400, whatever the umask."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import SENDER

from ingest.pipeline import Service
from ingest.samples.builder import FileBuilder
from ingest.settings import Settings

ZVK = [sys.executable, "-m", "ingest"]


def mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


@pytest.fixture
def lax_umask() -> Iterator[None]:
    """The umask of a careless shell; the test's own process gets its umask back afterwards."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def zvk_init(home: Path, database_url: str | None) -> None:
    if database_url:
        home.mkdir(exist_ok=True)
        (home / "zvk.toml").write_text(f'[db]\nurl = "{database_url}"\n')
    done = subprocess.run(
        [*ZVK, "--home", str(home), "init"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        preexec_fn=lambda: os.umask(0o022),
    )
    assert done.returncode == 0, done.stderr


def test_init_makes_a_private_home_whatever_the_umask(
    tmp_path: Path, database_url: str | None
) -> None:
    home = tmp_path / "home"
    zvk_init(home, database_url)
    assert mode(home) == 0o700
    for folder in ("inbox", "outbox", "archive", "spool", "quarantine", "keys", "payments"):
        assert (home / folder).is_dir(), folder
        assert mode(home / folder) == 0o700, folder
    for entry in home.rglob("*"):
        expected = 0o700 if entry.is_dir() else 0o600
        assert mode(entry) == expected, entry


def test_init_fixes_an_existing_home(tmp_path: Path, database_url: str | None) -> None:
    home = tmp_path / "home"
    zvk_init(home, database_url)
    day = home / "archive" / "2026" / "11" / "28"
    day.mkdir(parents=True)
    archived = day / "20261128-093000-3F9A2C__monat.xml"
    archived.write_bytes(b"<x/>")
    protocol = home / "outbox" / SENDER / "monat.20261128-093000-3F9A2C.protokoll.xml"
    protocol.parent.mkdir(parents=True)
    protocol.write_bytes(b"<p/>")
    outside = tmp_path / "elsewhere.txt"
    outside.write_text("not the home's")
    (home / "outbox" / "link").symlink_to(outside)
    for path, lax in ((home, 0o755), (day, 0o755), (archived, 0o444), (protocol, 0o644)):
        path.chmod(lax)
    outside.chmod(0o644)
    zvk_init(home, database_url)
    assert (mode(home), mode(day), mode(archived), mode(protocol)) == (0o700, 0o700, 0o400, 0o600)
    assert mode(outside) == 0o644  # a link is not followed


def test_the_service_writes_private_files_whatever_the_umask(
    settings: Settings, tmp_path: Path, lax_umask: None
) -> None:
    settings.home.chmod(0o755)
    database = settings.home / "zvk.sqlite3"
    if database.exists():
        database.chmod(0o644)
    service = Service.open(settings)
    builder = FileBuilder()
    builder.anmeldung(1)
    verdict = service.ingest(
        builder.write(tmp_path / "monat.xml"), sender_number=SENDER, test=False
    )
    assert mode(settings.home) == 0o700
    written = list((settings.outbox / SENDER).iterdir())
    assert len(written) == 2 and {mode(p) for p in written} == {0o600}
    archived = [p for p in settings.archive.rglob("*") if p.is_file()]
    assert [mode(p) for p in archived] == [0o400]
    for name in ("zvk.sqlite3", "zvk.sqlite3-wal", "zvk.sqlite3-shm"):
        if (settings.home / name).exists():
            assert mode(settings.home / name) == 0o600, name
    assert verdict.result == "fehlerfrei"
