"""The parts of the SFTP server one by one: path confinement, bans, staging, credentials, CLI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import SENDER
from sqlalchemy import select, text

from ingest.errors import UsageError
from ingest.receiving.sftp_auth import LoginGuard, Seats, loggable
from ingest.receiving.sftp_fs import resolve
from ingest.receiving.sftp_uploads import Completed, Refused, Uploads
from ingest.settings import Settings
from ingest.settings_sftp import SftpSettings
from ingest.storing.credentials import (
    PublicKey,
    SenderPassword,
    add_key,
    key_allowed,
    password_matches,
    record_acknowledgement,
    remove_key,
    set_password,
)
from ingest.storing.db import make_engine, session_factory
from ingest.storing.models import Delivery

ZVK = [sys.executable, "-m", "ingest"]


def keygen(path: Path) -> Path:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True, timeout=30
    )
    return Path(f"{path}.pub")


def ssh_fingerprint(public_key: Path) -> str:
    out = subprocess.run(
        ["ssh-keygen", "-lf", str(public_key)], capture_output=True, text=True, check=True
    ).stdout
    return out.split()[1]


# -- paths -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("path", "parts"),
    [
        ("/", ()),
        (".", ()),
        ("inbox", ("inbox",)),
        ("/inbox/./a.xml", ("inbox", "a.xml")),
        ("//outbox//p.xml", ("outbox", "p.xml")),
        ("/inbox/../outbox/p.xml", ("outbox", "p.xml")),
    ],
)
def test_paths_inside_the_tree_resolve(path: str, parts: tuple[str, ...]) -> None:
    """Paths that stay inside the sender's tree resolve to their parts."""
    assert resolve(path) == parts


@pytest.mark.parametrize(
    "path", ["..", "/..", "/inbox/../..", "../../etc/passwd", "/outbox/../../15000002", "a\0b"]
)
def test_paths_leaving_the_tree_are_refused(path: str) -> None:
    """Any path that climbs above the sender's root resolves to nothing."""
    assert resolve(path) is None


# -- logins ----------------------------------------------------------------------------------
class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def guard(clock: Clock, **settings: float) -> LoginGuard:
    defaults = {"max_failed_logins": 3, "ban_seconds": 10.0, "max_ban_seconds": 35.0}
    return LoginGuard(SftpSettings(**{**defaults, **settings}), clock=clock)


def test_ban_after_too_many_failures() -> None:
    """The failure that reaches the limit bans its subject, and only that subject."""
    clock = Clock()
    g = guard(clock)
    g.failed("address:a", "account:1")
    g.failed("address:a", "account:2")
    assert g.banned_for("address:a") == 0
    g.failed("address:a", "account:3")
    assert g.banned_for("address:a") == 10
    assert g.banned_for("account:1", "account:2", "account:3", "address:b") == 0


def test_ban_doubles_and_is_capped() -> None:
    """Each further ban of a subject lasts twice as long as the last, up to max_ban_seconds."""
    clock = Clock()
    g = guard(clock)
    lengths = []
    for _ in range(4):
        for _ in range(3):
            g.failed("address:a")
        lengths.append(g.banned_for("address:a"))
        clock.now += 100
    assert lengths == [10, 20, 35, 35]


def test_old_failures_are_forgotten() -> None:
    """Failures older than the window do not count towards a ban."""
    clock = Clock()
    g = guard(clock, failure_window_seconds=60)
    g.failed("account:1")
    g.failed("account:1")
    clock.now += 61
    g.failed("account:1")
    assert g.banned_for("account:1") == 0


def test_seats_are_limited_per_sender() -> None:
    """A sender gets at most `limit` seats; a seat given back can be taken again."""
    seats = Seats(limit=2)
    assert seats.take("1", 1) and seats.take("1", 2) and seats.take("1", 2)
    assert not seats.take("1", 3)
    assert seats.take("2", 3)
    seats.give_back("1", 1)
    assert seats.take("1", 3)


def test_login_names_that_could_be_secrets_are_not_logged() -> None:
    """Only names shaped like a Betriebsnummer reach the log."""
    assert loggable("66667777") == "66667777"
    assert loggable("Geheim123!") == "<unbekannt>"


