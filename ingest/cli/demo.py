"""``zvk demo``: a home with a sample member and sender, sample files, their protocols."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

from ingest.cli.context import fail, settings_of
from ingest.home import initialise, sender_folders
from ingest.pipeline import Service
from ingest.samples.demo_files import DEMO_MEMBER, DEMO_OFFICES, DEMO_SENDER, write_demo_files
from ingest.settings import Settings
from ingest.storing.db import make_engine, session_factory
from ingest.storing.registry import Grant, add_member, add_sender, holds_fund_data

app = typer.Typer()

DEMO_MARKER = "zvk-demo.txt"


@app.command()
def demo(
    ctx: typer.Context,
    show: Annotated[
        int,
        typer.Option("--show", help="Print the protocol of this file (1-based).", metavar="N"),
    ] = 2,
) -> None:
    """Set up a home with sample data, ingest sample files and show a protocol.

    Only into a new or empty home, or one an earlier `zvk demo` made: any other is refused.

    Example: zvk --home demo-home demo
    """
    settings = settings_of(ctx)
    if show < 1:
        fail(f"--show {show}: the files are counted from 1")
    _refuse_foreign_home(settings)
    logging.getLogger().setLevel(logging.WARNING)  # the demo's own lines tell the story
    settings.home.mkdir(parents=True, exist_ok=True)
    (settings.home / DEMO_MARKER).write_text(
        "This home was made by `zvk demo`; its data are samples.\n", encoding="utf-8"
    )
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
    if not 1 <= show <= len(files):
        fail(f"--show {show}: the demo has files 1 to {len(files)}")
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
    path, verdict = verdicts[show - 1]
    text = _protocol_text(outbox, verdict.delivery_id)
    typer.echo(f"\n--- protocol of {path.name} ---\n{text}")


def _refuse_foreign_home(settings: Settings) -> None:
    """The demo writes sample data: only into a new home, an empty one or its own.

    A home counts as the demo's own by the marker file the demo leaves; any other home with
    files in it, or a configured database that holds members, senders or deliveries, is
    refused with exit status 2 and left untouched.
    """
    home = settings.home
    if (home / DEMO_MARKER).is_file():
        return
    if home.is_dir() and any(home.iterdir()):
        fail(
            f"home {home} holds data that zvk demo did not make; the demo writes sample "
            "members, senders and reports: give it a new folder (zvk --home demo-home demo)"
        )
    if settings.db.url and _database_holds_data(settings):
        fail(
            "the configured database (db.url) holds members, senders or deliveries; the demo "
            "runs on its own SQLite database: unset db.url (ZVK_DB__URL) for it"
        )


def _database_holds_data(settings: Settings) -> bool:
    engine = make_engine(settings)
    try:
        return holds_fund_data(engine)
    finally:
        engine.dispose()


def _protocol_text(outbox: Path, delivery_id: str) -> str:
    matches = sorted(outbox.glob(f"*.{delivery_id}.protokoll.txt"))
    return matches[0].read_text(encoding="utf-8") if matches else "(no protocol found)"
