"""`zvk serve` starts all of its parts or none: a part that cannot start stops the service
with exit status 2 and one line naming the reason, never a traceback in a thread."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import taken_port

from ingest.settings import Settings

ZVK = [sys.executable, "-m", "ingest"]


def serve(home: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*ZVK, "--home", str(home), "serve"],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=120,
        check=False,
    )


@pytest.mark.e2e
def test_serve_stops_when_the_sftp_port_is_taken(settings: Settings) -> None:
    with taken_port() as port:
        done = serve(settings.home, ZVK_SFTP__ENABLED="true", ZVK_SFTP__PORT=str(port))
    assert done.returncode == 2, (done.stdout, done.stderr)
    last = done.stderr.strip().splitlines()[-1]
    assert last == "zvk: the SFTP server cannot start: Address already in use", done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    assert '"serving"' not in done.stderr  # it never counted as running


def test_serve_refuses_a_port_out_of_range(settings: Settings) -> None:
    done = serve(settings.home, ZVK_SFTP__PORT="99999")
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "zvk: setting sftp.port: 99999 is out of range; allowed: 1 to 65535"
    )


@pytest.mark.e2e
def test_serve_at_a_terminal_shows_only_the_reason(settings: Settings) -> None:
    """At a terminal the log lines go to <home>/logs/zvk.log: the terminal shows the one line
    that says why the service cannot start, and nothing before it."""
    with taken_port() as port:
        primary, secondary = os.openpty()
        process = subprocess.Popen(
            [*ZVK, "--home", str(settings.home), "serve"],
            stdout=secondary,
            stderr=secondary,
            stdin=subprocess.DEVNULL,
            env={**os.environ, "ZVK_SFTP__ENABLED": "true", "ZVK_SFTP__PORT": str(port)},
        )
        os.close(secondary)
        seen = b""
        while True:
            try:
                chunk = os.read(primary, 65536)
            except OSError:  # the terminal is closed once the command has ended
                break
            if not chunk:
                break
            seen += chunk
        assert process.wait(timeout=120) == 2
        os.close(primary)
    terminal = seen.decode("utf-8", "replace").replace("\r\n", "\n").strip().splitlines()
    assert terminal == [
        f"zvk serve: log lines go to {settings.home / 'logs' / 'zvk.log'}",
        "zvk: the SFTP server cannot start: Address already in use",
    ], terminal
    logged = (settings.home / "logs" / "zvk.log").read_text(encoding="utf-8")
    assert "cannot start" in logged
