"""One sender must never stop, exhaust or lock out the SFTP service for the others.

Each test runs a real `zvk serve` and attacks it over loopback with paramiko, raw sockets or the
OpenSSH client, then checks that the attack is bounded and that other senders are still served.
"""

from __future__ import annotations

import contextlib
import errno
import os
import resource
import socket
import struct
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import paramiko
import pytest
from conftest import free_port, wait_for
from test_sftp_e2e import (  # the fixtures are shared with the end-to-end tests
    OTHER,
    OTHER_PASSWORD,
    SENDER,
    ZVK,
    Keys,
    Server,
    StartServer,
    good_file,
    home,
    keys,
    ssh_options,
    start_server,
    wait_for_ssh,
)
from test_sftp_limits import connected

from ingest.receiving.sftp import accept_connections

pytestmark = pytest.mark.e2e
__all__ = ["home", "keys", "start_server"]  # fixtures used by name


# -- algorithms ------------------------------------------------------------------------------
def server_kexinit(port: int) -> dict[str, list[str]]:
    """The algorithm lists of the server's first KEXINIT, read off the wire (it is unencrypted)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        stream = conn.makefile("rb")
        assert stream.readline().startswith(b"SSH-2.0-")
        conn.sendall(b"SSH-2.0-probe\r\n")
        length, padding = struct.unpack(">IB", stream.read(5))
        payload = stream.read(length - 1)[: length - 1 - padding]
    assert payload[0] == 20  # SSH_MSG_KEXINIT
    at, lists = 17, []
    for _ in range(10):
        (size,) = struct.unpack(">I", payload[at : at + 4])
        lists.append(payload[at + 4 : at + 4 + size].decode().split(","))
        at += 4 + size
    names = ("kex", "host_keys", "ciphers", "ciphers_back", "macs", "macs_back")
    return dict(zip(names, lists, strict=False))


CURRENT_MACS = {
    "hmac-sha2-256-etm@openssh.com",
    "hmac-sha2-512-etm@openssh.com",
    "hmac-sha2-256",
    "hmac-sha2-512",
}
CURRENT_KEX = {
    "mlkem768x25519-sha256",
    "curve25519-sha256",
    "curve25519-sha256@libssh.org",
    "ecdh-sha2-nistp256",
    "ecdh-sha2-nistp384",
    "ecdh-sha2-nistp521",
    "diffie-hellman-group16-sha512",
    "diffie-hellman-group18-sha512",
    "diffie-hellman-group-exchange-sha256",
    "diffie-hellman-group14-sha256",
}
KEX_MARKERS = {"ext-info-s", "kex-strict-s-v00@openssh.com"}
CURRENT_HOST_KEYS = {"ecdsa-sha2-nistp256", "rsa-sha2-512", "rsa-sha2-256", "ssh-ed25519"}
CURRENT_CIPHERS = {
    "aes128-gcm@openssh.com",
    "aes256-gcm@openssh.com",
    "aes128-ctr",
    "aes192-ctr",
    "aes256-ctr",
}


def test_only_current_algorithms_are_offered(start_server: StartServer, keys: Keys) -> None:
    """No SHA-1 or MD5 MAC, no SHA-1 key exchange or host key signature, no CBC cipher."""
    server = start_server()
    offered = server_kexinit(server.port)
    for direction in ("macs", "macs_back"):
        assert set(offered[direction]) <= CURRENT_MACS, offered[direction]
    assert set(offered["kex"]) - KEX_MARKERS <= CURRENT_KEX, offered["kex"]
    assert set(offered["host_keys"]) <= CURRENT_HOST_KEYS, offered["host_keys"]
    for direction in ("ciphers", "ciphers_back"):
        assert set(offered[direction]) <= CURRENT_CIPHERS, offered[direction]
    # The real OpenSSH client still connects with its defaults; a client that insists on a weak
    # MAC, key exchange or host key signature does not.
    assert server.sftp(keys.sender, "ls /\n").returncode == 0
    for option in (
        "MACs=hmac-sha1,hmac-md5,hmac-sha1-96,hmac-md5-96",
        "KexAlgorithms=diffie-hellman-group14-sha1,diffie-hellman-group1-sha1",
        "HostKeyAlgorithms=ssh-rsa",
        "Ciphers=aes128-cbc,3des-cbc",
    ):
        client = ["sftp", "-b", "-", "-o", option, *ssh_options(keys.sender)]
        done = subprocess.run(
            [*client, "-P", str(server.port), f"{SENDER}@127.0.0.1"],
            input="ls /\n",
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 255, (option, done.stderr)


def test_a_weak_configured_cipher_stops_the_start(home: Path) -> None:
    """`sftp.ciphers` naming a cipher outside the current ones is a configuration mistake."""
    port = str(free_port())  # never bound: the settings refuse the cipher first
    env = {**os.environ, "ZVK_SFTP__CIPHERS": '["aes128-ctr","3des-cbc"]', "ZVK_SFTP__PORT": port}
    try:
        done = subprocess.run(
            [*ZVK, "--home", str(home), "serve"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
            env=env,
        )
    except subprocess.TimeoutExpired:
        pytest.fail("zvk serve started with a weak cipher")
    assert done.returncode == 2, done.stderr
    assert "3des-cbc" in done.stderr
    assert "Traceback" not in done.stderr


# -- logins ----------------------------------------------------------------------------------
def transport_from(port: int, source: str) -> paramiko.Transport:
    """An SSH transport to the server from the loopback address ``source`` (127.x.y.z)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=15, source_address=(source, 0))
    transport = paramiko.Transport(sock)
    transport.start_client(timeout=15)
    return transport


