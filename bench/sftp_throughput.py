"""SFTP upload throughput: our server (`zvk serve`) against OpenSSH's own `sftp-server`.

Uploads one file (200 MB of random bytes by default) with the OpenSSH `sftp` client in batch mode
to both servers on loopback, in one run, and prints MB/s (10^6 bytes per second) and the ratio.
The OpenSSH side is an `sshd` started by this script on a free loopback port with a throw-away
configuration; the script installs nothing and skips that side when `/usr/sbin/sshd` is missing.

    .venv/bin/python bench/sftp_throughput.py [--size-mb 200] [--runs 3] [--cipher aes128-ctr]

Results and the machine they were measured on: docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import pwd
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SSHD = Path("/usr/sbin/sshd")
SFTP_SERVERS = (Path("/usr/lib/openssh/sftp-server"), Path("/usr/libexec/sftp-server"))
SFTP_SERVER = next((p for p in SFTP_SERVERS if p.exists()), SFTP_SERVERS[0])
SENDER = "66667777"
ZVK = [sys.executable, "-m", "ingest"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for_port(port: int, timeout: float = 30.0) -> None:
    """Until something on the port speaks SSH (its banner starts with ``SSH-``)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as conn:
                if conn.recv(4).startswith(b"SSH-"):
                    return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"nothing answered on port {port} within {timeout:.0f}s")


@contextmanager
def running(
    command: list[str], env: dict[str, str], log: Path
) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
        try:
            yield process
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


def client_options(key: Path, cipher: str | None) -> list[str]:
    options = ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null"]
    options += ["-o", "IdentitiesOnly=yes", "-i", str(key)]
    return options + (["-o", f"Ciphers={cipher}"] if cipher else [])


