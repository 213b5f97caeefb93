"""Reconciliation: ``zvk reconcile`` and its exports, ``zvk export abgleich|versorgungspunkte``."""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, TextIO
from zoneinfo import ZoneInfo

import typer

from ingest.cli.context import fail, sessions_of, settings_of
from ingest.reconciling.exports import write_findings, write_points
from ingest.reconciling.lock import LockBusy
from ingest.reconciling.runs import finished_run, latest_run, run_reconciliation

app = typer.Typer()  # zvk reconcile
export_app = typer.Typer()  # zvk export abgleich, zvk export versorgungspunkte

DateOption = Annotated[
    str | None,
    typer.Option("--date", help="Day as of which (YYYY-MM-DD); default: today in Europe/Berlin."),
]
OutputOption = Annotated[
    Path | None, typer.Option("--output", help="File to write (default: standard output).")
]
FormatOption = Annotated[str, typer.Option("--format", help="Only csv for now.")]


def as_of_day(text: str | None) -> date:
    """The day given (YYYY-MM-DD, not after today in Europe/Berlin), else today."""
    today = datetime.now(ZoneInfo("Europe/Berlin")).date()
    if text is None:
        return today
    try:
        day = date.fromisoformat(text)
    except ValueError:
        fail(f"--date {text!r}: expected YYYY-MM-DD")
    if day > today:
        fail(f"--date {text}: a day after today ({today}) has not happened yet")
    return day


@app.command()
def reconcile(
    ctx: typer.Context,
    day: DateOption = None,
    reports: Annotated[
        bool, typer.Option("--reports", help="Also write the evaluations and HTML reports.")
    ] = False,
) -> None:
    """Reconcile reports and payments as of a day, store the findings and print a summary.

    One run at a time: exit status 1 when another run holds the lock.

    Example: zvk reconcile --date 2027-03-01
    """
    as_of = as_of_day(day)
    settings = settings_of(ctx)
    sessions = sessions_of(ctx)
    try:
        summary = run_reconciliation(settings, sessions, as_of)
    except LockBusy as exc:
        typer.echo(f"zvk: another reconciliation is running ({exc})", err=True)
        raise typer.Exit(1) from None
    assert summary is not None  # a manual run claims no slot
    typer.echo(f"Abgleich zum {as_of} (Lauf {summary.run_id}): {len(summary.findings)} Befunde")
    for kind, count in sorted(summary.counts().items()):
        typer.echo(f"  {kind:<28}{count:>6}")
    for member, counts in sorted(summary.by_member.items()):
        listed = ", ".join(f"{kind} {n}" for kind, n in sorted(counts.items()))
        typer.echo(f"Mitglied {member}: {listed}")
    later = (
        f"; {summary.points_later} weitere für Meldungen, die nach dem {as_of} eingingen"
        if summary.points_later
        else ""
    )
    typer.echo(
        f"Versorgungspunkte: {summary.points_added} berechnet, {summary.points_dropped} entfernt"
        f"{later}"
    )
    if reports:
        from ingest.reconciling.publish import build_reports  # polars: only when needed

        for published in build_reports(settings, sessions, as_of):
            typer.echo(f"Bericht {published.folder}")


def _export(output: Path | None, write: Callable[[TextIO], None]) -> None:
    if output is None:
        write(sys.stdout)
        return
    with output.open("w", newline="", encoding="utf-8") as fh:
        write(fh)


@export_app.command("abgleich")
def export_abgleich(
    ctx: typer.Context,
    output_format: FormatOption = "csv",
    output: OutputOption = None,
    run: Annotated[
        int | None,
        typer.Option("--lauf", help="This run (default: the latest finished one).", metavar="LAUF"),
    ] = None,
) -> None:
    """The reconciliation findings of the latest run, one CSV row each.

    Columns: mitgliedsnummer, abrechnungsstelle, zeitraum, art, soll, ist, differenz, bestandteil,
    versicherungsnummer, bezug, hinweis, stichtag, lauf.

    Example: zvk export abgleich --format csv --output abgleich.csv
    """
    if output_format != "csv":
        fail("--format must be csv")
    with sessions_of(ctx)() as session:
        if run is None:
            if latest_run(session) is None:
                fail("no finished reconciliation run yet (zvk reconcile)")
        else:
            if finished_run(session, run) is None:
                fail(f"--lauf {run}: no finished reconciliation run with this number")

        def write(stream: TextIO) -> None:
            write_findings(session, stream, run)

        _export(output, write)


@export_app.command("versorgungspunkte")
def export_versorgungspunkte(
    ctx: typer.Context, output_format: FormatOption = "csv", output: OutputOption = None
) -> None:
    """The pension points of every uncancelled Jahresmeldung, one CSV row each.

    Columns: versicherungsnummer, rvnr, jahr, mitgliedsnummer, abrechnungsstelle,
    versorgungspunkte, alter, altersfaktor, entgelt, elternzeit_kindmonate, meldungs_id.

    Example: zvk export versorgungspunkte --format csv --output punkte.csv
    """
    if output_format != "csv":
        fail("--format must be csv")
    with sessions_of(ctx)() as session:

        def write(stream: TextIO) -> None:
            write_points(session, stream)

        _export(output, write)
