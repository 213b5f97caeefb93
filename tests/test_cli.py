"""The `zvk` command line as operators and scripts use it: real files, the real commands run
in this process (``zvk_in``), and a real process where the console script itself is tested."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from conftest import give_host_keys
from zvk_inprocess import Done, zvk_in

from ingest.samples.builder import FileBuilder

ZVK = [sys.executable, "-m", "ingest"]


def zvk(home: Path | None, *args: str, env: dict[str, str] | None = None) -> Done:
    return zvk_in(home, *args, env=env)


def zvk_process(home: Path | None, *args: str) -> subprocess.CompletedProcess[str]:
    """``zvk`` as a real process: the console entry point, its exit status and its output."""
    prefix = ["--home", str(home)] if home else []
    return subprocess.run(
        [*ZVK, *prefix, *args], capture_output=True, text=True, timeout=300, check=False
    )


@pytest.fixture
def home(tmp_path: Path, database_url: str | None, host_keys: Path) -> Path:
    home = tmp_path / "home"
    give_host_keys(host_keys, home / "keys")
    if database_url:
        (home / "zvk.toml").write_text(f'[db]\nurl = "{database_url}"\n')
    for args in (
        ("init",),
        (
            "members",
            "add",
            "100001",
            "--name",
            "Stadt",
            "--abrechnungsstelle",
            "001",
            "--abrechnungsstelle",
            "002",
        ),
        (
            "senders",
            "add",
            "66667777",
            "--name",
            "RZ",
            "--kind",
            "rechenzentrum",
            "--authorize",
            "100001",
        ),
    ):
        done = zvk(home, *args)
        assert done.returncode == 0, done.stderr
    return home


def thousand_reports(path: Path) -> Path:
    b = FileBuilder(file_number=1)
    for n in range(1, 1001):
        b.anmeldung(n, date(2026, 10, 1), office="001" if n % 2 else "002")
    return b.write(path)


def export_rows(home: Path) -> list[dict[str, str]]:
    done = zvk(home, "export", "meldungen", "--format", "csv")
    assert done.returncode == 0, done.stderr
    return list(csv.DictReader(io.StringIO(done.stdout)))


@pytest.mark.slow
def test_thousand_reports_then_the_same_file_again(home: Path, tmp_path: Path) -> None:
    """1,000 clean reports are fehlerfrei and exported; the same file again is doppelt."""
    path = thousand_reports(tmp_path / "gross.xml")
    first = zvk(home, "ingest", str(path))
    assert first.returncode == 0, first.stderr
    name, delivery_id, result, counts = first.stdout.strip().split("\t")
    assert (name, result) == ("gross.xml", "fehlerfrei")
    assert counts == "gesamt=1000 angenommen=1000 abgewiesen=0"
    rows = export_rows(home)
    assert len(rows) == 1000
    assert {
        "meldungs_id",
        "absender",
        "art",
        "mitgliedsnummer",
        "abrechnungsstelle",
        "rvnr",
        "versicherungsnummer",
        "storniert",
    } <= set(rows[0])
    assert {r["storniert"] for r in rows} == {"false"}
    assert all(len(r["versicherungsnummer"]) == 10 for r in rows)

    again = zvk(home, "ingest", str(path))
    assert again.returncode == 1
    assert again.stdout.split("\t")[2] == "doppelt"
    assert len(export_rows(home)) == 1000
    shown = zvk(home, "deliveries", "show", again.stdout.split("\t")[1])
    assert f"Bezug:            {delivery_id}" in shown.stdout


def test_ingest_exit_status_follows_result(home: Path, tmp_path: Path) -> None:
    """Exit 0 for fehlerfrei/hinweise, 1 for teilweise_abgewiesen; `deliveries list` shows both."""
    good = FileBuilder(file_number=1)
    good.anmeldung(1)
    bad = FileBuilder(file_number=2)
    bad.anmeldung(2)
    bad.anmeldung(3).set("Person/RVNR", "15070649C102")
    assert zvk(home, "ingest", str(good.write(tmp_path / "a.xml"))).returncode == 0
    done = zvk(home, "ingest", str(bad.write(tmp_path / "b.xml")))
    assert done.returncode == 1
    assert "teilweise_abgewiesen" in done.stdout
    listed = zvk(home, "deliveries", "list", "--ergebnis", "teilweise_abgewiesen")
    assert "b.xml" in listed.stdout and "a.xml" not in listed.stdout


def test_check_needs_no_home(tmp_path: Path) -> None:
    """`zvk check` works without a home and prints the protocol in text or XML."""
    b = FileBuilder()
    b.anmeldung(1)
    b.anmeldung(2).set("Person/RVNR", "15070649C102")
    path = b.write(tmp_path / "pruef.xml")
    env = {"ZVK_HOME": str(tmp_path / "nowhere")}
    text = zvk(None, "check", str(path), env=env)
    assert text.returncode == 1
    assert "ZVME088" in text.stdout and "teilweise_abgewiesen" in text.stdout
    xml = zvk(None, "check", "--format", "xml", str(path), env=env)
    assert xml.stdout.startswith("<?xml") and 'Code="ZVME088"' in xml.stdout
    upper = zvk(None, "check", "--format", "XML", str(path), env=env)  # case-insensitive
    assert upper.returncode == 1 and upper.stdout.startswith("<?xml")
    assert 'Code="ZVME088"' in upper.stdout
    assert not (tmp_path / "nowhere").exists()


@pytest.mark.parametrize(
    "args",
    [
        ("ingest", "does-not-exist.xml"),
        ("members", "add", "12", "--name", "X", "--abrechnungsstelle", "001"),
        ("members", "add", "100003", "--name", "X", "--abrechnungsstelle", "1"),
        ("senders", "add", "66667778", "--name", "X", "--kind", "rechenzentrum"),
        ("senders", "add", "15000002", "--name", "X", "--kind", "bank"),
        (
            "senders",
            "add",
            "15000002",
            "--name",
            "X",
            "--kind",
            "mitglied",
            "--authorize",
            "999999",
        ),
        ("deliveries", "show", "nope"),
        ("--home", "", "deliveries", "list"),
        ("deliveries", "list", "--ergebnis", "gut"),
        ("check", "--format", "pdf", "x.xml"),
        ("export", "meldungen", "--format", "xlsx"),
        ("no-such-command",),
    ],
)
def test_user_mistakes_give_one_line_and_exit_2(home: Path, args: tuple[str, ...]) -> None:
    """A mistake on the command line: exit status 2, a short message, never a traceback."""
    done = zvk(home, *args)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr + done.stdout
    assert done.stderr.strip()


def test_uninitialised_home_and_bad_configuration(tmp_path: Path) -> None:
    """A home without `zvk init` and a broken setting are reported in one line, exit 2."""
    done = zvk_process(tmp_path / "empty", "deliveries", "list")  # as the user meets it
    assert done.returncode == 2 and "zvk init" in done.stderr and "Traceback" not in done.stderr
    assert done.stderr.count("\n") == 1 and done.stdout == ""
    env = {"ZVK_SFTP__PORT": "not-a-port"}
    done = zvk(tmp_path / "empty", "deliveries", "list", env=env)
    assert done.returncode == 2 and "sftp.port" in done.stderr and "Traceback" not in done.stderr
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "zvk.toml").write_text("[db\nurl=")
    done = zvk(tmp_path / "bad", "deliveries", "list")
    assert done.returncode == 2 and "zvk.toml" in done.stderr and "Traceback" not in done.stderr


def test_init_twice_changes_nothing(home: Path) -> None:
    """Running `zvk init` on a ready home reports nothing to do and keeps the host keys."""
    key = (home / "keys" / "ssh_host_ecdsa_key").read_bytes()
    done = zvk(home, "init")
    assert done.returncode == 0 and "nothing to do" in done.stdout
    assert (home / "keys" / "ssh_host_ecdsa_key").read_bytes() == key


def test_ingest_of_a_symbolic_link_is_refused_in_one_line(home: Path, tmp_path: Path) -> None:
    """An operator's symbolic link is not followed: exit status 2, a message, no traceback."""
    target = tmp_path / "echt.xml"
    target.write_bytes(b"<Meldedatei/>")
    link = tmp_path / "verweis.xml"
    link.symlink_to(target)
    done = zvk(home, "ingest", "--sender", "66667777", str(link))
    assert done.returncode == 2, done.stderr
    assert "not a regular file" in done.stderr and "verweis.xml" in done.stderr
    assert "Traceback" not in done.stderr
    assert zvk(home, "deliveries", "list").stdout.count("verweis.xml") == 0


