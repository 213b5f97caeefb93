"""Payments, reconciliation, pension points, evaluations: thin commands over ingest.reconciling."""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, TextIO
from zoneinfo import ZoneInfo

import typer

from ingest.cli.deliveries import export_app
from ingest.cli.main import app, fail, sessions_of, settings_of
from ingest.reconciling.bankfiles import StatementError
from ingest.reconciling.exports import write_findings, write_points
from ingest.reconciling.listing import payment_lines
from ingest.reconciling.lock import LockBusy
from ingest.reconciling.models import ReconciliationRun
from ingest.reconciling.payments import import_statement
from ingest.reconciling.runs import latest_run, run_reconciliation
from ingest.storing.registry import registered_member

payments_app = typer.Typer(help="Bank statements and the payments in them.", no_args_is_help=True)
reports_app = typer.Typer(help="Evaluations and reports per member.", no_args_is_help=True)
app.add_typer(payments_app, name="payments")
app.add_typer(reports_app, name="reports")

DateOption = Annotated[
    str | None,
    typer.Option("--date", help="Day as of which (YYYY-MM-DD); default: today in Europe/Berlin."),
]
OutputOption = Annotated[
    Path | None, typer.Option("--output", help="File to write (default: standard output).")
]
FormatOption = Annotated[str, typer.Option("--format", help="Only csv for now.")]


def _day(text: str | None) -> date:
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


@payments_app.command("import")
def payments_import(
    ctx: typer.Context,
    files: Annotated[
        list[Path],
        typer.Argument(exists=True, dir_okay=False, readable=True, help="camt.053 or CSV files."),
    ],
) -> None:
    """Import bank statements; an entry already booked is not booked again.

    Prints one line per file: name, format, entries, new, already booked, matched, unmatched.
    Exit status 1 when a file cannot be read (the others are imported all the same).

    Example: zvk payments import kontoauszug-2026-10.xml korrekturen.csv
    """
    sessions = sessions_of(ctx)
    worst = 0
    for path in files:
        try:
            result = import_statement(sessions, path.read_bytes(), path.name)
        except StatementError as exc:
            typer.echo(f"zvk: {path}: {exc}", err=True)
            worst = 1
            continue
        typer.echo(
            f"{path.name}\t{result.file_format}\teintraege={result.entries} neu={result.booked} "
            f"bereits_gebucht={result.duplicates} zugeordnet={result.matched} "
            f"unzugeordnet={result.unmatched}"
        )
    raise typer.Exit(worst)


@payments_app.command("list")
def payments_list(
    ctx: typer.Context,
    unmatched: Annotated[
        bool, typer.Option("--unzugeordnet", help="Only payments without member and month.")
    ] = False,
    limit: Annotated[
        int, typer.Option("--limit", help="At most this many rows (1 or more).", metavar="N")
    ] = 200,
) -> None:
    """The booked payments, newest booking first (operators clear the unmatched ones).

    Tab-separated: Buchungstag, Betrag, Währung, Konto, Referenz, Mitglied, Abrechnungsstelle,
    Monat, Auftraggeber, Verwendungszweck, Hinweis. Tabs, line breaks, backslashes and control
    characters in a field are printed as escapes (\\t, \\n, \\xNN). A credit reversed by a
    correcting debit, and that debit, are no longer unmatched.

    Example: zvk payments list --unzugeordnet
    """
    if limit < 1:
        fail(f"--limit {limit}: must be 1 or more")
    with sessions_of(ctx)() as session:
        for line in payment_lines(session, unmatched=unmatched, limit=limit):
            typer.echo(line)


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
    as_of = _day(day)
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
            chosen = session.get(ReconciliationRun, run)
            if chosen is None or chosen.status != "done":
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


@reports_app.command("build")
def reports_build(
    ctx: typer.Context,
    day: DateOption = None,
    member: Annotated[
        list[str] | None,
        typer.Option("--mitglied", help="Only this member (repeat).", metavar="MITGLIED"),
    ] = None,
) -> None:
    """Write the evaluations (CSV, XLSX, HTML) per member and for the fund.

    They use the findings of the latest reconciliation run (zvk reconcile).

    Example: zvk reports build --date 2027-03-01 --mitglied 100001
    """
    as_of = _day(day)
    sessions = sessions_of(ctx)
    with sessions() as session:
        for number in member or []:
            registered_member(session, number)
    from ingest.reconciling.publish import build_reports  # polars: only when needed

    published = build_reports(settings_of(ctx), sessions, as_of, members=member or None)
    for p in published:
        typer.echo(f"{p.member or 'Kasse'}\t{p.as_of}\t{p.folder}")
    if published and published[0].run_day is None:
        typer.echo(f"Hinweis: kein Abgleichslauf bis zum {as_of}; Befunde fehlen (zvk reconcile).")


@reports_app.command("list")
def reports_list(
    ctx: typer.Context,
    member: Annotated[
        str | None, typer.Option("--mitglied", help="Only this member.", metavar="MITGLIED")
    ] = None,
) -> None:
    """The written reports, newest first: member (or Kasse), day, folder.

    Example: zvk reports list --mitglied 100001
    """
    from ingest.reconciling.publish import list_reports

    with sessions_of(ctx)() as session:  # opened first: a failure prints nothing on stdout
        if member is not None:
            registered_member(session, member)
    reports = list_reports(settings_of(ctx), member)
    typer.echo("Mitglied\tStichtag\tOrdner")
    for p in reports:
        typer.echo(f"{p.member or 'Kasse'}\t{p.as_of}\t{p.folder}")
