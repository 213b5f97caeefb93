"""Operators' views: the delivery ledger and the export of committed reports."""

from __future__ import annotations

import csv
import sys
from pathlib import Path
from typing import Annotated, TextIO

import typer
from sqlalchemy.orm import Session, sessionmaker

from ingest.cli.context import fail, sessions_of, settings_of
from ingest.localtime import local_text
from ingest.pipeline.ledger import deliveries, delivery_with_findings
from ingest.pipeline.results import Result
from ingest.progress import read_progress
from ingest.receiving.names import shown
from ingest.settings import Settings
from ingest.storing.export import EXPORT_COLUMNS, committed_reports
from ingest.storing.models import DeliveryState
from ingest.storing.refusals import NOT_ARCHIVED, is_quarantined
from ingest.storing.registry import registered_sender

app = typer.Typer(help="The delivery ledger.", no_args_is_help=True)
export_app = typer.Typer()  # zvk export meldungen

STATES = tuple(s.value for s in DeliveryState)
RESULTS = tuple(r.value for r in Result)


@app.command("list")
def deliveries_list(
    ctx: typer.Context,
    sender: Annotated[
        str | None, typer.Option("--sender", help="Only this Betriebsnummer.")
    ] = None,
    ergebnis: Annotated[str | None, typer.Option("--ergebnis", help="Only this result.")] = None,
    state: Annotated[
        str | None,
        typer.Option("--state", help="Only this ledger state (failed = the quarantine)."),
    ] = None,
    limit: Annotated[
        int, typer.Option("--limit", help="At most this many rows (1 or more).", metavar="N")
    ] = 100,
) -> None:
    """The deliveries, newest first; Eingang in local time (Europe/Berlin) with its offset.

    Example: zvk deliveries list --sender 66667777 --ergebnis abgewiesen
    """
    if state is not None and state not in STATES:
        fail(f"--state must be one of {', '.join(STATES)}")
    if ergebnis is not None and ergebnis not in RESULTS:
        fail(f"--ergebnis must be one of {', '.join(RESULTS)}")
    if limit < 1:
        fail(f"--limit {limit}: must be 1 or more")
    with sessions_of(ctx)() as session:
        if sender is not None:
            registered_sender(session, sender)
        rows = deliveries(
            session,
            sender=sender,
            result=None if ergebnis is None else Result(ergebnis),
            state=None if state is None else DeliveryState(state),
            limit=limit,
        )
    typer.echo(
        "LieferungsId\tAbsender\tEingang\tDatei\tZustand\tErgebnis\tGesamt\tAngenommen\tAbgewiesen"
    )
    for d in rows:
        typer.echo(
            f"{d.delivery_id}	{d.sender_number}	{local_text(d.received_at)}"
            f"	{shown(d.filename)}"
            f"\t{d.state}\t{d.result or '-'}{' (Test)' if d.test else ''}"
            f"\t{d.total}\t{d.accepted}\t{d.rejected}"
        )


@app.command("show")
def deliveries_show(
    ctx: typer.Context,
    lieferungs_id: Annotated[str, typer.Argument(help="The delivery's LieferungsId.")],
) -> None:
    """One delivery with its findings.

    Example: zvk deliveries show 20261128-093000-3F9A2C
    """
    with sessions_of(ctx)() as session:
        found = delivery_with_findings(session, lieferungs_id)
    if found is None:
        fail(f"no delivery {lieferungs_id}")
    d, findings = found
    fields = [
        ("LieferungsId", d.delivery_id),
        ("Absender", d.sender_number),
        ("Datei", shown(d.filename)),
        ("Kanal", d.channel),
        ("SHA-256", d.sha256),
        ("Größe", f"{d.size} Bytes"),
        ("Eingang", local_text(d.received_at)),
        ("Verarbeitet", local_text(d.processed_at) if d.processed_at else "-"),
        ("Zustand", d.state),
        ("Test", "ja" if d.test else "nein"),
        ("Dateiart", d.file_kind or "-"),
        ("Zeitraum", d.period or "-"),
        ("Dateifolgenummer", d.file_number if d.file_number is not None else "-"),
        ("Ergebnis", d.result or "-"),
        ("Bezug", d.duplicate_of or "-"),
        ("Meldungen", f"{d.total} gesamt, {d.accepted} angenommen, {d.rejected} abgewiesen"),
        ("Archiv", _kept(d.archive_path)),
        ("Protokoll", d.protocol_path or "-"),
    ]
    if d.state in (DeliveryState.RECEIVED.value, DeliveryState.CHECKING.value):
        fields.append(("Fortschritt", _progress_text(settings_of(ctx), d.delivery_id)))
    for label, value in fields:
        typer.echo(f"{label + ':':<18}{value}")
    typer.echo(f"Befunde ({len(findings)}):")
    for f in findings:
        where = ", ".join(
            part
            for part in (
                f"Satz {f.satz}" if f.satz else "",
                f"MeldungsId {f.meldungs_id}" if f.meldungs_id else "",
                f"Feld {f.field}" if f.field else "",
                f"Zeile {f.line}" if f.line else "",
            )
            if part
        )
        typer.echo(f"  {f.code} {f.severity} {shown(where)}: {shown(f.message)}")


def _kept(archive_path: str) -> str:
    """Where the delivery's bytes are."""
    if archive_path == NOT_ARCHIVED:
        return "- (nichts aufbewahrt: keine vollständige, gewöhnliche Datei)"
    if is_quarantined(archive_path):
        return f"{shown(archive_path)} (Quarantäne; der Grund steht in der .grund.txt daneben)"
    return shown(archive_path)


def _progress_text(settings: Settings, delivery_id: str) -> str:
    """How far a running check has come (``ingest.progress``), for a delivery not yet done."""
    now = read_progress(settings, delivery_id)
    if now is None:
        return "noch nicht begonnen"
    reports = f"{now.reports:,}".replace(",", ".")
    return (
        f"{reports} Meldungen geprüft, {now.share * 100:.0f} % der Datei gelesen "
        f"(Stand {local_text(now.updated)})"
    )


@export_app.command("meldungen")
def export_meldungen(
    ctx: typer.Context,
    output_format: Annotated[str, typer.Option("--format", help="Only csv for now.")] = "csv",
    output: Annotated[
        Path | None, typer.Option("--output", help="File to write (default: standard output).")
    ] = None,
) -> None:
    """The committed reports, one CSV row each (cancelled ones marked storniert=true).

    Example: zvk export meldungen --format csv --output meldungen.csv
    """
    if output_format != "csv":
        fail("--format must be csv")
    sessions = sessions_of(ctx)
    if output is None:
        _write_csv(sessions, sys.stdout)
    else:
        with output.open("w", newline="", encoding="utf-8") as fh:
            _write_csv(sessions, fh)


def _write_csv(sessions: sessionmaker[Session], stream: TextIO) -> None:
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(EXPORT_COLUMNS)
    with sessions() as session:
        writer.writerows(committed_reports(session))