def logs_in(
    port: int, user: str, *, source: str, password: str | None = None, key: Path | None = None
) -> bool:
    """Does the login with exactly this credential from ``source`` succeed?"""
    try:
        transport = transport_from(port, source)
    except (paramiko.SSHException, EOFError, OSError):
        return False  # a banned address is closed before SSH starts
    try:
        if password is not None:
            transport.auth_password(user, password)
        else:
            assert key is not None
            transport.auth_publickey(user, paramiko.Ed25519Key.from_private_key_file(str(key)))
        return transport.is_authenticated()
    except paramiko.AuthenticationException:
        return False
    finally:
        transport.close()


def test_strangers_cannot_lock_out_a_key_only_sender(start_server: StartServer, keys: Keys) -> None:
    """Wrong passwords for an account without a password, from ten addresses, ban nobody but
    those addresses; the sender's key still works from its own and from any other address."""
    server = start_server(max_failed_logins="3")
    for n in range(2, 12):
        assert not logs_in(server.port, SENDER, source=f"127.0.0.{n}", password="falsch-falsch")
    assert logs_in(server.port, SENDER, source="127.0.0.20", key=keys.sender)
    done = server.sftp(keys.sender, "ls /\n")  # the real client, from 127.0.0.1
    assert done.returncode == 0, done.stderr


def test_account_ban_spares_keys_and_known_addresses(start_server: StartServer, keys: Keys) -> None:
    """Guessing a password-holding account's password from strangers' addresses bans the account
    for passwords from new addresses only; its key and its known addresses still get in; and
    an address ban is the guessing address's alone."""
    server = start_server(max_failed_logins="3")
    with connected(server.port, OTHER, password=OTHER_PASSWORD) as sftp:  # 127.0.0.1 is known
        assert "inbox" in sftp.listdir("/")
    for n in range(2, 5):
        assert not logs_in(server.port, OTHER, source=f"127.0.0.{n}", password="falsch-falsch")
    assert not logs_in(server.port, OTHER, source="127.0.0.30", password=OTHER_PASSWORD)
    assert logs_in(server.port, OTHER, source="127.0.0.1", password=OTHER_PASSWORD)
    assert logs_in(server.port, OTHER, source="127.0.0.31", key=keys.other)
    for _ in range(3):
        assert not logs_in(server.port, SENDER, source="127.0.0.40", key=keys.stranger)
        assert not logs_in(server.port, SENDER, source="127.0.0.41", password="falsch-falsch")
    assert not logs_in(server.port, SENDER, source="127.0.0.40", key=keys.sender)
    assert not logs_in(server.port, SENDER, source="127.0.0.41", key=keys.sender)
    assert logs_in(server.port, SENDER, source="127.0.0.42", key=keys.sender)


def wrong_passwords_at_once(port: int, user: str, sources: list[str]) -> list[float]:
    """One wrong password per source, all sent at the same moment (connections made first);
    the seconds each took to be refused."""
    transports = [transport_from(port, source) for source in sources]
    start = threading.Barrier(len(transports))

    def guess(transport: paramiko.Transport) -> float:
        start.wait()
        began = time.monotonic()
        with pytest.raises(paramiko.AuthenticationException):
            transport.auth_password(user, "falsch-falsch-falsch")
        return time.monotonic() - began

    try:
        with ThreadPoolExecutor(len(transports)) as pool:
            return list(pool.map(guess, transports))
    finally:
        for transport in transports:
            transport.close()


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


