"""``zvk portal``: serve the online portal alone (several such processes can share one database)."""

from __future__ import annotations

import typer

from ingest.cli.main import app, fail, settings_of

portal_app = typer.Typer()
app.add_typer(portal_app)


@portal_app.command("portal")
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
