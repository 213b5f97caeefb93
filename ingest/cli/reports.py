"""Evaluations and reports per member: ``zvk reports build|list``."""

from __future__ import annotations

from typing import Annotated

import typer

from ingest.cli.context import sessions_of, settings_of
from ingest.cli.reconcile import DateOption, as_of_day
from ingest.storing.registry import registered_member

app = typer.Typer(help="Evaluations and reports per member.", no_args_is_help=True)


@app.command("build")
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
    as_of = as_of_day(day)
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


@app.command("list")
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