def test_simultaneous_password_checks_are_bounded(start_server: StartServer, keys: Keys) -> None:
    """Sixteen simultaneous wrong passwords from sixteen addresses hash at most
    `max_password_checks` at a time: the memory stays near one check's worth."""
    server = start_server()
    assert server.sftp(keys.sender, "ls /\n").returncode == 0  # everything loaded
    before = peak_rss_mib(server.process.pid)
    wrong_passwords_at_once(server.port, OTHER, [f"127.0.1.{n}" for n in range(1, 17)])
    grown = peak_rss_mib(server.process.pid) - before
    assert grown < 300, f"peak RSS grew by {grown:.0f} MiB"
    assert server.sftp(keys.sender, "ls /\n").returncode == 0


def test_a_burst_of_passwords_is_counted_before_hashing(start_server: StartServer) -> None:
    """Eight simultaneous wrong passwords from one address: no more are hashed than
    `max_failed_logins`, the rest are refused unchecked."""
    server = start_server(max_failed_logins="3")
    wrong_passwords_at_once(server.port, OTHER, ["127.0.2.1"] * 8)
    lines = (server.home / "serve.log").read_text().splitlines()
    checked = [x for x in lines if "sftp login failed" in x and '"127.0.2.1"' in x]
    assert len(checked) <= 3, f"{len(checked)} of the burst were hashed"


def test_wrong_passwords_take_the_same_time(start_server: StartServer) -> None:
    """A wrong password is refused after the same time whether the account has a password,
    has none, or does not exist: the time does not tell them apart."""
    server = start_server(max_failed_logins="1000")
    times: dict[str, list[float]] = {OTHER: [], SENDER: [], "99999999": [], "kein-name": []}
    for n in range(7):
        for user, took in times.items():
            took.extend(wrong_passwords_at_once(server.port, user, [f"127.0.3.{n + 1}"]))
    # The fastest of each: what else the machine does only ever adds to a time.
    fastest = {user: min(took) for user, took in times.items()}
    for user in (SENDER, "99999999", "kein-name"):
        assert 0.6 < fastest[user] / fastest[OTHER] < 1.6, times


# -- descriptors, handles, channels ----------------------------------------------------------
@pytest.fixture
def start_limited(home: Path) -> Iterator[Callable[..., Server]]:
    """`zvk serve` as `start_server` starts it, under a descriptor limit of (soft, hard)."""
    started: list[Server] = []

    def start(nofile: tuple[int, int], **sftp: str) -> Server:
        port = free_port()
        env = {**os.environ, "ZVK_SFTP__ENABLED": "true", "ZVK_SFTP__PORT": str(port)}
        env.update({f"ZVK_SFTP__{k.upper()}": v for k, v in sftp.items()})
        env["ZVK_INTAKE__RESCAN_SECONDS"] = "1"
        with (home / "serve.log").open("ab") as log:
            process = subprocess.Popen(
                [*ZVK, "--home", str(home), "serve"],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, nofile),
            )
        server = Server(home=home, port=port, process=process)
        started.append(server)
        wait_for_ssh(port, process)
        return server

    yield start
    for server in started:
        server.stop()


def descriptor_limit(pid: int) -> tuple[int, int]:
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith("Max open files"):
            soft, hard = line.split()[3:5]
            return int(soft), int(hard)
    raise AssertionError("no descriptor limit")


def test_serve_raises_its_descriptor_limit(start_limited: Callable[..., Server]) -> None:
    """`zvk serve` started with a soft limit below the hard one runs with the hard one."""
    server = start_limited((256, 4096))
    assert descriptor_limit(server.process.pid) == (4096, 4096)


def open_uploads(sftp: paramiko.SFTPClient, prefix: str, most: int) -> list[paramiko.SFTPFile]:
    """Open uploads until the server refuses one (or ``most`` are open)."""
    opened: list[paramiko.SFTPFile] = []
    for n in range(most):
        try:
            opened.append(sftp.open(f"/inbox/{prefix}{n}.xml", "wb"))
        except OSError:
            break
    return opened


