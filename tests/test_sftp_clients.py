"""The SFTP clients data centers use, against a real `zvk serve`: each way of sending one file
ends with exactly one delivery and one protocol, and no error at the client.

OpenSSH `sftp` plain, with `-p` (preserve times) and with a rename after the upload; paramiko's
`put` with and without its confirming `stat`; and WinSCP's way (upload to `.filepart`, rename,
then set the times of the final name), played with paramiko. Refused uploads (too large, never
renamed) get a protocol whose LieferungsId `zvk deliveries show` knows.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import paramiko
import pytest
from lxml import etree
from test_sftp_e2e import (  # the fixtures are shared with the end-to-end tests
    NS,
    SENDER,
    Keys,
    Server,
    StartServer,
    good_file,
    home,
    keys,
    ledger,
    protocol_fields,
    server,
    ssh_options,
    start_server,
    wait_for,
    zvk,
)

pytestmark = pytest.mark.e2e
__all__ = ["home", "keys", "server", "start_server"]  # fixtures used by name

MTIME = 1_700_000_000  # a time the clients preserve or set: 2023-11-14


@contextmanager
def connected(server: Server, key: Path) -> Iterator[paramiko.SFTPClient]:
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.AutoAddPolicy())  # noqa: S507  (a test server)
    try:
        client.connect(
            "127.0.0.1",
            port=server.port,
            username=SENDER,
            key_filename=str(key),
            allow_agent=False,
            look_for_keys=False,
            timeout=15,
        )
        sftp = client.open_sftp()
        yield sftp
        sftp.close()
    finally:
        client.close()


def openssh(commands: str, *flags: str) -> Callable[[Server, Keys, Path], None]:
    def send(server: Server, keys: Keys, folder: Path) -> None:
        target = f"{SENDER}@127.0.0.1"
        done = subprocess.run(
            ["sftp", *flags, "-b", "-", *ssh_options(keys.sender), "-P", str(server.port), target],
            input=commands,
            capture_output=True,
            text=True,
            cwd=folder,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr

    return send


def paramiko_put(confirm: bool) -> Callable[[Server, Keys, Path], None]:
    def send(server: Server, keys: Keys, folder: Path) -> None:
        with connected(server, keys.sender) as sftp:
            sent = sftp.put(str(folder / "monat.xml"), "/inbox/monat.xml", confirm=confirm)
            if confirm:  # without, paramiko does not ask and returns empty attributes
                assert sent.st_size == (folder / "monat.xml").stat().st_size

    return send


def put_then_set_times(server: Server, keys: Keys, folder: Path) -> None:
    """A script that sends the file and then gives it the local file's time."""
    with connected(server, keys.sender) as sftp:
        sftp.put(str(folder / "monat.xml"), "/inbox/monat.xml")
        sftp.utime("/inbox/monat.xml", (MTIME, MTIME))
        assert sftp.stat("/inbox/monat.xml").st_mtime == MTIME


def winscp(server: Server, keys: Keys, folder: Path) -> None:
    """WinSCP with "transfer to temporary file name" and "preserve timestamp"."""
    with connected(server, keys.sender) as sftp:
        sftp.put(str(folder / "monat.xml"), "/inbox/monat.xml.filepart", confirm=False)
        sftp.rename("/inbox/monat.xml.filepart", "/inbox/monat.xml")
        sftp.utime("/inbox/monat.xml", (MTIME, MTIME))
        assert sftp.stat("/inbox/monat.xml").st_size == (folder / "monat.xml").stat().st_size


CLIENTS = {
    "openssh": openssh("put monat.xml /inbox/monat.xml\n"),
    "openssh -p": openssh("put monat.xml /inbox/monat.xml\nls -l /inbox\n", "-p"),
    "openssh rename after upload": openssh(
        "put monat.xml /inbox/monat.xml.filepart\n"
        "rename /inbox/monat.xml.filepart /inbox/monat.xml\n"
    ),
    "openssh dot-file renamed": openssh(
        "put monat.xml /inbox/.monat.xml\nrename /inbox/.monat.xml /inbox/monat.xml\n"
    ),
    "openssh .tmp renamed": openssh(
        "put monat.xml /inbox/monat.xml.tmp\nrename /inbox/monat.xml.tmp /inbox/monat.xml\n"
    ),
    "paramiko put": paramiko_put(confirm=True),
    "paramiko put without confirm": paramiko_put(confirm=False),
    "paramiko put, then times": put_then_set_times,
    "winscp": winscp,
}


