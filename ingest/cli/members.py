"""The fund's members: ``zvk members add|rename|list|deactivate|activate``."""

from __future__ import annotations

from typing import Annotated

import typer

from ingest.cli.context import sessions_of
from ingest.storing.registry import (
    add_member,
    check_name,
    list_members,
    rename_member,
    set_member_active,
)

app = typer.Typer(help="The fund's members and their billing offices.", no_args_is_help=True)

MemberNumber = Annotated[
    str, typer.Argument(help="6-digit Mitgliedsnummer.", metavar="MITGLIEDSNUMMER")
]


@app.command("add")
def members_add(
    ctx: typer.Context,
    mitgliedsnummer: MemberNumber,
    name: Annotated[str, typer.Option("--name", help="Name of the member.", metavar="NAME")],
    abrechnungsstelle: Annotated[
        list[str],
        typer.Option("--abrechnungsstelle", help="3-digit billing office (repeat).", metavar="NNN"),
    ],
) -> None:
    """Register a member and its billing offices (again: adds new billing offices).

    A registered member keeps its name: a different --name is refused (zvk members rename).

    Example: zvk members add 100001 --name "Stadt Musterhausen" --abrechnungsstelle 001
    """
    check_name(name, "--name: member")
    with sessions_of(ctx).begin() as session:
        add_member(session, mitgliedsnummer, name, abrechnungsstelle)
    typer.echo(f"member {mitgliedsnummer}: billing offices {', '.join(abrechnungsstelle)}")


@app.command("rename")
def members_rename(
    ctx: typer.Context,
    mitgliedsnummer: MemberNumber,
    name: Annotated[str, typer.Option("--name", help="The new name.", metavar="NAME")],
) -> None:
    """Give a registered member a new name.

    Example: zvk members rename 100001 --name "Stadt Musterhausen (Eigenbetrieb)"
    """
    check_name(name, "--name: member")  # the same answer as `add` gives, before the database
    with sessions_of(ctx).begin() as session:
        member = rename_member(session, mitgliedsnummer, name)
        typer.echo(f"member {mitgliedsnummer}: name {member.name}")


@app.command("list")
def members_list(ctx: typer.Context) -> None:
    """The members: number, state, billing offices (an inactive one marked), name.

    Example: zvk members list
    """
    with sessions_of(ctx)() as session:  # opened first: a failure prints nothing on stdout
        rows = list_members(session)
    typer.echo("Mitglied\tZustand\tAbrechnungsstellen\tName")
    for member, offices in rows:
        numbers = ", ".join(o.number + ("" if o.active else " (inaktiv)") for o in offices)
        state = "aktiv" if member.active else "inaktiv"
        typer.echo(f"{member.number}\t{state}\t{numbers or '-'}\t{member.name}")


@app.command("deactivate")
def members_deactivate(ctx: typer.Context, mitgliedsnummer: MemberNumber) -> None:
    """Deactivate a member: reports for it are refused (ZVME100); its data stays.

    Example: zvk members deactivate 100001
    """
    with sessions_of(ctx).begin() as session:
        changed = set_member_active(session, mitgliedsnummer, False)
    typer.echo(f"member {mitgliedsnummer}: inactive" + ("" if changed else " (already)"))


@app.command("activate")
def members_activate(ctx: typer.Context, mitgliedsnummer: MemberNumber) -> None:
    """Activate a deactivated member again.

    Example: zvk members activate 100001
    """
    with sessions_of(ctx).begin() as session:
        changed = set_member_active(session, mitgliedsnummer, True)
    typer.echo(f"member {mitgliedsnummer}: active" + ("" if changed else " (already)"))
