"""The image's Dockerfile: a health check that really tells a serving SFTP server from a silent
port, and no cache of matplotlib in the data volume."""

from __future__ import annotations

import contextlib
import json
import re
import socket
import subprocess
import sys
import threading
from pathlib import Path

from conftest import free_port

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = (ROOT / "Dockerfile").read_text(encoding="utf-8")


def _healthcheck() -> list[str]:
    joined = DOCKERFILE.replace("\\\n", " ")
    match = re.search(r"^HEALTHCHECK\b.*?\bCMD\s+(\[.*\])\s*$", joined, re.M)
    assert match, "no HEALTHCHECK with an exec-form CMD"
    command = json.loads(match.group(1))
    assert isinstance(command, list) and command[0] == "python"
    return [sys.executable, *command[1:]]


def _run_against(port: int, banner: bytes | None) -> int:
    command = [part.replace("2222", str(port)) for part in _healthcheck()]
    assert any(str(port) in part for part in command)
    with socket.socket() as server:
        server.bind(("127.0.0.1", port))
        server.listen(1)

        def answer() -> None:
            with contextlib.suppress(OSError):  # the check may hang up first
                client, _ = server.accept()
                with client:
                    if banner is not None:
                        client.sendall(banner)
                    client.recv(1)  # hold the connection until the check has read

        threading.Thread(target=answer, daemon=True).start()
        return subprocess.run(command, capture_output=True, timeout=30, check=False).returncode


def test_the_health_check_wants_an_ssh_banner() -> None:
    assert _run_against(free_port(), b"SSH-2.0-paramiko\r\n") == 0
    assert _run_against(free_port(), b"HTTP/1.1 200 OK\r\n") != 0
    closed = free_port()
    assert (
        subprocess.run(
            [p.replace("2222", str(closed)) for p in _healthcheck()], timeout=30, check=False
        ).returncode
        != 0
    )


def test_matplotlib_keeps_its_cache_outside_the_volume() -> None:
    match = re.search(r"MPLCONFIGDIR=(\S+)", DOCKERFILE)
    assert match, "MPLCONFIGDIR is not set"
    assert not match.group(1).startswith("/data")
    assert 'VOLUME ["/data"]' in DOCKERFILE
