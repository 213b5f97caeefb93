"""`zvk serve` and `zvk portal` serve the portal: `/gesund` answers, a taken port stops them
with one line naming the reason."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from ingest.settings import Settings

ZVK = [sys.executable, "-m", "ingest"]
pytestmark = pytest.mark.e2e


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _health(port: int, deadline: float) -> str:
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/gesund", timeout=2) as answer:
                return str(answer.read().decode())
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


@pytest.mark.parametrize("command", ["serve", "portal"])
def test_the_portal_answers_health_and_stops_on_sigterm(settings: Settings, command: str) -> None:
    """`GET /gesund` is `ok` while the database is reachable; SIGTERM ends the process with 0."""
    port = _free_port()
    env = {**os.environ, "ZVK_PORTAL__PORT": str(port), "ZVK_PORTAL__ENABLED": "true"}
    process = subprocess.Popen(
        [*ZVK, "--home", str(settings.home), command],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert _health(port, time.monotonic() + 60) == "ok"
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert "Traceback" not in out + err


@pytest.mark.parametrize("command", ["serve", "portal"])
def test_a_taken_portal_port_stops_with_the_reason(settings: Settings, command: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        done = subprocess.run(
            [*ZVK, "--home", str(settings.home), command],
            env={**os.environ, "ZVK_PORTAL__PORT": str(port), "ZVK_PORTAL__ENABLED": "true"},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert (
        done.stderr.strip().splitlines()[-1]
        == "zvk: the portal cannot start: Address already in use"
    )
    assert "Traceback" not in done.stderr + done.stdout
