"""SFTP as the data centers use it: the OpenSSH `sftp` client in batch mode against `zvk serve`."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import free_port, give_host_keys, wait_for
from lxml import etree
from sqlalchemy import select

from ingest.home import initialise, sender_folders
from ingest.samples.builder import FileBuilder
from ingest.settings import load_settings
from ingest.storing.credentials import OutboxAcknowledgement, PublicKey, add_key, set_password
from ingest.storing.db import make_engine, session_factory
from ingest.storing.models import Delivery
from ingest.storing.registry import Grant, add_member, add_sender

pytestmark = pytest.mark.e2e
ZVK = [sys.executable, "-m", "ingest"]
NS = {"p": "urn:zvk-ingest:protokoll:1"}
SENDER = "66667777"
OTHER = "15000002"
OTHER_PASSWORD = "richtig-langes-passwort"


def zvk(home: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*ZVK, "--home", str(home), *args],
        capture_output=True,
        text=True,
        input=stdin,
        timeout=120,
        check=False,
    )


def keygen(path: Path) -> Path:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", path.name, "-f", str(path)],
        check=True,
        timeout=30,
    )
    return path


@dataclass
class Keys:
    sender: Path
    other: Path
    stranger: Path


@pytest.fixture
def keys(tmp_path: Path) -> Keys:
    folder = tmp_path / "keys"
    folder.mkdir()
    return Keys(
        sender=keygen(folder / "sender"),
        other=keygen(folder / "other"),
        stranger=keygen(folder / "stranger"),
    )


@pytest.fixture
def home(tmp_path: Path, database_url: str | None, keys: Keys, host_keys: Path) -> Path:
    """A home with two senders: SENDER logs in with its key, OTHER with a key or a password.

    Built in-process (the CLI that does the same is tested in test_sftp_units.py): five `zvk`
    start-ups per test would cost more than the tests themselves.
    """
    home = tmp_path / "home"
    home.mkdir()
    if database_url:
        (home / "zvk.toml").write_text(f'[db]\nurl = "{database_url}"\n')
    settings = load_settings(home)
    give_host_keys(host_keys, settings.keys)
    initialise(settings)
    with session_factory(make_engine(settings)).begin() as session:
        add_member(session, "100001", "Stadt", ["001"])
        add_sender(session, SENDER, "RZ", "rechenzentrum", [Grant("100001", None)])
        add_sender(session, OTHER, "RZ Süd", "rechenzentrum", [])
        for number, key in ((SENDER, keys.sender), (OTHER, keys.other)):
            add_key(session, number, PublicKey.parse(Path(f"{key}.pub").read_text()))
        set_password(session, OTHER, OTHER_PASSWORD)
    for number in (SENDER, OTHER):
        sender_folders(settings, number)
    return home


def wait_for_ssh(port: int, process: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, "zvk serve ended"
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as conn:
                if conn.recv(4) == b"SSH-":
                    return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"no SSH server on port {port} after {timeout}s")


@dataclass
class Server:
    home: Path
    port: int
    process: subprocess.Popen[bytes]

    def sftp(
        self, key: Path, commands: str, *, user: str = SENDER, cwd: Path | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run one batch of the real OpenSSH client; a failing command ends it with status 1."""
        return subprocess.run(
            ["sftp", "-b", "-", *ssh_options(key), "-P", str(self.port), f"{user}@127.0.0.1"],
            input=commands,
            capture_output=True,
            text=True,
            cwd=cwd or self.home.parent,
            timeout=60,
            check=False,
        )

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                return self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        return self.process.returncode


def ssh_options(key: Path) -> list[str]:
    """Batch mode, no known-hosts bookkeeping, only the key named."""
    return [
        "-o",
        "StrictHostKeyChecking=no",
        "-o",
        "UserKnownHostsFile=/dev/null",
        "-o",
        "IdentitiesOnly=yes",
        "-o",
        "LogLevel=ERROR",
        "-i",
        str(key),
    ]


StartServer = Callable[..., Server]


