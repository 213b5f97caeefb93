"""``zvk portal``: serve the online portal alone (several such processes can share one database)."""

from __future__ import annotations

from datetime import UTC, datetime

import typer

from ingest.cli.context import fail, sessions_of, settings_of

app = typer.Typer()


@app.command("portal")
def portal(ctx: typer.Context) -> None:
    """Serve the online portal alone at portal.host:portal.port until SIGTERM or SIGINT.

    Example: ZVK_PORTAL__PORT=8081 zvk portal
    """
    from ingest.portal.server import listening_socket, portal_server

    settings = settings_of(ctx)
    server = portal_server(settings)
    try:
        sock = listening_socket(settings)
    except OSError as exc:
        fail(f"the portal cannot start: {exc.strerror or exc}")
    typer.echo(f"portal at http://{settings.portal.host}:{settings.portal.port}/", err=True)
    server.run(sockets=[sock])


@app.command("demo-portal")
def demo_portal(ctx: typer.Context) -> None:
    """Add portal demo accounts to a `zvk demo` home and print their one-time passwords.

    Example: zvk --home demo-home demo-portal   (after zvk --home demo-home demo)
    """
    from ingest.portal.demo import portal_demo
    from ingest.samples.demo_files import DEMO_MEMBER, DEMO_OFFICES

    settings = settings_of(ctx)
    accounts = portal_demo(
        settings, sessions_of(ctx), DEMO_MEMBER, list(DEMO_OFFICES), datetime.now(UTC)
    )
    typer.echo(f"portal: {settings.portal.base_url}/anmelden (start it with: zvk serve)")
    for account in accounts:
        typer.echo(f"{account.role:<15} {account.email:<36} {account.one_time_password}")
