"""Limits of the SFTP server against a real `zvk serve`: size, passwords, bans, sessions, names.

OpenSSH's `sftp` cannot type passwords in batch mode, so paramiko is the client where one is
needed; everything else uses the real OpenSSH client as in test_sftp_e2e.py.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import paramiko
import pytest
from conftest import wait_for
from test_sftp_e2e import (  # the fixtures are shared with the end-to-end tests
    OTHER,
    OTHER_PASSWORD,
    SENDER,
    Keys,
    StartServer,
    home,
    keys,
    ledger,
    protocol_fields,
    staged_files,
    start_server,
)

pytestmark = pytest.mark.e2e
__all__ = ["home", "keys", "start_server"]  # fixtures used by name


@contextmanager
def connected(
    port: int, user: str, *, password: str | None = None, key: Path | None = None
) -> Iterator[paramiko.SFTPClient]:
    """A paramiko SFTP client logged in with exactly the credential given."""
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.AutoAddPolicy())  # noqa: S507  (a test server)
    try:
        client.connect(
            "127.0.0.1",
            port=port,
            username=user,
            password=password,
            key_filename=str(key) if key else None,
            allow_agent=False,
            look_for_keys=False,
            timeout=15,
            banner_timeout=15,
            auth_timeout=15,
        )
        sftp = client.open_sftp()
        yield sftp
        sftp.close()
    finally:
        client.close()


def login_fails(port: int, user: str, **credential: str | Path) -> bool:
    try:
        with connected(port, user, **credential):  # type: ignore[arg-type]
            return False
    except paramiko.AuthenticationException:
        return True


def test_too_large_upload_is_stopped_with_zvda005(
    start_server: StartServer, keys: Keys, tmp_path: Path
) -> None:
    """An upload that grows past sftp.max_file_bytes fails at once and is answered ZVDA005."""
    server = start_server(max_file_bytes="100000")
    (tmp_path / "riesig.xml").write_bytes(b"<x>" + b"0" * 1_000_000)
    done = server.sftp(keys.sender, "put riesig.xml /inbox/riesig.xml\n", cwd=tmp_path)
    assert done.returncode == 1
    protocol = wait_for("riesig.*.protokoll.xml", server.home / "outbox" / SENDER)
    assert protocol_fields(protocol)["codes"] == "ZVDA005"
    assert [d.delivery_id in protocol.name for d in ledger(server.home)] == [True]
    assert staged_files(server.home) == []


def test_password_login(start_server: StartServer) -> None:
    """A sender with a password logs in with it; a wrong one and a keyless sender are refused."""
    server = start_server()
    with connected(server.port, OTHER, password=OTHER_PASSWORD) as sftp:
        assert sorted(sftp.listdir("/")) == ["inbox", "outbox", "test"]
    assert login_fails(server.port, OTHER, password=OTHER_PASSWORD + "x")
    assert login_fails(server.port, SENDER, password=OTHER_PASSWORD)


def test_failed_logins_lead_to_a_ban(start_server: StartServer, keys: Keys) -> None:
    """After too many failures from one address even a correct key is refused until the ban ends."""
    server = start_server(max_failed_logins="3", ban_seconds="3")
    for _ in range(3):
        assert login_fails(server.port, OTHER, password="falsch-falsch-falsch")
    assert server.sftp(keys.sender, "ls /\n").returncode == 255
    time.sleep(3.5)
    done = server.sftp(keys.sender, "ls /\n")
    assert done.returncode == 0, done.stderr
    log = (server.home / "serve.log").read_text()
    assert "sftp login banned" in log
    assert "falsch" not in log


def test_sessions_per_sender_are_capped(start_server: StartServer, keys: Keys) -> None:
    """A sender cannot hold more connections than sftp.max_sessions_per_sender."""
    server = start_server(max_sessions_per_sender="1")
    with connected(server.port, SENDER, key=keys.sender):
        with (
            pytest.raises(paramiko.ChannelException),
            connected(server.port, SENDER, key=keys.sender),
        ):
            pass
        with connected(server.port, OTHER, key=keys.other) as other:
            assert other.listdir("/outbox") == []
    deadline = time.monotonic() + 10  # the server notices the closed connection in a moment
    while True:
        try:
            with connected(server.port, SENDER, key=keys.sender) as sftp:
                assert "inbox" in sftp.listdir("/")
            break
        except paramiko.ChannelException:
            assert time.monotonic() < deadline, "the seat was never given back"
            time.sleep(0.2)


def test_second_upload_to_a_busy_name_is_refused(start_server: StartServer, keys: Keys) -> None:
    """While one upload of a name is open, another upload to that name is refused."""
    server = start_server()
    with connected(server.port, SENDER, key=keys.sender) as first:
        upload = first.open("/inbox/monat.xml", "wb")
        upload.write(b"<Meldedatei")
        with connected(server.port, SENDER, key=keys.sender) as second:
            with pytest.raises(OSError):
                second.open("/inbox/monat.xml", "wb")
            second.open("/test/monat.xml", "wb").close()  # the test folder is another name
        upload.close()
    wait_for("monat.*.protokoll.xml", server.home / "outbox" / SENDER)


def test_upload_is_never_readable(start_server: StartServer, keys: Keys) -> None:
    """The inbox lists an upload while it is in progress and for a while after CLOSE; it can
    never be opened to read."""
    server = start_server()
    with connected(server.port, SENDER, key=keys.sender) as sftp:
        upload = sftp.open("/inbox/a.xml", "wb")
        upload.write(b"<x/>")
        upload.flush()
        assert sftp.listdir("/inbox") == ["a.xml"]
        with pytest.raises(OSError):
            sftp.open("/inbox/a.xml", "rb").read()
        upload.close()
        assert sftp.listdir("/inbox") == ["a.xml"]
        with pytest.raises(OSError):
            sftp.open("/inbox/a.xml", "rb").read()