def settled(home: Path, timeout: float = 30.0) -> list[Path]:
    """The protocols once every delivery in the ledger has one."""
    outbox = home / "outbox" / SENDER
    wait_for("*.protokoll.xml", outbox, timeout)
    deadline = time.monotonic() + timeout
    while any(d.protocol_path is None for d in ledger(home)):
        assert time.monotonic() < deadline, "a delivery stayed without protocol"
        time.sleep(0.1)
    return sorted(outbox.glob("*.protokoll.xml"))


@pytest.mark.parametrize("client", CLIENTS.values(), ids=CLIENTS.keys())
def test_each_client_delivers_exactly_once(
    server: Server, keys: Keys, tmp_path: Path, client: Callable[[Server, Keys, Path], None]
) -> None:
    """The client reports success; the fund has one delivery `monat.xml`, one protocol,
    `fehlerfrei` (never `doppelt`)."""
    good_file(tmp_path)
    client(server, keys, tmp_path)
    [protocol] = settled(server.home)
    assert protocol_fields(protocol)["Ergebnis"] == "fehlerfrei"
    assert protocol_fields(protocol)["Dateiname"] == "monat.xml"
    assert [(d.filename, d.channel, d.result) for d in ledger(server.home)] == [
        ("monat.xml", "sftp", "fehlerfrei")
    ]


def test_openssh_p_keeps_the_time(server: Server, keys: Keys, tmp_path: Path) -> None:
    """`sftp -p` preserves the file's time: the listing right after shows it."""
    os.utime(good_file(tmp_path), (MTIME, MTIME))
    done = openssh("put monat.xml /inbox/monat.xml\nls -l /inbox\n", "-p")
    done(server, keys, tmp_path)
    with connected(server, keys.sender) as sftp:
        assert sftp.stat("/inbox/monat.xml").st_mtime == MTIME
        with pytest.raises(OSError):
            sftp.open("/inbox/monat.xml", "rb").read()
    settled(server.home)


# -- refusals --------------------------------------------------------------------------------
def lieferungs_id(protocol: Path) -> str:
    return etree.parse(str(protocol)).findtext("p:LieferungsId", namespaces=NS) or ""


def assert_known_to_the_ledger(home: Path, protocol: Path, code: str) -> None:
    delivery_id = lieferungs_id(protocol)
    assert delivery_id and delivery_id in protocol.name
    shown = zvk(home, "deliveries", "show", delivery_id)
    assert shown.returncode == 0, shown.stderr
    assert code in shown.stdout
    [row] = ledger(home)
    assert (row.delivery_id, row.result, row.channel) == (delivery_id, "abgewiesen", "sftp")
    assert row.protocol_path and row.protocol_path.endswith(protocol.name)


def test_too_large_upload_is_in_the_ledger(
    start_server: StartServer, keys: Keys, tmp_path: Path
) -> None:
    """The ZVDA005 protocol of an upload stopped at the size limit names a delivery that
    `zvk deliveries show` shows."""
    server = start_server(max_file_bytes="100000")
    (tmp_path / "riesig.xml").write_bytes(b"<x>" + b"0" * 1_000_000)
    done = server.sftp(keys.sender, "put riesig.xml /inbox/riesig.xml\n", cwd=tmp_path)
    assert done.returncode == 1
    [protocol] = settled(server.home)
    assert protocol_fields(protocol)["codes"] == "ZVDA005"
    assert_known_to_the_ledger(server.home, protocol, "ZVDA005")


def test_temporary_name_never_renamed_is_in_the_ledger(
    server: Server, keys: Keys, tmp_path: Path
) -> None:
    """A `.filepart` upload whose session ends without the rename is answered ZVDA006, and the
    ledger knows that answer."""
    good_file(tmp_path)
    done = server.sftp(keys.sender, "put monat.xml /inbox/monat.xml.filepart\n", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    [protocol] = settled(server.home)
    assert protocol_fields(protocol)["codes"] == "ZVDA006"
    assert_known_to_the_ledger(server.home, protocol, "ZVDA006")