# -- staging ---------------------------------------------------------------------------------
def test_busy_name_refuses_a_second_upload(settings: Settings) -> None:
    """A name stays busy from the start of an upload until the pipeline has taken the file."""
    uploads = Uploads(settings)
    first = uploads.begin(SENDER, False, "a.xml")
    assert first is not None
    assert uploads.begin(SENDER, False, "a.xml") is None
    assert uploads.begin(SENDER, True, "a.xml") is not None
    first.path.write_bytes(b"<x/>")
    uploads.complete(first)
    assert uploads.begin(SENDER, False, "a.xml") is None
    work = uploads.work.get_nowait()
    assert isinstance(work, Completed)
    work.staged.path.unlink()  # what the intake's claim does
    uploads.finished(work.staged)
    assert uploads.begin(SENDER, False, "a.xml") is not None


def test_name_unanswered_in_the_ledger_is_busy(settings: Settings) -> None:
    """A name whose delivery waits for its protocol cannot be uploaded again."""
    uploads = Uploads(settings, pending=lambda sender, test, name: name == "alt.xml")
    assert uploads.begin(SENDER, False, "alt.xml") is None
    assert uploads.begin(SENDER, False, "neu.xml") is not None


def test_recovery_after_a_crash(settings: Settings) -> None:
    """At start-up complete uploads are queued again and broken-off ones refused ZVDA006."""
    uploads = Uploads(settings)
    done = uploads.begin(SENDER, False, "fertig.xml")
    broken = uploads.begin(SENDER, False, "halb.xml")
    assert done is not None and broken is not None
    done.path.write_bytes(b"<x/>")
    broken.path.write_bytes(b"<x")
    uploads.complete(done)
    restarted = Uploads(settings)
    restarted.recover()
    queued = [restarted.work.get_nowait(), restarted.work.get_nowait()]
    assert restarted.work.empty()
    [work] = [w for w in queued if isinstance(w, Completed)]
    assert work.staged.name == "fertig.xml"
    [refused] = [w for w in queued if isinstance(w, Refused)]
    assert (refused.upload.filename, refused.upload.code) == ("halb.xml", "ZVDA006")
    assert not broken.folder.exists()


def test_temporary_names_wait_for_a_rename(settings: Settings) -> None:
    """Names like WinSCP's `.filepart` are temporary: their CLOSE does not complete them."""
    uploads = Uploads(settings)
    assert uploads.is_temporary("monat.xml.filepart")
    assert uploads.is_temporary("monat.XML.PART")
    assert not uploads.is_temporary("monat.xml")


# -- credentials -----------------------------------------------------------------------------
def test_fingerprint_is_the_one_ssh_keygen_shows(tmp_path: Path) -> None:
    """The stored fingerprint is exactly what `ssh-keygen -l` prints for the key."""
    public = keygen(tmp_path / "k")
    assert PublicKey.parse(public.read_text()).fingerprint == ssh_fingerprint(public)


@pytest.mark.parametrize(
    "line",
    [
        "",
        "ssh-ed25519",
        "ssh-dss AAAAB3NzaC1kc3M= x",
        "ssh-ed25519 !!!",
        "ssh-rsa AAAAC3NzaC1lZDI1NTE5",
    ],
)
def test_damaged_public_keys_are_refused(line: str) -> None:
    """A line that is no public key, or a key whose type and data disagree, is refused."""
    with pytest.raises(UsageError):
        PublicKey.parse(line)


def test_keys_added_and_removed(settings: Settings, tmp_path: Path) -> None:
    """A sender may have several keys; a removed key no longer logs in, the others still do."""
    first = PublicKey.parse(keygen(tmp_path / "a").read_text())
    second = PublicKey.parse(keygen(tmp_path / "b").read_text())
    with session_factory(make_engine(settings)).begin() as session:
        assert add_key(session, SENDER, first) and add_key(session, SENDER, second)
        assert not add_key(session, SENDER, first)
        assert remove_key(session, SENDER, first.fingerprint)
        assert not remove_key(session, SENDER, first.fingerprint)
        assert not key_allowed(session, SENDER, first.fingerprint)
        assert key_allowed(session, SENDER, second.fingerprint)
        assert not key_allowed(session, "15000002", second.fingerprint)


def test_password_is_stored_as_argon2_hash(settings: Settings) -> None:
    """Only an argon2 hash of the password is stored, and it verifies the password."""
    with session_factory(make_engine(settings)).begin() as session:
        set_password(session, SENDER, "ein sehr geheimes Wort")
        stored = session.scalar(select(SenderPassword.password_hash))
        assert stored is not None and stored.startswith("$argon2")
        assert "geheimes" not in stored
        assert password_matches(session, SENDER, "ein sehr geheimes Wort")
        assert not password_matches(session, SENDER, "ein sehr geheimes Wor")
        with pytest.raises(UsageError):
            set_password(session, SENDER, "kurz")


