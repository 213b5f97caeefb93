"""Is another sender still served while one sender attacks the SFTP server?

Starts `zvk serve` on loopback under the common limit of 1,024 descriptors, then, one attack at
a time, measures how long a second sender takes to upload a valid file with the OpenSSH `sftp`
client until its protocol lies in its outbox. Every attack runs from its own loopback addresses
(127.0.x.y), holds what it took while the probes run and stops by itself:

- ``handles``: four connections of the attacking sender, each opening uploads until refused
  (at most 1,100 each) and asking for 40 SSH sessions;
- ``lockout``: twenty wrong passwords for the probing sender's key-only account from ten
  addresses, then more in a loop (at most 200 in all) while the probe logs in with its key from
  an address it never used;
- ``slots``: 66 TCP connections from one address that never speak, reopened when closed
  (at most 300 in all);
- ``passwords``: three waves of 40 simultaneous wrong passwords for an account with a
  password, from 40 addresses; the server's peak RSS is reported;
- ``poison``: the attacking sender's drop folder gets files whose names are no UTF-8, a name
  with control characters, a 250-character symbolic link, a FIFO and a file with a second hard
  link, each of which used to stop or disturb the worker.

    .venv/bin/python bench/sftp_attacks.py [--probes 3]

Results: docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import paramiko

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.sftp_throughput import free_port, wait_for_port  # noqa: E402
from ingest.samples.builder import FileBuilder  # noqa: E402

ZVK = [sys.executable, "-m", "ingest"]
PROBER, ATTACKER = "66667777", "15000002"
PASSWORD = "ein-langes-richtiges-passwort"  # noqa: S105  (a throw-away home)


def keygen(path: Path) -> Path:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)
    return path


def make_home(work: Path, prober_key: Path, attacker_key: Path) -> Path:
    work.mkdir()
    home = work / "home"
    for args in (
        ["init"],
        ["members", "add", "100001", "--name", "Bench", "--abrechnungsstelle", "001"],
        [
            *("senders", "add", PROBER, "--name", "Probe", "--kind", "rechenzentrum"),
            *("--authorize", "100001", "--ssh-key", f"{prober_key}.pub"),
        ],
        [
            *("senders", "add", ATTACKER, "--name", "Angreifer", "--kind", "rechenzentrum"),
            *("--ssh-key", f"{attacker_key}.pub", "--password-stdin"),
        ],
    ):
        subprocess.run(
            [*ZVK, "--home", str(home), *args],
            input=PASSWORD,
            text=True,
            check=True,
            capture_output=True,
        )
    return home


def probe(port: int, home: Path, key: Path, work: Path, n: int, source: str) -> float:
    """Seconds from starting the upload of a valid file to its protocol in the outbox."""
    name = f"probe{n}.xml"
    builder = FileBuilder()
    builder.anmeldung(1)
    builder.write(work / name)
    options = ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null"]
    options += ["-o", "IdentitiesOnly=yes", "-o", f"BindAddress={source}", "-i", str(key)]
    started = time.monotonic()
    done = subprocess.run(
        ["sftp", "-b", "-", *options, "-P", str(port), f"{PROBER}@127.0.0.1"],
        input=f"put {work / name} /inbox/{name}\n",
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        return float("inf")
    outbox = home / "outbox" / PROBER
    while not any(outbox.glob(f"probe{n}.*.protokoll.xml")):
        if time.monotonic() - started > 60:
            return float("inf")
        time.sleep(0.02)
    return time.monotonic() - started


def transport(port: int, source: str) -> paramiko.Transport:
    sock = socket.create_connection(("127.0.0.1", port), timeout=15, source_address=(source, 0))
    t = paramiko.Transport(sock)
    t.start_client(timeout=15)
    return t


def wrong_password(port: int, user: str, source: str) -> None:
    with contextlib.suppress(Exception):
        t = transport(port, source)
        try:
            t.auth_password(user, "falsch-falsch-falsch")
        finally:
            t.close()


@contextlib.contextmanager
def handles(port: int, key: Path) -> Iterator[str]:
    pkey = paramiko.Ed25519Key.from_private_key_file(str(key))
    transports, held, channels = [], [], 0
    with contextlib.ExitStack() as stack:
        for n in range(4):
            with contextlib.suppress(Exception):
                t = transport(port, f"127.0.2.{n + 1}")
                transports.append(t)
                stack.callback(t.close)
                t.auth_publickey(ATTACKER, pkey)
                sftp = paramiko.SFTPClient.from_transport(t)
                assert sftp is not None
                for i in range(1100):
                    try:
                        held.append(sftp.open(f"/inbox/flut{n}-{i}.xml", "wb"))
                    except OSError:
                        break
                for _ in range(40):
                    with contextlib.suppress(Exception):
                        t.open_session(timeout=5)
                        channels += 1
        # Ends with the connections, without CLOSE: broken-off uploads, answered at once, so
        # that no queue of the attacker's deliveries delays the next measurement.
        yield f"{len(held)} upload handles and {channels} extra sessions held"


@contextlib.contextmanager
def lockout(port: int) -> Iterator[str]:
    sources = [f"127.0.6.{n + 1}" for n in range(10)]
    with ThreadPoolExecutor(10) as pool:  # two rounds of ten at once: twice the ban's limit
        for _ in range(2):
            list(pool.map(lambda s: wrong_password(port, PROBER, s), sources))
    stop, tries = threading.Event(), [20]

    def guess() -> None:
        while not stop.is_set() and tries[0] < 200:
            wrong_password(port, PROBER, sources[tries[0] % 10])
            tries[0] += 1

    worker = threading.Thread(target=guess)
    worker.start()
    try:
        yield "20 wrong passwords for the probe's key-only account from 10 addresses, then more"
    finally:
        stop.set()
        worker.join()


@contextlib.contextmanager
def slots(port: int) -> Iterator[str]:
    stop, opened = threading.Event(), [0]
    held: list[socket.socket] = []

    def hold() -> None:
        while not stop.is_set() and opened[0] < 300:
            alive = []
            for conn in held:
                conn.setblocking(False)
                try:
                    closed = conn.recv(4096) == b""
                except BlockingIOError:
                    closed = False
                except OSError:
                    closed = True
                (conn.close() if closed else alive.append(conn))
            held[:] = alive
            while len(held) < 66 and opened[0] < 300:
                with contextlib.suppress(OSError):
                    held.append(socket.create_connection(("127.0.0.1", port), 5, ("127.0.7.1", 0)))
                opened[0] += 1
            stop.wait(0.2)

    worker = threading.Thread(target=hold)
    worker.start()
    time.sleep(1)
    try:
        yield "66 silent connections from one address, reopened when closed"
    finally:
        stop.set()
        worker.join()
        for conn in held:
            conn.close()


@contextlib.contextmanager
def passwords(port: int) -> Iterator[str]:
    with ThreadPoolExecutor(40) as pool:
        for wave in range(3):
            sources = [f"127.0.{10 + wave}.{n + 1}" for n in range(40)]
            list(pool.map(lambda s: wrong_password(port, ATTACKER, s), sources))
    yield "3 waves of 40 simultaneous wrong passwords (before the probes)"


@contextlib.contextmanager
def poison(home: Path) -> Iterator[str]:
    inbox = home / "inbox" / ATTACKER
    builder = FileBuilder(sender=ATTACKER)
    builder.anmeldung(1)
    data = builder.to_bytes()
    for n in range(10):
        with open(os.path.join(os.fsencode(inbox), b"gift-\xff\xfe-%d.xml" % n), "wb") as fh:
            fh.write(data)
    (inbox / "zeile\rueber\x1b[2J.xml").write_bytes(data)
    (inbox / ("l" * 246 + ".xml")).symlink_to("/etc/passwd")
    os.mkfifo(inbox / "rohr.xml")
    (work_copy := inbox.parent / "verlinkt.xml").write_bytes(data)
    os.link(work_copy, inbox / "verlinkt.xml")
    outbox, deadline = home / "outbox" / ATTACKER, time.monotonic() + 30
    answered = 0
    while answered < 14 and time.monotonic() < deadline:  # the probes run once these are answered
        time.sleep(0.2)
        answered = len(list(outbox.glob("*.protokoll.xml"))) if outbox.exists() else 0
    yield f"{answered} protocols for 10 names that are no UTF-8, control characters, a symlink, ..."


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


@contextlib.contextmanager
def serving(home: Path, log: Path) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """A fresh `zvk serve` (no bans remembered) under 1,024 descriptors, and its SFTP port."""
    port = free_port()
    env = {**os.environ, "ZVK_SFTP__PORT": str(port), "ZVK_SFTP__ENABLED": "true"}
    env["ZVK_INTAKE__RESCAN_SECONDS"] = "1"
    with log.open("ab") as out:
        server = subprocess.Popen(
            [*ZVK, "--home", str(home), "serve"],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (1024, 1024)),
        )
    try:
        wait_for_port(port)
        yield server, port
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--probes", type=int, default=3)
    parser.add_argument("--only", help="run only this attack (after the baseline)")
    parser.add_argument("--log", type=Path, help="copy the service's log here at the end")
    args = parser.parse_args()
    logging.getLogger("paramiko").setLevel(logging.CRITICAL)  # refusals are what we expect
    with tempfile.TemporaryDirectory(prefix="zvk-attacks-") as tmp:
        work = Path(tmp)
        prober_key, attacker_key = keygen(work / "prober"), keygen(work / "attacker")
        log = work / "serve.log"
        attacks: dict[str, Callable[[int], contextlib.AbstractContextManager[str]]] = {
            "none": lambda port: contextlib.nullcontext("baseline"),
            "handles": lambda port: handles(port, attacker_key),
            "lockout": lockout,
            "slots": slots,
            "passwords": passwords,
            "poison": lambda port: contextlib.nullcontext(""),  # needs the home: see below
        }
        homes: dict[str, Path] = {}
        n = 0
        try:
            for name, attack in attacks.items():
                if args.only and name not in ("none", args.only):
                    continue
                # A fresh home and server per attack: nothing one leaves behind meets the next.
                home = make_home(work / name, prober_key, attacker_key)
                homes[name] = home
                lines_before = len(log.read_bytes().splitlines()) if log.exists() else 0
                if name == "poison":
                    attack = lambda port, home=home: poison(home)  # noqa: E731
                with serving(home, log) as (server, port), attack(port) as what:
                    times = []
                    for _ in range(args.probes):
                        source = "127.0.9.9" if name == "lockout" else "127.0.0.1"
                        times.append(probe(port, home, prober_key, work, n, source))
                        n += 1
                    alive = server.poll() is None
                    rss = peak_rss_mib(server.pid)
                lines = len(log.read_bytes().splitlines()) - lines_before
                shown = ", ".join(f"{t:.2f}" for t in times)
                print(
                    f"{name:9} probe s: {shown:22} max {max(times):6.2f}  alive: {alive!s:5}  "
                    f"log lines: {lines:6}  peak RSS {rss:4.0f} MiB  ({what})",
                    flush=True,
                )
        finally:
            if args.log and log.exists():
                shutil.copy(log, args.log)


if __name__ == "__main__":
    main()
