"""The ``zvk`` command: thin commands over the library, one clean line for every mistake."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from sqlalchemy.orm import Session, sessionmaker

from ingest.errors import ZvkError
from ingest.settings import Settings, load_settings
from ingest.storing.db import open_database, session_factory

app = typer.Typer(
    name="zvk",
    help="zvk-ingest: receives, checks, commits and answers the report files of a pension fund.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

HomeOption = Annotated[
    str | None,
    typer.Option(
        "--home",
        help="Home folder of the installation (default: $ZVK_HOME, else ~/.local/share/zvk).",
        show_default=False,
    ),
]


def settings_of(ctx: typer.Context) -> Settings:
    """The settings, loaded once per invocation from the home named by --home or ZVK_HOME."""
    root = ctx.find_root()
    cached = root.meta.get("zvk.settings")
    if cached is None:
        cached = load_settings(root.meta.get("zvk.home"))
        from ingest import logs

        logs.configure(cached)
        root.meta["zvk.settings"] = cached
    assert isinstance(cached, Settings)
    return cached


@app.callback()
def main(ctx: typer.Context, home: HomeOption = None) -> None:
    """Example: zvk --home /srv/zvk deliveries list --ergebnis abgewiesen"""
    if home is not None and not home.strip():
        fail("--home is empty: name the home folder")  # Path("") would be the working directory
    ctx.find_root().meta["zvk.home"] = Path(home) if home is not None else None


def sessions_of(ctx: typer.Context) -> sessionmaker[Session]:
    """Sessions on the installation's database (which `zvk init` must have prepared)."""
    return session_factory(open_database(settings_of(ctx)))


def fail(message: str) -> NoReturn:
    typer.echo(f"zvk: {message}", err=True)
    raise typer.Exit(2)


def run() -> None:
    """Console entry point: library errors become one line and exit status 2."""
    # Importing a command module registers its commands on `app`.
    from ingest.cli import (  # noqa: F401
        check,
        commands,
        config,
        deliveries,
        demo,
        members,
        operations,
        persons,
        reconcile,
        senders,
    )

    try:
        app()
    except ZvkError as exc:
        typer.echo(f"zvk: {exc}", err=True)
        sys.exit(2)
    except OSError as exc:
        typer.echo(f"zvk: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "), err=True)
        sys.exit(2)
