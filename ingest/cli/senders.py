"""Senders and their SFTP logins: ``zvk senders add|add-key|remove-key|list|show|rename|…``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ingest.cli.context import fail, sessions_of, settings_of
from ingest.home import sender_folders
from ingest.storing.credentials import (
    PublicKey,
    add_key,
    has_password,
    keys_of,
    read_public_keys,
    remove_key,
    set_password,
)
from ingest.storing.registry import (
    Grant,
    add_sender,
    check_name,
    grants_of,
    list_senders,
    registered_sender,
    rename_sender,
    set_sender_active,
)

app = typer.Typer(
    help="Senders (data centers, members), what they may report, and their SFTP logins.",
    no_args_is_help=True,
)

KeyFiles = Annotated[
    list[Path] | None,
    typer.Option(
        "--ssh-key",
        exists=True,
        dir_okay=False,
        readable=True,
        help="OpenSSH public key file (.pub or authorized_keys) the sender logs in with (repeat).",
    ),
]


SenderNumber = Annotated[
    str, typer.Argument(help="8-digit Betriebsnummer of the sender.", metavar="BETRIEBSNUMMER")
]


def _read_keys(files: list[Path]) -> list[PublicKey]:
    """Read every key before anything is stored, so a bad file changes nothing."""
    return [key for path in files for key in read_public_keys(path)]


def _read_password() -> str:
    """One line from stdin: scripts pipe it in, so it never shows in `ps` or the shell history."""
    password = typer.get_text_stream("stdin").readline().rstrip("\r\n")
    if not password:
        fail("--password-stdin: no password on standard input")
    return password


@app.command("add")
def senders_add(
    ctx: typer.Context,
    betriebsnummer: Annotated[str, typer.Argument(help="8-digit Betriebsnummer of the sender.")],
    name: Annotated[str, typer.Option("--name", help="Name of the sender.")],
    kind: Annotated[str, typer.Option("--kind", help="rechenzentrum or mitglied.")],
    authorize: Annotated[
        list[str] | None,
        typer.Option("--authorize", help="MITGLIED or MITGLIED/NNN the sender may report for."),
    ] = None,
    ssh_key: KeyFiles = None,
    password_stdin: Annotated[
        bool,
        typer.Option("--password-stdin", help="Read an SFTP password from standard input."),
    ] = False,
) -> None:
    """Register a sender and what it may report for; creates its inbox and outbox.

    Again for the same sender: adds what is new (grants, keys; a password replaces the old
    one); a different --name or --kind is refused (zvk senders rename). The SFTP login name is
    the Betriebsnummer.

    Example:
      zvk senders add 66667777 --name "RZ Nord" --kind rechenzentrum --authorize 100001 \\
          --ssh-key rz-nord.pub
    """
    settings = settings_of(ctx)
    check_name(name, "--name: sender")
    grants = [Grant.parse(text) for text in authorize or []]
    keys = _read_keys(ssh_key or [])
    password = _read_password() if password_stdin else None
    with sessions_of(ctx).begin() as session:
        add_sender(session, betriebsnummer, name, kind, grants)
        added = sum(add_key(session, betriebsnummer, key) for key in keys)
        if password is not None:
            set_password(session, betriebsnummer, password)
    sender_folders(settings, betriebsnummer)
    typer.echo(f"sender {betriebsnummer}: inbox {settings.inbox / betriebsnummer}")
    if keys:
        typer.echo(f"sender {betriebsnummer}: {added} new SSH key(s)")
    if password is not None:
        typer.echo(f"sender {betriebsnummer}: SFTP password set")


@app.command("add-key")
def senders_add_key(
    ctx: typer.Context,
    betriebsnummer: Annotated[str, typer.Argument(help="Betriebsnummer of the sender.")],
    files: Annotated[
        list[Path],
        typer.Argument(exists=True, dir_okay=False, readable=True, help="Public key files."),
    ],
) -> None:
    """Let a registered sender log in with more SSH keys (a key it has is left as it is).

    Example: zvk senders add-key 66667777 rz-nord-2026.pub
    """
    keys = _read_keys(files)
    with sessions_of(ctx).begin() as session:
        registered_sender(session, betriebsnummer)
        for key in keys:
            new = add_key(session, betriebsnummer, key)
            typer.echo(f"{key.fingerprint}\t{'added' if new else 'already there'}")


@app.command("remove-key")
def senders_remove_key(
    ctx: typer.Context,
    betriebsnummer: Annotated[str, typer.Argument(help="Betriebsnummer of the sender.")],
    fingerprint: Annotated[
        str, typer.Argument(help="SHA256:… fingerprint, as `zvk senders list` shows it.")
    ],
) -> None:
    """Withdraw one SSH key of a sender; its next login with that key is refused.

    Example: zvk senders remove-key 66667777 SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s
    """
    with sessions_of(ctx).begin() as session:
        registered_sender(session, betriebsnummer)
        if not remove_key(session, betriebsnummer, fingerprint):
            fail(f"sender {betriebsnummer} has no key {fingerprint}")
    typer.echo(f"sender {betriebsnummer}: key {fingerprint} removed")


@app.command("list")
def senders_list(ctx: typer.Context) -> None:
    """The senders with their SFTP logins: one line each, then one line per SSH key.

    Example: zvk senders list
    """
    with sessions_of(ctx)() as session:  # read first: a failure prints nothing on stdout
        rows = [
            (s, keys_of(session, s.number), has_password(session, s.number))
            for s in list_senders(session)
        ]
    for sender, keys, password in rows:
        state = "aktiv" if sender.active else "inaktiv"
        typer.echo(
            f"{sender.number}\t{sender.kind}\t{state}\t{len(keys)} SSH-Schlüssel, "
            f"Passwort {'gesetzt' if password else 'keins'}\t{sender.name}"
        )
        for key in keys:
            typer.echo(f"  {key.fingerprint}\t{key.key_type}\t{key.comment or ''}".rstrip())


@app.command("show")
def senders_show(ctx: typer.Context, betriebsnummer: SenderNumber) -> None:
    """One sender: name, kind, state, what it may report for, its SSH keys and password.

    Example: zvk senders show 66667777
    """
    with sessions_of(ctx)() as session:
        sender = registered_sender(session, betriebsnummer)
        grants = grants_of(session, betriebsnummer)
        keys = keys_of(session, betriebsnummer)
        password = has_password(session, betriebsnummer)
    fields = [
        ("Betriebsnummer", sender.number),
        ("Name", sender.name),
        ("Art", sender.kind),
        ("Zustand", "aktiv" if sender.active else "inaktiv (Anmeldung und Abgabe gesperrt)"),
        ("Meldet für", ", ".join(grants) or "-"),
        ("Passwort", "gesetzt" if password else "keins"),
        ("SSH-Schlüssel", str(len(keys))),
    ]
    for label, value in fields:
        typer.echo(f"{label + ':':<16}{value}")
    for key in keys:
        typer.echo(f"  {key.fingerprint}\t{key.key_type}\t{key.comment or ''}".rstrip())


@app.command("rename")
def senders_rename(
    ctx: typer.Context,
    betriebsnummer: SenderNumber,
    name: Annotated[str, typer.Option("--name", help="The new name.", metavar="NAME")],
) -> None:
    """Give a registered sender a new name.

    Example: zvk senders rename 66667777 --name "RZ Nord-West"
    """
    check_name(name, "--name: sender")  # the same answer as `add` gives, before the database
    with sessions_of(ctx).begin() as session:
        sender = rename_sender(session, betriebsnummer, name)
        typer.echo(f"sender {betriebsnummer}: name {sender.name}")


@app.command("deactivate")
def senders_deactivate(ctx: typer.Context, betriebsnummer: SenderNumber) -> None:
    """Deactivate a sender: its SFTP logins are refused, and files in its drop folder are
    answered with ZVVO021 (not admitted). Keys, password and grants stay.

    Example: zvk senders deactivate 66667777
    """
    with sessions_of(ctx).begin() as session:
        changed = set_sender_active(session, betriebsnummer, False)
    typer.echo(f"sender {betriebsnummer}: inactive" + ("" if changed else " (already)"))


@app.command("activate")
def senders_activate(ctx: typer.Context, betriebsnummer: SenderNumber) -> None:
    """Activate a deactivated sender again.

    Example: zvk senders activate 66667777
    """
    with sessions_of(ctx).begin() as session:
        changed = set_sender_active(session, betriebsnummer, True)
    typer.echo(f"sender {betriebsnummer}: active" + ("" if changed else " (already)"))