@pytest.fixture
def start_server(home: Path) -> Iterator[StartServer]:
    """Start `zvk serve` with SFTP on a free port; keyword arguments become ZVK_SFTP__* settings."""
    started: list[Server] = []

    def start(**sftp: str) -> Server:
        port = free_port()
        env = {**os.environ, "ZVK_SFTP__ENABLED": "true", "ZVK_SFTP__PORT": str(port)}
        env.update({f"ZVK_SFTP__{k.upper()}": v for k, v in sftp.items()})
        env["ZVK_INTAKE__RESCAN_SECONDS"] = "1"
        log = (home / "serve.log").open("ab")
        process = subprocess.Popen(
            [*ZVK, "--home", str(home), "serve"], stdout=log, stderr=subprocess.STDOUT, env=env
        )
        log.close()
        server = Server(home=home, port=port, process=process)
        started.append(server)
        wait_for_ssh(port, process)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def server(start_server: StartServer) -> Server:
    return start_server()


def good_file(folder: Path, name: str = "monat.xml", persons: int = 1) -> Path:
    builder = FileBuilder()
    for n in range(1, persons + 1):
        builder.anmeldung(n)
    return builder.write(folder / name)


def protocol_fields(path: Path) -> dict[str, str]:
    tree = etree.parse(str(path))
    fields = ("Ergebnis", "Test", "Dateiname")
    found = {name: tree.findtext(f"p:{name}", namespaces=NS) or "" for name in fields}
    found["codes"] = " ".join(tree.xpath("//p:Befund/@Code", namespaces=NS))
    return found


def ledger(home: Path) -> list[Delivery]:
    settings = load_settings(home)
    with session_factory(make_engine(settings))() as session:
        return list(session.scalars(select(Delivery).order_by(Delivery.id)))


def acknowledgements(home: Path) -> list[OutboxAcknowledgement]:
    settings = load_settings(home)
    with session_factory(make_engine(settings))() as session:
        return list(session.scalars(select(OutboxAcknowledgement)))


def staged_files(home: Path) -> list[Path]:
    return [p for p in (home / "spool" / "sftp").rglob("*") if p.is_file()]


