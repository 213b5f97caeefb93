"""The ``zvk`` command assembled: every command module's Typer app added in one place.

Importing ``app`` gives every command. A new command module owns its app
(``app = typer.Typer(...)``) and is added here: a group with ``app.add_typer(module.app,
name="…")``, top-level commands with ``app.add_typer(module.app)`` (no name).
"""

from __future__ import annotations

import inspect
from typing import Any

import typer
import typer.main
from typer import _click  # the copy of click that typer carries and builds on
from typer.core import TyperGroup

from ingest.cli import (
    accounts,
    check,
    commands,
    config,
    deliveries,
    demo,
    members,
    operations,
    payments,
    persons,
    portal,
    reconcile,
    reports,
    rules,
    senders,
    sftp,
)
from ingest.cli.context import root_options
from ingest.errors import ZvkError


class ZvkGroup(TyperGroup):
    """The root command: plain help throughout, and a library error as one line, status 2."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        plain_help(self)

    def invoke(self, ctx: _click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ZvkError as exc:
            typer.echo(f"zvk: {exc}", err=True)
            raise typer.Exit(2) from None
        except BrokenPipeError:
            raise  # a reader that stopped early (`| head`): click ends quietly with status 1
        except OSError as exc:
            typer.echo(f"zvk: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "), err=True)
            raise typer.Exit(2) from None


app = typer.Typer(
    name="zvk",
    help="zvk-ingest: receives, checks, commits and answers the report files of a pension fund.",
    cls=ZvkGroup,
    callback=root_options,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help: rich panels rewrap the examples and show Python types
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

# The commands at the top level, in the order `zvk --help` lists them.
app.add_typer(check.app)  # check
app.add_typer(commands.app)  # init, ingest, serve
app.add_typer(demo.app)  # demo
app.add_typer(operations.app)  # worker, reprocess
app.add_typer(reconcile.app)  # reconcile
app.add_typer(portal.app)  # portal, demo-portal

export_app = typer.Typer(help="Exports of committed data.", no_args_is_help=True)
export_app.add_typer(deliveries.export_app)  # meldungen
export_app.add_typer(reconcile.export_app)  # abgleich, versorgungspunkte

# The groups, in the order `zvk --help` lists them.
app.add_typer(accounts.applications_app, name="applications")
app.add_typer(config.app, name="config")
app.add_typer(deliveries.app, name="deliveries")
app.add_typer(export_app, name="export")
app.add_typer(members.app, name="members")
app.add_typer(accounts.operators_app, name="operators")
app.add_typer(persons.app, name="persons")
app.add_typer(payments.app, name="payments")
app.add_typer(reports.app, name="reports")
app.add_typer(rules.app, name="rules")
app.add_typer(senders.app, name="senders")
app.add_typer(sftp.app, name="sftp")


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


def command() -> ZvkGroup:
    """The click command of ``zvk``, as the console script runs it."""
    made = typer.main.get_command(app)
    assert isinstance(made, ZvkGroup)
    return made


def run() -> None:
    """Console entry point: parses ``sys.argv`` and exits with the command's status."""
    command().main(prog_name="zvk")
