"""What a new operator reads: nothing on stdout when a command fails, one language in the
tables (German column names and values), settings mistakes in the project's own words."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import SENDER
from zvk_inprocess import zvk_here

from ingest.samples.builder import FileBuilder
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


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        (
            "ZVK_SFTP__PORT",
            "99999",
            "setting sftp.port: 99999 is out of range; allowed: 1 to 65535",
        ),
        ("ZVK_SFTP__PORT", "abc", "setting sftp.port: must be a whole number"),
        ("ZVK_CHECKS__RATE_TOLERANCE", "-1", "setting checks.rate_tolerance: -1 is out of range"),
        ("ZVK_INTAKE__RESCAN_SECONDS", "nan", "setting intake.rescan_seconds: must be a finite"),
        ("ZVK_SFTP__PORTT", "22", "setting sftp.portt: there is no such setting"),
        ("ZVK_SFTP__PORT", "١", "setting sftp.port: digits must be 0-9"),
    ],
)
def test_a_settings_mistake_is_told_in_the_projects_words(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    key: str,
    value: str,
    expected: str,
) -> None:
    monkeypatch.setenv(key, value)
    done = zvk_here(capsys, tmp_path, "members", "list")
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith(f"zvk: {expected}"), done.stderr
    for jargon in ("Input should", "not permitted", "Value error"):
        assert jargon not in done.stderr


@pytest.mark.parametrize(
    "command",
    [
        ("members", "add", "100003", "--name", "", "--abrechnungsstelle", "001"),
        ("members", "rename", "100001", "--name", ""),
        ("senders", "add", "10000008", "--name", "", "--kind", "rechenzentrum"),
        ("senders", "rename", SENDER, "--name", "  "),
    ],
    ids=" ".join,
)
def test_an_empty_name_gets_the_same_answer(
    settings: Settings, capsys: pytest.CaptureFixture[str], command: tuple[str, ...]
) -> None:
    done = zvk_here(capsys, settings.home, *command)
    what = command[0].removesuffix("s")
    assert (done.returncode, done.stderr) == (2, f"zvk: --name: {what} name is empty\n")


@pytest.mark.parametrize(
    "command",
    [
        ("ingest", "--sender", "６６６６７７７７", "{file}"),
        ("deliveries", "list", "--sender", "٦٦٦٦٧٧٧٧"),
    ],
    ids=["ingest", "deliveries list"],
)
def test_a_sender_in_other_digits_is_named_as_such(
    settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str], command: tuple[str, ...]
) -> None:
    builder = FileBuilder(file_number=1)
    builder.anmeldung(1)
    path = builder.write(tmp_path / "a.xml")
    done = zvk_here(capsys, settings.home, *(str(path) if a == "{file}" else a for a in command))
    assert done.returncode == 2 and done.stdout == ""
    assert "8 digits 0-9" in done.stderr, done.stderr
