"""``zvk demo``: a home with a sample member and sender, sample files, their protocols."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

from ingest.cli.main import app, settings_of
from ingest.home import initialise, sender_folders
from ingest.pipeline import Service
from ingest.samples.demo_files import DEMO_MEMBER, DEMO_OFFICES, DEMO_SENDER, write_demo_files
from ingest.storing.db import make_engine, session_factory
from ingest.storing.registry import Grant, add_member, add_sender


@app.command()
def demo(
    ctx: typer.Context,
    show: Annotated[
        int, typer.Option("--show", help="Print the protocol of this file (1-based).")
    ] = 2,
) -> None:
    """Set up a home with sample data, ingest sample files and show a protocol.

    Example: zvk --home demo-home demo
    """
    settings = settings_of(ctx)
    logging.getLogger().setLevel(logging.WARNING)  # the demo's own lines tell the story
    initialise(settings)
    with session_factory(make_engine(settings)).begin() as session:
        add_member(session, DEMO_MEMBER, "Stadt Musterhausen", list(DEMO_OFFICES))
        add_sender(
            session,
            DEMO_SENDER,
            "Kommunales Rechenzentrum Nord",
            "rechenzentrum",
            [Grant(DEMO_MEMBER, None)],
        )
    sender_folders(settings, DEMO_SENDER)
    samples = settings.home / "samples"
    files = write_demo_files(samples)
    service = Service.open(settings)
    typer.echo(f"home: {settings.home}")
    typer.echo(f"sample files in {samples}; ingesting them as sender {DEMO_SENDER}:\n")
    verdicts = []
    for path in files:
        verdict = service.ingest(path, sender_number=DEMO_SENDER, test=False)
        verdicts.append((path, verdict))
        typer.echo(
            f"  {path.name:<28} {verdict.delivery_id}  {verdict.result:<21} "
            f"{verdict.accepted}/{verdict.total} angenommen"
        )
    outbox = settings.outbox / DEMO_SENDER
    typer.echo(f"\nprotocols (XML and German text) are in {outbox}")
    index = min(max(show, 1), len(verdicts)) - 1
    path, verdict = verdicts[index]
    text = _protocol_text(outbox, verdict.delivery_id)
    typer.echo(f"\n--- protocol of {path.name} ---\n{text}")


def _protocol_text(outbox: Path, delivery_id: str) -> str:
    matches = sorted(outbox.glob(f"*.{delivery_id}.protokoll.txt"))
    return matches[0].read_text(encoding="utf-8") if matches else "(no protocol found)"