def negotiated_cipher(port: int, user: str, key: Path, cipher: str | None) -> str:
    """The cipher client and server agree on (`sftp -v` reports it)."""
    done = subprocess.run(
        [
            "sftp",
            "-v",
            "-b",
            "-",
            *client_options(key, cipher),
            "-P",
            str(port),
            f"{user}@127.0.0.1",
        ],
        input="bye\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    marker = "kex: client->server cipher: "
    found = [
        line.split(marker)[1].split()[0] for line in done.stderr.splitlines() if marker in line
    ]
    return found[0] if found else "?"


def upload(port: int, user: str, key: Path, source: Path, target: str, cipher: str | None) -> float:
    """Seconds the OpenSSH client needs to upload ``source`` (connection set-up included)."""
    batch = source.with_suffix(".batch")
    batch.write_text(f"put {source} {target}\n")
    options = [*client_options(key, cipher), "-o", "LogLevel=ERROR"]
    os.sync()  # every run starts without the previous runs' dirty pages still being written
    started = time.perf_counter()
    subprocess.run(
        ["sftp", "-b", str(batch), *options, "-P", str(port), f"{user}@127.0.0.1"],
        check=True,
        stdout=subprocess.DEVNULL,
        timeout=600,
    )
    return time.perf_counter() - started


def zvk_home(work: Path, key: Path) -> Path:
    home = work / "home"
    for args in (
        ["init"],
        ["members", "add", "100001", "--name", "Bench", "--abrechnungsstelle", "001"],
        ["senders", "add", SENDER, "--name", "Bench", "--kind", "rechenzentrum"],
        ["senders", "add-key", SENDER, str(key.with_suffix(".pub"))],
    ):
        subprocess.run([*ZVK, "--home", str(home), *args], check=True, capture_output=True)
    return home


def measure_ours(work: Path, key: Path, source: Path, runs: int, cipher: str | None) -> list[float]:
    home = zvk_home(work, key)
    port = free_port()
    env = {**os.environ, "ZVK_SFTP__PORT": str(port), "ZVK_LOG__LEVEL": "WARNING"}
    env["ZVK_SFTP__ENABLED"] = "true"
    with running([*ZVK, "--home", str(home), "serve"], env, work / "serve.log"):
        wait_for_port(port)
        print(f"zvk serve: cipher {negotiated_cipher(port, SENDER, key, cipher)}")
        times = []
        for run in range(runs):
            times.append(upload(port, SENDER, key, source, f"/inbox/bench-{run}.bin", cipher))
            wait_for_protocol(home / "outbox" / SENDER, f"bench-{run}.")
        return times


def wait_for_protocol(outbox: Path, prefix: str, timeout: float = 120.0) -> None:
    """Let the pipeline answer one upload before the next starts, so runs do not overlap."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(outbox.glob(f"{prefix}*.protokoll.xml")):
            return
        time.sleep(0.1)
    raise SystemExit(f"no protocol for {prefix} within {timeout:.0f}s")


def measure_openssh(
    work: Path, key: Path, source: Path, runs: int, cipher: str | None
) -> list[float] | None:
    if not SSHD.exists() or not SFTP_SERVER.exists():
        print(f"skipped OpenSSH: {SSHD} or {SFTP_SERVER} missing (package openssh-server)")
        return None
    if os.geteuid() == 0 and not Path("/run/sshd").is_dir():
        Path("/run/sshd").mkdir(mode=0o755)  # sshd's privilege-separation directory
    port = free_port()
    host_key = work / "sshd_host_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(host_key)], check=True)
    authorized = work / "authorized_keys"
    shutil.copy(key.with_suffix(".pub"), authorized)
    config = work / "sshd_config"
    config.write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {host_key}\n"
        f"AuthorizedKeysFile {authorized}\nPidFile {work / 'sshd.pid'}\n"
        "StrictModes no\nUsePAM no\nPasswordAuthentication no\nPermitRootLogin prohibit-password\n"
        f"Subsystem sftp {SFTP_SERVER}\n"
    )
    user = pwd.getpwuid(os.geteuid()).pw_name
    target = work / "openssh-upload"
    target.mkdir()
    with running([str(SSHD), "-D", "-e", "-f", str(config)], dict(os.environ), work / "sshd.log"):
        wait_for_port(port)
        print(f"OpenSSH: cipher {negotiated_cipher(port, user, key, cipher)}")
        times = []
        for run in range(runs):
            times.append(upload(port, user, key, source, str(target / f"bench-{run}.bin"), cipher))
        return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mb", type=int, default=200, help="file size in MB (10^6 bytes)")
    parser.add_argument("--runs", type=int, default=3, help="uploads per server; best one counts")
    parser.add_argument("--cipher", help="force one cipher on both sides (default: negotiated)")
    args = parser.parse_args()
    if shutil.which("sftp") is None:
        raise SystemExit("the OpenSSH client `sftp` is missing (package openssh-client)")
    size = args.size_mb * 1_000_000
    with tempfile.TemporaryDirectory(prefix="zvk-bench-") as tmp:
        work = Path(tmp)
        key = work / "client_key"
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
        source = work / "payload.bin"
        with source.open("wb") as out:
            for _ in range(args.size_mb):
                out.write(os.urandom(1_000_000))
        ours = measure_ours(work, key, source, args.runs, args.cipher)
        theirs = measure_openssh(work, key, source, args.runs, args.cipher)
    report(size, ours, theirs, args.cipher)


def report(size: int, ours: list[float], theirs: list[float] | None, cipher: str | None) -> None:
    """MB/s of the best and of the median run (the machine's other load shows in the spread)."""

    def rates(times: list[float]) -> tuple[float, float]:
        return size / min(times) / 1e6, size / statistics.median(times) / 1e6

    def row(label: str, times: list[float]) -> None:
        best, median = rates(times)
        runs = " ".join(f"{t:.2f}" for t in times)
        print(f"{label:<24}{best:>8.1f}{median:>10.1f}   {runs}")

    print(f"upload of {size / 1e6:.0f} MB, cipher {cipher or 'negotiated'}, {len(ours)} runs")
    print(f"{'server':<24}{'best':>8}{'median':>10}   runs (s)   [MB/s]")
    row("zvk serve (paramiko)", ours)
    if theirs:
        row("OpenSSH sftp-server", theirs)
        (ours_best, ours_median), (best, median) = rates(ours), rates(theirs)
        print(
            f"ratio zvk / OpenSSH: best {ours_best / best:.0%}, median {ours_median / median:.0%}"
        )


if __name__ == "__main__":
    main()
