"""The SFTP server's host keys: ``zvk sftp fingerprint``."""

from __future__ import annotations

import typer

from ingest.cli.context import settings_of

app = typer.Typer(help="The SFTP server of `zvk serve`.", no_args_is_help=True)


@app.command("fingerprint")
def sftp_fingerprint(ctx: typer.Context) -> None:
    """Print the host keys' fingerprints: give them to senders, so they can trust the server.

    Example: zvk --home /srv/zvk sftp fingerprint
    """
    from ingest.receiving.sftp import fingerprints

    for line in fingerprints(settings_of(ctx).keys):
        typer.echo(line)
