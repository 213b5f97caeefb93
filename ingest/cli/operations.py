"""Operators' maintenance commands: workers, re-runs, the quarantine, person search."""

from __future__ import annotations

import typer

from ingest.cli.main import app, settings_of


@app.command()
def worker(ctx: typer.Context) -> None:
    """Process deliveries from the ledger (an extra worker beside `zvk serve`).

    Several workers share the work safely on PostgreSQL; on SQLite they take turns.

    Example: ZVK_DB__URL=postgresql+psycopg://zvk@db/zvk zvk worker
    """
    from ingest.service import run_worker

    run_worker(settings_of(ctx))
