"""The `zvk` command run inside the test process, without a new interpreter's seconds of
start-up: its real argument parsing, commands and output.

``zvk_here`` goes through the console entry point (``run``, reading ``sys.argv``);
``zvk_in`` goes through Typer's ``CliRunner`` on the assembled app, with standard input and
environment variables of its own. Use a real process where the process is what is tested
(signals, a terminal, a FIFO, a crash, the log file of a service).
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ingest.cli.main import app, run


@dataclass(frozen=True)
class Done:
    returncode: int
    stdout: str
    stderr: str


def zvk_here(capsys: pytest.CaptureFixture[str], home: Path | None, *args: str) -> Done:
    """Run ``zvk [--home HOME] ARGS…`` as the console script would, and capture what it says."""
    capsys.readouterr()
    argv = sys.argv
    sys.argv = ["zvk", *(["--home", str(home)] if home else []), *args]
    try:
        run()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        sys.argv = argv
    out = capsys.readouterr()
    return Done(code, out.out, out.err)


def zvk_in(
    home: Path | None,
    *args: str,
    input: str | bytes | None = None,
    env: Mapping[str, str] | None = None,
) -> Done:
    """Run ``zvk [--home HOME] ARGS…`` through ``CliRunner``: exit status, stdout, stderr.

    An exception the command lets escape is a crash the console script would print: its
    traceback is appended to ``stderr`` (and the status is 1), so "no traceback" assertions
    hold here as they do for a real process. The umask the command sets is undone afterwards.
    """
    prefix = ["--home", str(home)] if home else []
    umask = os.umask(0o022)
    os.umask(umask)
    try:
        result = CliRunner().invoke(app, [*prefix, *args], input=input, env=env, prog_name="zvk")
    finally:
        os.umask(umask)
    stderr = result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        stderr += "".join(traceback.format_exception(result.exception))
    return Done(result.exit_code, result.stdout, stderr)