def test_ingest_without_sender_cannot_read_absender(home: Path, tmp_path: Path) -> None:
    """A file whose Absender cannot be read needs --sender; with it, it is answered."""
    path = tmp_path / "muell.xml"
    path.write_bytes(b"\x00\x01 not xml")
    done = zvk(home, "ingest", str(path))
    assert done.returncode == 2 and "--sender" in done.stderr
    done = zvk(home, "ingest", "--sender", "66667777", str(path))
    assert done.returncode == 1 and "abgewiesen" in done.stdout


@pytest.mark.parametrize("sender", ["../../elsewhere", "12345678", "abc"])
def test_ingest_for_a_sender_that_is_not_registered_is_refused(
    home: Path, tmp_path: Path, sender: str
) -> None:
    """--sender names an inbox: one that no registered sender has is a mistake in the command.
    Nothing is received, and no folder is made for it, inside the home or outside."""
    b = FileBuilder(file_number=1)
    b.anmeldung(1)
    path = b.write(tmp_path / "a.xml")
    done = zvk(home, "ingest", "--sender", sender, str(path))
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert sender in done.stderr
    assert "is not a registered sender" in done.stderr or "is not valid" in done.stderr
    assert "Traceback" not in done.stderr
    assert sorted(p.name for p in (home / "outbox").iterdir()) == ["66667777"]
    assert not (tmp_path / "elsewhere").exists() and not (home.parent / "elsewhere").exists()
    assert "a.xml" not in zvk(home, "deliveries", "list").stdout


