"""Operators' processing commands: ``zvk worker`` (an extra worker) and ``zvk reprocess``."""

from __future__ import annotations

from typing import Annotated

import typer

from ingest.cli.context import fail, settings_of

app = typer.Typer()


@app.command()
def worker(ctx: typer.Context) -> None:
    """Process deliveries from the ledger (an extra worker beside `zvk serve`).

    Several workers share the work safely on PostgreSQL; on SQLite they take turns.

    Example: ZVK_DB__URL=postgresql+psycopg://zvk@db/zvk zvk worker
    """
    from ingest.service import run_worker

    run_worker(settings_of(ctx))


@app.command()
def reprocess(
    ctx: typer.Context,
    lieferungs_ids: Annotated[list[str], typer.Argument(help="LieferungsIds to check again.")],
) -> None:
    """Check failed (quarantined) or rejected deliveries again and write new protocols.

    Example: zvk reprocess 20261128-093000-3F9A2C
    """
    from ingest.pipeline import Service

    service = Service.open(settings_of(ctx))
    for delivery_id in lieferungs_ids:
        try:
            service.reset_for_rerun(delivery_id)
        except LookupError:
            fail(f"no delivery {delivery_id}")
        verdict = service.process(delivery_id, wait_seconds=600)
        result = verdict.result if verdict else "(busy, a worker will take it)"
        typer.echo(f"{delivery_id}\t{result}")
