"""One sender must never stop, exhaust or lock out the SFTP service for the others.

Each test runs a real `zvk serve` and attacks it over loopback with paramiko, raw sockets or the
OpenSSH client, then checks that the attack is bounded and that other senders are still served.
"""

from __future__ import annotations

import os
import socket
import struct
import subprocess
from pathlib import Path

import pytest
from test_sftp_e2e import (  # the fixtures are shared with the end-to-end tests
    SENDER,
    ZVK,
    Keys,
    StartServer,
    home,
    keys,
    ssh_options,
    start_server,
)

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
    env = {**os.environ, "ZVK_SFTP__CIPHERS": '["aes128-ctr","3des-cbc"]', "ZVK_SFTP__PORT": "0"}
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
