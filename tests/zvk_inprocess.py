"""The `zvk` command run inside the test process: its real entry point (``run``), its real
argument parsing and output, without a new interpreter's four seconds of start-up."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from ingest.cli.main import run


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