def test_a_flood_of_handles_leaves_the_service_serving(
    start_limited: Callable[..., Server], keys: Keys, tmp_path: Path
) -> None:
    """One sender opening uploads without end, on every connection it may hold, under the
    common limit of 1,024 descriptors: it gets its per-sender share, the others are served."""
    server = start_limited((1024, 1024))
    with contextlib.ExitStack() as stack:
        sessions: list[paramiko.SFTPClient] = []
        for _ in range(4):  # sftp.max_sessions_per_sender
            sessions.append(stack.enter_context(connected(server.port, SENDER, key=keys.sender)))
        held = [open_uploads(sftp, f"flut{n}-", 1100) for n, sftp in enumerate(sessions)]
        assert [len(h) for h in held] == [32, 32, 0, 0]  # per session, per sender (64)
        good_file(tmp_path)
        started = time.monotonic()
        done = server.sftp(keys.other, "put monat.xml /inbox/monat.xml\n", user=OTHER, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        wait_for("monat.*.protokoll.xml", server.home / "outbox" / OTHER, timeout=20)
        assert time.monotonic() - started < 10
    assert server.process.poll() is None
    assert len((server.home / "serve.log").read_text().splitlines()) < 2000


def test_channels_per_connection_are_bounded(start_server: StartServer, keys: Keys) -> None:
    """One connection cannot open more SSH sessions than sftp.max_channels_per_connection,
    however many it asks for; a closed one makes room again."""
    server = start_server(max_sessions_per_sender="4")
    transport = transport_from(server.port, "127.0.0.1")
    try:
        transport.auth_publickey(
            SENDER, paramiko.Ed25519Key.from_private_key_file(str(keys.sender))
        )
        channels = []
        for _ in range(10):
            with contextlib.suppress(paramiko.ChannelException):
                channels.append(transport.open_session(timeout=10))
        assert len(channels) == 2
        channels[0].invoke_subsystem("sftp")
        channels[0].close()
        time.sleep(0.5)
        transport.open_session(timeout=10)
    finally:
        transport.close()


class RefusingListener:
    """A listening socket of a process without free descriptors: every accept fails."""

    def __init__(self) -> None:
        self.calls = 0

    def accept(self) -> tuple[socket.socket, tuple[str, int]]:
        self.calls += 1
        raise OSError(errno.EMFILE, "Too many open files")


def test_accept_pauses_when_descriptors_run_out() -> None:
    """Out of descriptors, the accept loop pauses instead of spinning, and stops on request."""
    listener = RefusingListener()
    stopping = threading.Event()
    loop = threading.Thread(
        target=accept_connections,
        args=(listener, stopping, lambda *_: pytest.fail("nothing to start")),
    )
    loop.start()
    time.sleep(2)
    stopping.set()
    loop.join(timeout=3)
    assert not loop.is_alive()
    assert listener.calls < 20, listener.calls


# -- connection slots ------------------------------------------------------------------------
def idle_connections(port: int, source: str, count: int) -> list[socket.socket]:
    """TCP connections that never say a word."""
    return [
        socket.create_connection(("127.0.0.1", port), timeout=15, source_address=(source, 0))
        for _ in range(count)
    ]


def closed_by_server(conn: socket.socket, within: float) -> bool:
    """Does the server close ``conn`` within ``within`` seconds (reading its banner first)?"""
    conn.settimeout(within)
    try:
        while conn.recv(4096):
            pass
    except TimeoutError:
        return False
    except OSError:
        return True
    return True


def test_idle_connections_cannot_take_every_slot(
    start_server: StartServer, keys: Keys, tmp_path: Path
) -> None:
    """66 connections from one address that never log in hold only that address's share of
    the slots: a sender from elsewhere logs in at once; the address that keeps doing it is
    banned."""
    server = start_server(login_grace_seconds="2", max_failed_logins="8")
    idle = idle_connections(server.port, "127.0.0.5", 66)
    try:
        started = time.monotonic()
        done = server.sftp(keys.sender, "ls /\n")
        assert done.returncode == 0, done.stderr
        assert time.monotonic() - started < 5
        assert sum(closed_by_server(conn, 0.2) for conn in idle) >= 66 - 8
        time.sleep(3)  # the eight let in time out: eight failures of that address
    finally:
        for conn in idle:
            conn.close()
    [late] = idle_connections(server.port, "127.0.0.5", 1)
    with late:
        assert closed_by_server(late, 2)
    log = (server.home / "serve.log").read_text()
    assert '"subject": "address:127.0.0.5"' in log


def test_an_idle_connection_is_closed_after_ten_seconds(start_server: StartServer) -> None:
    """A connection that never logs in is closed after the (shortened) grace time."""
    server = start_server()
    [conn] = idle_connections(server.port, "127.0.0.6", 1)
    started = time.monotonic()
    with conn:
        assert closed_by_server(conn, 20)
    assert time.monotonic() - started < 13


def test_idle_sessions_time_out(start_server: StartServer, keys: Keys) -> None:
    """A logged-in session without requests is closed after sftp.idle_timeout_seconds; one
    that keeps working is not."""
    server = start_server(idle_timeout_seconds="2")
    with (
        connected(server.port, SENDER, key=keys.sender) as idle,
        connected(server.port, OTHER, key=keys.other) as busy,
    ):
        for _ in range(8):
            time.sleep(0.5)
            assert sorted(busy.listdir("/")) == ["inbox", "outbox", "test"]
        with pytest.raises((OSError, EOFError, paramiko.SSHException)):
            idle.listdir("/")