# -- deliveries ------------------------------------------------------------------------------
def test_upload_is_answered_and_protocol_fetched(
    server: Server, keys: Keys, tmp_path: Path
) -> None:
    """A file put into /inbox is processed and its protocol can be fetched from /outbox."""
    good_file(tmp_path)
    done = server.sftp(keys.sender, "put monat.xml /inbox/monat.xml\n", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    protocol = wait_for("monat.*.protokoll.xml", server.home / "outbox" / SENDER)
    fetched = tmp_path / "fetched.xml"
    done = server.sftp(keys.sender, f"get /outbox/{protocol.name} {fetched}\n", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert fetched.read_bytes() == protocol.read_bytes()
    assert protocol_fields(fetched)["Ergebnis"] == "fehlerfrei"
    assert [(d.channel, d.filename) for d in ledger(server.home)] == [("sftp", "monat.xml")]


def test_upload_into_test_is_a_test_delivery(server: Server, keys: Keys, tmp_path: Path) -> None:
    """A file put into /test is checked and answered with Test true; nothing is committed."""
    good_file(tmp_path, "probe.xml")
    done = server.sftp(keys.sender, "put probe.xml /test/probe.xml\n", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    protocol = wait_for("probe.*.protokoll.xml", server.home / "outbox" / SENDER)
    assert protocol_fields(protocol)["Ergebnis"] == "fehlerfrei"
    assert protocol_fields(protocol)["Test"] == "true"
    assert [d.test for d in ledger(server.home)] == [True]


def test_deleting_a_protocol_acknowledges_it(server: Server, keys: Keys, tmp_path: Path) -> None:
    """Deleting the protocol from /outbox removes it and records the acknowledgement."""
    good_file(tmp_path)
    server.sftp(keys.sender, "put monat.xml /inbox/monat.xml\n", cwd=tmp_path)
    protocol = wait_for("monat.*.protokoll.xml", server.home / "outbox" / SENDER)
    done = server.sftp(keys.sender, f"rm /outbox/{protocol.name}\n")
    assert done.returncode == 0, done.stderr
    assert not protocol.exists()
    deadline = time.monotonic() + 15
    while not acknowledgements(server.home) and time.monotonic() < deadline:
        time.sleep(0.1)
    [ack] = acknowledgements(server.home)
    assert (ack.sender_number, ack.filename) == (SENDER, protocol.name)
    assert [d.state for d in ledger(server.home)] == ["acknowledged"]


def test_filepart_upload_completes_on_rename(server: Server, keys: Keys, tmp_path: Path) -> None:
    """Uploading to a `.filepart` name and renaming it at the end (WinSCP) delivers the file."""
    good_file(tmp_path)
    commands = (
        "put monat.xml /inbox/monat.xml.filepart\nrename /inbox/monat.xml.filepart monat.xml\n"
    )
    done = server.sftp(keys.sender, "cd /inbox\n" + commands, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    protocol = wait_for("monat.*.protokoll.xml", server.home / "outbox" / SENDER)
    assert protocol_fields(protocol)["Dateiname"] == "monat.xml"
    assert protocol_fields(protocol)["Ergebnis"] == "fehlerfrei"


def test_killed_upload_is_refused_and_keeps_no_bytes(
    start_server: StartServer, keys: Keys, tmp_path: Path
) -> None:
    """An upload whose client is killed halfway gets a ZVDA006 protocol and its ledger row;
    nothing of its bytes is kept."""
    server = start_server()
    (tmp_path / "gross.xml").write_bytes(b"<x>" + b"0" * 8_000_000)
    slow = ["sftp", "-l", "4000", "-b", "-", *ssh_options(keys.sender), "-P", str(server.port)]
    client = subprocess.Popen(
        [*slow, f"{SENDER}@127.0.0.1"],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=tmp_path,
        start_new_session=True,  # its own process group: the kill takes `ssh` along
    )
    assert client.stdin is not None
    client.stdin.write(b"put gross.xml /inbox/gross.xml\n")
    client.stdin.flush()
    deadline = time.monotonic() + 30
    while not any(p.stat().st_size >= 1_000_000 for p in staged_files(server.home)):
        assert time.monotonic() < deadline, "the upload never started"
        time.sleep(0.05)
    os.killpg(client.pid, signal.SIGKILL)
    client.wait(timeout=10)
    protocol = wait_for("gross.*.protokoll.xml", server.home / "outbox" / SENDER)
    assert protocol_fields(protocol)["codes"] == "ZVDA006"
    assert protocol_fields(protocol)["Ergebnis"] == "abgewiesen"
    [row] = ledger(server.home)
    assert row.delivery_id in protocol.name
    assert (row.result, row.archive_path) == ("abgewiesen", "")
    assert staged_files(server.home) == []


# -- confinement -----------------------------------------------------------------------------
def assert_refused(done: subprocess.CompletedProcess[str]) -> None:
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert any(
        word in done.stderr
        for word in ("Permission denied", "No such file", "not found", "Couldn't", "Failure")
    ), done.stderr


def test_inbox_cannot_be_read(server: Server, keys: Keys, tmp_path: Path) -> None:
    """A sender cannot read back a file from /inbox or /test, whether delivered or not."""
    good_file(tmp_path)
    done = server.sftp(keys.sender, "put monat.xml /inbox/monat.xml\n", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    for path in ("/inbox/monat.xml", "/test/monat.xml", "/inbox/../inbox/monat.xml"):
        assert_refused(server.sftp(keys.sender, f"get {path} zurueck.xml\n", cwd=tmp_path))
    assert not (tmp_path / "zurueck.xml").exists()


def test_cd_above_the_root_is_refused(server: Server, keys: Keys) -> None:
    """`cd ..` above the sender's root, absolute paths and `..` chains cannot leave the tree."""
    for commands in (
        "cd ..\n",
        "cd /inbox\ncd ../..\n",
        "cd /etc\n",
        "ls /..\n",
        "get /etc/passwd\n",
    ):
        assert_refused(server.sftp(keys.sender, commands))
    done = server.sftp(keys.sender, "cd /inbox\ncd ..\npwd\n")
    assert done.returncode == 0, done.stderr
    assert "Remote working directory: /" in done.stdout


def test_other_senders_outbox_cannot_be_read(server: Server, keys: Keys, tmp_path: Path) -> None:
    """Another sender's protocols are out of reach, by whatever path."""
    secret = server.home / "outbox" / OTHER / "fremd.20260101-000000-ABCDEF.protokoll.xml"
    secret.write_text("<geheim/>")
    name = secret.name
    for path in (
        f"/outbox/{OTHER}/{name}",
        f"/outbox/../../outbox/{OTHER}/{name}",
        f"../{OTHER}/{name}",
        f"/{OTHER}/{name}",
    ):
        assert_refused(server.sftp(keys.sender, f"get {path} fremd.xml\n", cwd=tmp_path))
    assert_refused(server.sftp(keys.sender, f"ls /outbox/{OTHER}\n"))
    assert not (tmp_path / "fremd.xml").exists()
    listing = server.sftp(keys.sender, "ls /outbox\n")
    assert name not in listing.stdout


def test_symlinks_cannot_be_created(server: Server, keys: Keys, tmp_path: Path) -> None:
    """Creating a symlink anywhere in the tree is refused, and nothing appears on disk."""
    good_file(tmp_path)
    for commands in ("ln -s /outbox /inbox/link\n", "ln -s /etc/passwd /outbox/passwd\n"):
        assert_refused(server.sftp(keys.sender, commands, cwd=tmp_path))
    links = [p for p in server.home.rglob("*") if p.is_symlink()]
    assert links == []


def test_planted_symlink_in_outbox_is_not_followed(
    server: Server, keys: Keys, tmp_path: Path
) -> None:
    """A symlink that got into an outbox on disk is neither listed nor read."""
    (server.home / "outbox" / SENDER / "link.protokoll.xml").symlink_to("/etc/passwd")
    assert_refused(server.sftp(keys.sender, "get /outbox/link.protokoll.xml\n", cwd=tmp_path))
    assert "link.protokoll.xml" not in server.sftp(keys.sender, "ls /outbox\n").stdout


def test_uploads_elsewhere_are_refused(server: Server, keys: Keys, tmp_path: Path) -> None:
    """Files can only be put into /inbox and /test, and no folder can be made."""
    good_file(tmp_path)
    for commands in ("put monat.xml /outbox/x.xml\n", "put monat.xml /x.xml\n", "mkdir /inbox/d\n"):
        assert_refused(server.sftp(keys.sender, commands, cwd=tmp_path))
    assert ledger(server.home) == []


# -- logins ----------------------------------------------------------------------------------
def test_wrong_key_is_refused(server: Server, keys: Keys) -> None:
    """A key that is not registered for the account does not log in, nor does another's key."""
    for key, user in ((keys.stranger, SENDER), (keys.other, SENDER), (keys.sender, "99999999")):
        done = server.sftp(key, "ls /\n", user=user)
        assert done.returncode == 255, done.stderr
        assert "Permission denied" in done.stderr


def test_removed_key_is_refused(server: Server, keys: Keys) -> None:
    """After `zvk senders remove-key` the key no longer logs in."""
    assert server.sftp(keys.sender, "ls /\n").returncode == 0
    fingerprint = subprocess.run(
        ["ssh-keygen", "-lf", f"{keys.sender}.pub"], capture_output=True, text=True, check=True
    ).stdout.split()[1]
    done = zvk(server.home, "senders", "remove-key", SENDER, fingerprint)
    assert done.returncode == 0, done.stderr
    assert server.sftp(keys.sender, "ls /\n").returncode == 255


def test_no_shell_exec_or_forwarding(server: Server, keys: Keys) -> None:
    """A shell, a command or a port forwarding is refused even with a valid key."""
    ssh = ["ssh", *ssh_options(keys.sender), "-p", str(server.port), "-o", "BatchMode=yes"]
    target = f"{SENDER}@127.0.0.1"
    for command in (
        [*ssh, "-tt", target],
        [*ssh, target, "echo", "hallo"],
        [*ssh, "-W", "127.0.0.1:22", target],
        [*ssh, "-N", "-o", "ExitOnForwardFailure=yes", "-R", "0:127.0.0.1:22", target],
    ):
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
            stdin=subprocess.DEVNULL,
        )
        assert done.returncode != 0, command
        assert "hallo" not in done.stdout
