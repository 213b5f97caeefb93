"""The ``zvk`` command: thin commands over the library, one clean line for every mistake."""

from __future__ import annotations

import inspect
import sys
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
import typer.main
from sqlalchemy.orm import Session, sessionmaker

from ingest.errors import ZvkError
from ingest.home import keep_private
from ingest.settings import Settings, load_settings
from ingest.storing.db import open_database, session_factory

app = typer.Typer(
    name="zvk",
    help="zvk-ingest: receives, checks, commits and answers the report files of a pension fund.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help: rich panels rewrap the examples and show Python types
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

SERVICE_COMMANDS = ("serve", "worker")
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

        service = ctx.command.name in SERVICE_COMMANDS
        logs.configure(cached, file=logs.log_file_for_terminal(cached, service))
        root.meta["zvk.settings"] = cached
    assert isinstance(cached, Settings)
    return cached


@app.callback()
def main(ctx: typer.Context, home: HomeOption = None) -> None:
    """Example: zvk --home /srv/zvk deliveries list --ergebnis abgewiesen"""
    if home is not None and not home.strip():
        fail("--home is empty: name the home folder")  # Path("") would be the working directory
    keep_private()  # whatever a command creates in the home is the service user's alone
    ctx.find_root().meta["zvk.home"] = Path(home) if home is not None else None


def sessions_of(ctx: typer.Context) -> sessionmaker[Session]:
    """Sessions on the installation's database (which `zvk init` must have prepared)."""
    return session_factory(open_database(settings_of(ctx)))


def fail(message: str) -> NoReturn:
    typer.echo(f"zvk: {message}", err=True)
    raise typer.Exit(2)


def plain_help(command: Any) -> None:
    """Help that shows what to type: ``FILE...``, ``--limit N``, a flag alone.

    Without this, typer shows a Python type for every parameter (``<bool>`` beside a flag,
    ``<list[Path]>``) and a required argument as ``{files}``. A parameter given a metavar of
    its own keeps it; the others get their name in capitals.
    """
    for param in command.params:
        if getattr(param, "is_flag", False):
            param.metavar = param.metavar or ""
            continue
        if param.metavar is None:
            param.metavar = (param.name or "value").upper()
        if param.param_type_name == "argument":
            if param.nargs != 1 and not param.metavar.endswith("..."):
                param.metavar += "..."
            piece = param.metavar if param.required else f"[{param.metavar}]"
            param.get_usage_pieces = lambda _ctx, piece=piece: [piece]
            param.display_type_rich = lambda ctx: None  # the name says it: no Python type
    if command.help:
        command.help = _keep_examples(inspect.cleandoc(command.help))
    for sub in getattr(command, "commands", {}).values():
        plain_help(sub)


def _keep_examples(text: str) -> str:
    """Mark the example paragraphs so that the help prints them line by line as written."""
    paragraphs = text.split("\n\n")
    return "\n\n".join(
        f"\b\n{p}" if p.startswith("Example") and "\n" in p else p for p in paragraphs
    )


def run() -> None:
    """Console entry point: library errors become one line and exit status 2."""
    # Importing a command module registers its commands on `app`.
    from ingest.cli import (  # noqa: F401
        accounts,
        check,
        commands,
        config,
        deliveries,
        demo,
        members,
        operations,
        persons,
        portal,
        reconcile,
        senders,
    )

    command = typer.main.get_command(app)
    plain_help(command)
    try:
        command(prog_name="zvk")
    except ZvkError as exc:
        typer.echo(f"zvk: {exc}", err=True)
        sys.exit(2)
    except OSError as exc:
        typer.echo(f"zvk: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "), err=True)
        sys.exit(2)
