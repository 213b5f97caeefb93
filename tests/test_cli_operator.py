"""What a new operator reads: nothing on stdout when a command fails, one language in the
tables (German column names and values), settings mistakes in the project's own words."""

from __future__ import annotations

import pytest
from conftest import SENDER
from zvk_inprocess import zvk_here

from ingest.settings import Settings

LIST_COMMANDS = [
    ("members", "list"),
    ("reports", "list"),
    ("senders", "list"),
    ("deliveries", "list"),
    ("payments", "list"),
]


@pytest.mark.parametrize("command", LIST_COMMANDS, ids=" ".join)
def test_a_list_that_fails_prints_nothing_on_stdout(
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    command: tuple[str, ...],
) -> None:
    monkeypatch.setenv("ZVK_SFTP__PORT", "99999")
    done = zvk_here(capsys, settings.home, *command)
    assert done.returncode == 2, done
    assert done.stdout == ""
    assert done.stderr.startswith("zvk: ") and "sftp.port" in done.stderr


def test_sender_list_and_show_speak_german(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    listing = zvk_here(capsys, settings.home, "senders", "list")
    assert listing.returncode == 0, listing.stderr
    line = next(x for x in listing.stdout.splitlines() if x.startswith(SENDER))
    assert "\taktiv\t0 SSH-Schlüssel, Passwort keins\t" in line
    shown = zvk_here(capsys, settings.home, "senders", "show", SENDER)
    assert "aktiv" in shown.stdout and "keins" in shown.stdout
    for english in ("active", "key(s)", "password"):
        assert english not in listing.stdout + shown.stdout


def test_deliveries_list_header_is_german(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    done = zvk_here(capsys, settings.home, "deliveries", "list")
    assert done.stdout.splitlines()[0].split("\t") == [
        "LieferungsId",
        "Absender",
        "Eingang",
        "Datei",
        "Zustand",
        "Ergebnis",
        "Gesamt",
        "Angenommen",
        "Abgewiesen",
    ]