def test_ingest_checks_every_file_before_it_processes_one(home: Path, tmp_path: Path) -> None:
    """A file in the middle whose sender cannot be told stops the command before the first
    file is processed, not after it: exit status 2 names the file, and nothing is committed."""
    first = FileBuilder(file_number=1)
    first.anmeldung(1)
    stranger = FileBuilder(file_number=1, sender="76641777")  # valid, not registered
    stranger.anmeldung(2)
    last = FileBuilder(file_number=2)
    last.anmeldung(3)
    empty = tmp_path / "leer.xml"
    empty.write_bytes(b"")
    paths = [
        first.write(tmp_path / "eins.xml"),
        empty,
        stranger.write(tmp_path / "fremd.xml"),
        last.write(tmp_path / "zwei.xml"),
    ]
    done = zvk(home, "ingest", *map(str, paths))
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "leer.xml: the Absender cannot be read" in done.stderr
    assert "fremd.xml: the Absender 76641777 is not a registered sender" in done.stderr
    assert "eins.xml" not in done.stderr and "zwei.xml" not in done.stderr
    assert done.stdout == ""
    listed = zvk(home, "deliveries", "list").stdout
    assert not any(name in listed for name in ("eins.xml", "leer.xml", "zwei.xml"))
    # without the two, the others go through as usual
    done = zvk(home, "ingest", str(paths[0]), str(paths[3]))
    assert done.returncode == 0, (done.stdout, done.stderr)
    assert [line.split("\t")[0] for line in done.stdout.splitlines()] == ["eins.xml", "zwei.xml"]


def test_a_reader_that_stops_early_ends_the_command_quietly(tmp_path: Path) -> None:
    """`zvk rules list | head -1`: the closed pipe is no mistake of the user's: no `zvk:` line
    and not the usage status 2 (click's own status 1 for a broken pipe)."""
    zvk = f"{sys.executable} -m ingest --home {tmp_path / 'home'}"
    done = subprocess.run(
        ["bash", "-c", f"set -o pipefail; {zvk} rules list | head -1"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.stdout.startswith("code"), done.stdout
    assert done.stderr == ""
    assert done.returncode in (0, 1)
