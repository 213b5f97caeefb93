"""``zvk check``: the checks a data center runs before sending, without home or database."""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import os
import stat
import sys
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, BinaryIO

import typer

from ingest.answering.outbox import protocol_stem
from ingest.answering.protocol import Verdict, to_text, to_xml
from ingest.cli.context import fail, settings_of
from ingest.pipeline.results import grade
from ingest.settings import Settings
from ingest.validating.checker import FileCheck
from ingest.validating.findings import Catalogue, load_catalogue

app = typer.Typer()

STDIN = "-"
CHUNK = 1024 * 1024


@app.command()
def check(
    ctx: typer.Context,
    files: Annotated[
        list[str],
        typer.Argument(
            help="Report files (Meldedatei); `-` reads standard input, a FIFO or "
            "process substitution works too.",
            metavar="FILE...",
            show_default=False,
        ),
    ],
    output_format: Annotated[
        str, typer.Option("--format", help="text or xml.", case_sensitive=False, metavar="FORMAT")
    ] = "text",
    output_dir: Annotated[
        Path | None,
        typer.Option(
            "--output-dir",
            help="Write one protocol per file into this folder "
            "(<name without its last extension>.<PruefungsId>.protokoll.xml or .txt, as in "
            "the outbox) and print one line per file.",
            file_okay=False,
            metavar="DIR",
        ),
    ] = None,
) -> None:
    """Check files without home or database and print their protocols; commits nothing.

    Runs the schema and every check that needs no stored state (docs/codes.md lists them).
    Standard output carries one protocol: several files in XML need --output-dir, which
    writes each protocol, valid against protokoll-1.xsd, to a file of its own. Exit status 0
    when every file is fehlerfrei or hinweise, 1 otherwise.

    Examples:
      zvk check --format xml monat-2026-10.xml
      zvk check --format xml --output-dir protokolle/ *.xml
      erzeuge-meldedatei | zvk check -
    """
    output_format = output_format.lower()  # the option is case-insensitive: XML is xml
    if output_format not in ("text", "xml"):
        fail("--format must be text or xml")
    if output_format == "xml" and output_dir is None and len(files) > 1:
        fail(
            "--format xml prints one protocol: for several files, name --output-dir "
            "(one protocol file each)"
        )
    if files.count(STDIN) > 1:
        fail("standard input (-) can be named once")
    problems = [problem for name in files if (problem := _unreadable(name))]
    if problems:
        fail("; ".join(problems) + " (no file was checked)")
    if output_dir is not None:
        output_dir.mkdir(parents=True, exist_ok=True)
    settings = settings_of(ctx)
    catalogue = load_catalogue()
    worst = 0
    for name in files:
        with _checkable(name, settings) as (path, size, sha, display):
            verdict = _verdict(path, size, sha, display, settings, catalogue)
        document = (
            to_xml(verdict).decode("utf-8") if output_format == "xml" else to_text(verdict) + "\n"
        )
        if output_dir is None:
            typer.echo(document, nl=False)
        else:
            suffix = "xml" if output_format == "xml" else "txt"
            target = output_dir / f"{protocol_stem(display, verdict.delivery_id)}.{suffix}"
            target.write_text(document, encoding="utf-8")
            typer.echo(f"{display}\t{verdict.result}\t{target}")
        if not verdict.result.all_accepted:
            worst = 1
    raise typer.Exit(worst)


def _unreadable(name: str) -> str | None:
    """Why ``name`` cannot be checked (it does not exist, is a folder), or ``None``."""
    if name == STDIN:
        return None
    try:
        mode = Path(name).stat().st_mode
    except OSError as exc:
        return f"{name}: {exc.strerror or exc}"
    if stat.S_ISDIR(mode):
        return f"{name}: is a folder"
    if not os.access(name, os.R_OK):
        return f"{name}: not readable"
    return None


@contextlib.contextmanager
def _checkable(name: str, settings: Settings) -> Iterator[tuple[Path, int, str, str]]:
    """A path the check can read, the size and SHA-256 of what was delivered, the name to show.

    A regular file is checked where it is. Standard input, a FIFO, a process substitution or
    a device is read once into a private temporary file, up to the size limit; the rest is
    only counted, so that a stream too large gets ZVDA005 like a file too large.
    """
    path = Path(name)
    if name != STDIN and stat.S_ISREG(path.stat().st_mode):
        yield path, path.stat().st_size, _sha256(path), path.name
        return
    # A descriptor's own name (63 of /dev/fd/63) says nothing: it is shown as given.
    display = "stdin" if name == STDIN else name if path.name.isdigit() else path.name
    limit = settings.intake.max_file_bytes
    with tempfile.TemporaryDirectory(prefix="zvk-check-") as folder:
        copy = Path(folder) / ("stdin" if name == STDIN else path.name)
        with contextlib.ExitStack() as stack:
            source: BinaryIO = (
                sys.stdin.buffer if name == STDIN else stack.enter_context(path.open("rb"))
            )
            size, sha = _copy_limited(source, copy, limit)
        yield copy, size, sha, display


def _copy_limited(source: BinaryIO, target: Path, limit: int) -> tuple[int, str]:
    """Copy at most ``limit + 1`` bytes; the rest is read, hashed and counted, not kept."""
    size = 0
    digest = hashlib.sha256()
    with target.open("wb") as out:
        while chunk := source.read(CHUNK):
            room = limit + 1 - size
            if room > 0:
                out.write(chunk[:room])
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def _verdict(
    path: Path, size: int, sha: str, display: str, settings: Settings, catalogue: Catalogue
) -> Verdict:
    check = dataclasses.replace(FileCheck.without_database(path, settings, catalogue), size=size)
    outcome = check.run()
    header = outcome.header
    file_rejected = any(f.rejects and f.file_level for f in outcome.findings)
    return Verdict(
        delivery_id=f"PRUEFUNG-{sha[:12].upper()}",
        sender=header.sender if header else "",  # the protocol says: unbekannt
        filename=display,
        sha256=sha,
        received_at=check.received_at,
        processed_at=datetime.now(UTC),
        test=outcome.test,
        ruleset=f"Meldedatei 1, Regelwerk {catalogue.version}",
        result=grade(outcome.total, outcome.accepted, outcome.findings),
        total=outcome.total,
        accepted=0 if file_rejected else outcome.accepted,
        rejected=outcome.total - (0 if file_rejected else outcome.accepted),
        file_number=header.file_number if header else None,
        file_kind=header.file_kind if header else None,
        findings=outcome.findings,
    )


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
