"""Set-up and processing commands: init, ingest, serve (members, senders, check: own modules)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from ingest.answering.protocol import Verdict
from ingest.cli.context import fail, settings_of
from ingest.cli.progressbar import progress_bar
from ingest.home import initialise
from ingest.pipeline import Service
from ingest.receiving.intake import NotARegularFile, require_regular_file
from ingest.storing.registry import check_sender_number, find_sender
from ingest.validating.peek import peek_sender

app = typer.Typer()

ExistingFiles = Annotated[
    list[Path],
    typer.Argument(exists=True, dir_okay=False, readable=True, help="Report files (Meldedatei)."),
]


@app.command()
def init(ctx: typer.Context) -> None:
    """Create the home, the database schema and the SFTP host keys; again: changes nothing.

    Example: zvk --home /srv/zvk init
    """
    settings = settings_of(ctx)
    made = initialise(settings)
    for item in made:
        typer.echo(item)
    typer.echo(f"home {settings.home} is ready" + ("" if made else " (nothing to do)"))


def _summary(name: str, verdict: Verdict) -> str:
    return (
        f"{name}\t{verdict.delivery_id}\t{verdict.result}\t"
        f"gesamt={verdict.total} angenommen={verdict.accepted} abgewiesen={verdict.rejected}"
    )


@app.command()
def ingest(
    ctx: typer.Context,
    files: ExistingFiles,
    sender: Annotated[
        str | None, typer.Option("--sender", help="Betriebsnummer the files arrive from.")
    ] = None,
    test: Annotated[
        bool, typer.Option("--test", help="Test delivery: nothing is committed.")
    ] = False,
) -> None:
    """Process files now, exactly as if they had arrived in the sender's inbox.

    Prints one line per file: name, LieferungsId, Ergebnis, counts. Exit status 0 when every
    file is fehlerfrei or hinweise, 1 otherwise.

    Example: zvk ingest JM-2026.xml --sender 66667777
    """
    settings = settings_of(ctx)
    service = Service.open(settings)
    senders = _senders_of(service, files, sender)
    worst = 0
    with progress_bar(enabled=sys.stderr.isatty()) as bar:
        for path, sender_number in zip(files, senders, strict=True):
            service.on_progress = bar.listener(path.name)
            verdict = service.ingest(path, sender_number=sender_number, test=test)
            bar.done()
            typer.echo(_summary(path.name, verdict))
            if not verdict.result.all_accepted:
                worst = 1
    raise typer.Exit(worst)


def _senders_of(service: Service, files: list[Path], sender: str | None) -> list[str]:
    """The sender of each file, every file checked before the first is processed.

    A file can only arrive in the inbox of a registered sender, so a sender that is not
    registered (or a file whose Absender cannot be read, without --sender) is a mistake in the
    command: exit status 2 and nothing processed, rather than some files committed first.
    """
    if sender is not None:
        check_sender_number(sender)  # 8 digits 0-9: other scripts' digits are named as such
    with service.sessions() as session:
        if sender is not None and find_sender(session, sender) is None:
            fail(f"--sender {sender} is not a registered sender (zvk senders list)")
        problems: list[str] = []
        senders: list[str] = []
        for path in files:
            try:
                require_regular_file(path)
            except NotARegularFile as refused:
                problems.append(str(refused))
                continue
            number = sender or peek_sender(path)
            if number is None:
                problems.append(
                    f"{path}: the Absender cannot be read; name the sender with --sender"
                )
            elif sender is None and find_sender(session, number) is None:
                problems.append(
                    f"{path}: the Absender {number} is not a registered sender; register it "
                    "(zvk senders add) or name the sender with --sender"
                )
            else:
                senders.append(number)
    if problems:
        fail("; ".join(problems) + " (no file was processed)")
    return senders


@app.command()
def serve(ctx: typer.Context) -> None:
    """Run the service: drop-folder watcher, SFTP server, worker and the nightly scheduler.

    Stops cleanly on SIGTERM and SIGINT.

    Example: ZVK_HOME=/srv/zvk zvk serve
    """
    from ingest import logs
    from ingest.service import serve as run_service

    settings = settings_of(ctx)
    log_file = logs.log_file_for_terminal(settings, service=True)
    if log_file is not None:  # at a terminal: say where the log lines are
        typer.echo(f"zvk serve: log lines go to {log_file}", err=True)
    run_service(settings)
