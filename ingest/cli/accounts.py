"""``zvk operators add`` and ``zvk applications list|approve|reject``: the fund's side of the
portal's accounts. A one-time password is printed alone on the last line."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer

from ingest.accounts.accounts import create_account
from ingest.accounts.applications import approve, list_applications, reject
from ingest.accounts.audit import Actor
from ingest.accounts.login import issue_one_time_password
from ingest.accounts.models import ApplicationState, Role
from ingest.accounts.passwords import AccountError
from ingest.cli.context import fail, sessions_of, settings_of
from ingest.localtime import local_german

operators_app = typer.Typer(help="Accounts of the fund's staff (role Kasse).", no_args_is_help=True)
applications_app = typer.Typer(
    help="Applications for portal access (administrators, data centers).", no_args_is_help=True
)

Number = Annotated[str, typer.Argument(help="The Antragsnummer.", metavar="ANTRAGSNUMMER")]


@operators_app.command("add")
def operators_add(
    ctx: typer.Context,
    email: Annotated[str, typer.Option("--email", help="Login e-mail address.", metavar="E")],
    name: Annotated[str, typer.Option("--name", help="First and last name.", metavar="NAME")],
) -> None:
    """Create an account of the fund's staff and print its one-time password on the last line.

    Example: zvk operators add --email erika.muster@zvk.example --name "Erika Muster"
    """
    settings = settings_of(ctx)
    first, _, last = name.strip().rpartition(" ")
    now = datetime.now(UTC)
    actor = Actor.command_line()
    try:
        with sessions_of(ctx).begin() as session:
            account = create_account(
                session,
                email=email,
                first_name=first or last,
                last_name=last,
                role=Role.KASSE,
                now=now,
                actor=actor,
                role_mailboxes=settings.portal.role_mailboxes,
            )
            secret = issue_one_time_password(
                session, account, actor, now, settings.portal.otp_valid_days
            )
    except AccountError as exc:
        fail(str(exc))
    typer.echo(f"account {account.email} (Kasse) created; one-time password:")
    typer.echo(secret)


@applications_app.command("list")
def applications_list(
    ctx: typer.Context,
    state: Annotated[
        ApplicationState | None,
        typer.Option("--state", help="Only applications in this state.", metavar="S"),
    ] = None,
) -> None:
    """The applications, newest first: number, state, kind, applicant, member or Betriebsnummer.

    Example: zvk applications list --state wartet
    """
    with sessions_of(ctx)() as session:
        rows = list_applications(session, state)
    for a in rows:
        target = a.member_number or a.betriebsnummer or ""
        if a.offices:
            target += f"/{a.offices}"
        typer.echo(
            "\t".join(
                [
                    a.number,
                    a.state,
                    a.kind,
                    f"{a.first_name} {a.last_name} <{a.email}>",
                    target,
                    local_german(a.created_at),
                ]
            )
        )


@applications_app.command("approve")
def applications_approve(ctx: typer.Context, antragsnummer: Number) -> None:
    """Approve an application: creates the account and prints its one-time password last.

    Example: zvk applications approve 2026-000001
    """
    settings = settings_of(ctx)
    with sessions_of(ctx).begin() as session:
        application, account, secret = approve(
            session,
            antragsnummer,
            Actor.command_line(),
            datetime.now(UTC),
            otp_valid_days=settings.portal.otp_valid_days,
            role_mailboxes=settings.portal.role_mailboxes,
        )
    typer.echo(f"application {application.number} approved; account {account.email}")
    typer.echo("one-time password (send it by letter):")
    typer.echo(secret)


@applications_app.command("reject")
def applications_reject(
    ctx: typer.Context,
    antragsnummer: Number,
    reason: Annotated[str, typer.Option("--reason", help="Why (shown to the applicant).")],
) -> None:
    """Reject an application with a reason.

    Example: zvk applications reject 2026-000001 --reason "Formular ohne Dienstsiegel"
    """
    with sessions_of(ctx).begin() as session:
        application = reject(
            session, antragsnummer, reason, Actor.command_line(), datetime.now(UTC)
        )
    typer.echo(f"application {application.number} rejected")