def test_deleting_the_xml_protocol_acknowledges_the_delivery(deliver, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    """The acknowledgement of the XML protocol moves the delivery to `acknowledged`."""
    from ingest.samples.builder import FileBuilder

    builder = FileBuilder()
    builder.anmeldung(1)
    verdict = deliver(builder)
    name = f"datei-1.{verdict.delivery_id}.protokoll"
    with session_factory(make_engine(settings)).begin() as session:
        assert record_acknowledgement(session, SENDER, f"{name}.txt") == verdict.delivery_id
        state = session.scalar(select(Delivery.state))
        assert state == "answered"
        record_acknowledgement(session, SENDER, f"{name}.xml")
        assert session.scalar(select(Delivery.state)) == "acknowledged"
        count = session.execute(text("select count(*) from outbox_acknowledgements")).scalar()
        assert count == 2


# -- command line ----------------------------------------------------------------------------
def zvk(home: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*ZVK, "--home", str(home), *args],
        capture_output=True,
        text=True,
        input=stdin,
        timeout=120,
        check=False,
    )


@pytest.fixture
def cli_home(tmp_path: Path, database_url: str | None) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    if database_url:
        (home / "zvk.toml").write_text(f'[db]\nurl = "{database_url}"\n')
    assert zvk(home, "init").returncode == 0
    return home


def test_senders_cli_manages_keys_and_password(cli_home: Path, tmp_path: Path) -> None:
    """`senders add --ssh-key … --password-stdin`, `add-key`, `list` and `remove-key` work."""
    a, b, c = (keygen(tmp_path / n) for n in "abc")
    added = zvk(
        cli_home,
        *("senders", "add", SENDER, "--name", "RZ Nord", "--kind", "rechenzentrum"),
        *("--ssh-key", str(a), "--ssh-key", str(b), "--password-stdin"),
        stdin="ein langes Passwort\n",
    )
    assert added.returncode == 0, added.stderr
    assert "2 new SSH key(s)" in added.stdout
    assert "ein langes Passwort" not in added.stdout + added.stderr
    assert zvk(cli_home, "senders", "add-key", SENDER, str(c)).returncode == 0
    listing = zvk(cli_home, "senders", "list").stdout
    assert "3 SSH-Schlüssel, Passwort gesetzt" in listing
    assert all(ssh_fingerprint(k) in listing for k in (a, b, c))
    removed = zvk(cli_home, "senders", "remove-key", SENDER, ssh_fingerprint(b))
    assert removed.returncode == 0, removed.stderr
    assert ssh_fingerprint(b) not in zvk(cli_home, "senders", "list").stdout
    again = zvk(cli_home, "senders", "remove-key", SENDER, ssh_fingerprint(b))
    assert again.returncode == 2


@pytest.mark.parametrize(
    ("extra", "stdin", "message"),
    [
        (("--password-stdin",), "kurz\n", "at least 12"),
        (("--password-stdin",), "", "no password"),
        (("--ssh-key", "__NOKEY__"), None, "not an OpenSSH public key"),
    ],
)
def test_senders_add_refuses_bad_credentials(
    cli_home: Path, tmp_path: Path, extra: tuple[str, ...], stdin: str | None, message: str
) -> None:
    """A bad key file or password is a usage error (status 2) and registers nothing."""
    bogus = tmp_path / "bogus.pub"
    bogus.write_text("das ist kein Schlüssel\n")
    args = [str(bogus) if a == "__NOKEY__" else a for a in extra]
    done = zvk(
        cli_home,
        *("senders", "add", SENDER, "--name", "RZ", "--kind", "rechenzentrum", *args),
        stdin=stdin,
    )
    assert done.returncode == 2
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    assert SENDER not in zvk(cli_home, "senders", "list").stdout


def test_sftp_fingerprint_matches_the_host_keys(cli_home: Path) -> None:
    """`zvk sftp fingerprint` prints what `ssh-keygen -l` says about the host keys."""
    shown = zvk(cli_home, "sftp", "fingerprint").stdout
    for name in ("ssh_host_ecdsa_key", "ssh_host_rsa_key"):
        public = subprocess.run(
            ["ssh-keygen", "-y", "-f", str(cli_home / "keys" / name)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        expected = subprocess.run(
            ["ssh-keygen", "-lf", "-"], input=public, capture_output=True, text=True, check=True
        ).stdout.split()[1]
        assert expected in shown
