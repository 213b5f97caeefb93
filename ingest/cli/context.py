"""What every command takes from its invocation: the home option, the settings, the database
sessions, and the one way to refuse a mistake (a ``zvk:`` line and exit status 2).

Command modules import this module, never ``ingest.cli.main``, which assembles them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, NoReturn

import typer
from sqlalchemy.orm import Session, sessionmaker

from ingest.home import keep_private
from ingest.settings import Settings, load_settings
from ingest.storing.db import open_database, session_factory

SERVICE_COMMANDS = ("serve", "worker")
HomeOption = Annotated[
    str | None,
    typer.Option(
        "--home",
        help="Home folder of the installation (default: $ZVK_HOME, else ~/.local/share/zvk).",
        show_default=False,
    ),
]


def root_options(ctx: typer.Context, home: HomeOption = None) -> None:
    """Example: zvk --home /srv/zvk deliveries list --ergebnis abgewiesen"""
    if home is not None and not home.strip():
        fail("--home is empty: name the home folder")  # Path("") would be the working directory
    keep_private()  # whatever a command creates in the home is the service user's alone
    ctx.find_root().meta["zvk.home"] = Path(home) if home is not None else None


def settings_of(ctx: typer.Context) -> Settings:
    """The settings, loaded once per invocation from the home named by --home or ZVK_HOME."""
    root = ctx.find_root()
    cached = root.meta.get("zvk.settings")
    if cached is None:
        cached = load_settings(root.meta.get("zvk.home"))
        from ingest import logs

        service = ctx.command.name in SERVICE_COMMANDS
        logs.configure(cached, file=logs.log_file_for_terminal(cached, service))
        root.meta["zvk.settings"] = cached
    assert isinstance(cached, Settings)
    return cached


def sessions_of(ctx: typer.Context) -> sessionmaker[Session]:
    """Sessions on the installation's database (which `zvk init` must have prepared)."""
    return session_factory(open_database(settings_of(ctx)))


def fail(message: str) -> NoReturn:
    """Refuse a mistake in the command: one ``zvk:`` line on standard error, exit status 2."""
    typer.echo(f"zvk: {message}", err=True)
    raise typer.Exit(2)
