"""Bank statements and the payments in them: ``zvk payments import|list``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ingest.cli.context import fail, sessions_of
from ingest.reconciling.bankfiles import StatementError
from ingest.reconciling.listing import payment_lines
from ingest.reconciling.payments import import_statement

app = typer.Typer(help="Bank statements and the payments in them.", no_args_is_help=True)


@app.command("import")
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


@app.command("list")
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
