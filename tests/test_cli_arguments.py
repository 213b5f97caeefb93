"""Every option of every command either does what it says or is refused: exit status 2 and a
message naming the option, nothing changed, never a traceback."""

from __future__ import annotations

from pathlib import Path

import paramiko
import pytest
from conftest import SENDER
from sqlalchemy import select
from zvk_inprocess import zvk_here

from ingest.settings import Settings
from ingest.storing.db import make_engine, session_factory
from ingest.storing.models import BillingOffice, Member, Sender

ARABIC_INDIC = "١٠٠٠٠١"  # 100001 in Arabic-Indic digits


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("deliveries", "list", "--limit", "-1"), "--limit"),
        (("deliveries", "list", "--limit", "0"), "--limit"),
        (("deliveries", "list", "--sender", "123"), "123"),
        (("deliveries", "list", "--sender", "12345678"), "12345678"),  # not registered
        (("payments", "list", "--limit", "-5"), "--limit"),
        (("export", "abgleich", "--lauf", "99"), "--lauf 99"),
        (("export", "abgleich"), "zvk reconcile"),  # no run yet: no header-only file
        (("reports", "build", "--mitglied", "999999"), "999999"),
        (("reports", "build", "--mitglied", "12"), "12"),
        (("reports", "list", "--mitglied", "999999"), "999999"),
        (("members", "add", "100003", "--name", "", "--abrechnungsstelle", "001"), "empty"),
        (("members", "add", "100003", "--name", "  ", "--abrechnungsstelle", "001"), "empty"),
        (("members", "add", "100003", "--name", "A\x07B", "--abrechnungsstelle", "001"), "control"),
        (("members", "add", "100003", "--name", "x" * 201, "--abrechnungsstelle", "001"), "200"),
        (
            ("members", "add", "100001", "--name", "Andere Stadt", "--abrechnungsstelle", "003"),
            "rename",
        ),
        (("senders", "add", "10000008", "--name", "", "--kind", "rechenzentrum"), "empty"),
        (("senders", "add", SENDER, "--name", "Anderes RZ", "--kind", "rechenzentrum"), "rename"),
        (("senders", "add", SENDER, "--name", "Rechenzentrum Nord", "--kind", "mitglied"), "kind"),
        (("senders", "add-key", "12345678", "{pubkey}"), "12345678"),
        (("senders", "remove-key", "12345678", "SHA256:x"), "12345678"),
        (("senders", "show", "12345678"), "12345678"),
        (("persons", "search", "--mitglied", "100001", "--rvnr", "12"), "--rvnr"),
        (("persons", "search", "--mitglied", "999999", "--rvnr", "65170839J003"), "999999"),
        (
            (
                "persons",
                "search",
                "--mitglied",
                "100001",
                "--name",
                "",
                "--geburtsdatum",
                "1970-01-01",
            ),
            "--name",
        ),
        (("demo", "--show", "0"), "--show"),
    ],
)
def test_a_silent_argument_is_refused(
    settings: Settings, capsys: pytest.CaptureFixture[str], args: tuple[str, ...], says: str
) -> None:
    args = tuple(a.replace("{pubkey}", str(_public_key(settings))) for a in args)
    before = _registry(settings)
    done = zvk_here(capsys, settings.home, *args)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert says in done.stderr, done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    assert _registry(settings) == before  # nothing renamed, nothing added


@pytest.mark.parametrize(
    "args",
    [
        ("members", "add", ARABIC_INDIC, "--name", "X", "--abrechnungsstelle", "001"),
        ("members", "add", "100003", "--name", "X", "--abrechnungsstelle", "٠٠١"),
        ("senders", "add", "٦٦٦٦٧٧٧٧", "--name", "X", "--kind", "rechenzentrum"),
        (
            "senders",
            "add",
            "６６６６７７７７",
            "--name",
            "X",
            "--kind",
            "rechenzentrum",
        ),  # fullwidth
        ("senders", "add", "१५०००००२", "--name", "X", "--kind", "rechenzentrum"),  # Devanagari
        (
            "senders",
            "add",
            "10000008",
            "--name",
            "X",
            "--kind",
            "mitglied",
            "--authorize",
            ARABIC_INDIC,
        ),
        ("senders", "show", "٦٦٦٦٧٧٧٧"),
        ("senders", "deactivate", "٦٦٦٦٧٧٧٧"),
        ("members", "deactivate", ARABIC_INDIC),
        ("deliveries", "list", "--sender", "٦٦٦٦٧٧٧٧"),
        ("deliveries", "list", "--limit", "١٠"),
        ("ingest", "--sender", "٦٦٦٦٧٧٧٧", "/dev/null"),
        ("reports", "build", "--mitglied", ARABIC_INDIC),
        ("persons", "search", "--mitglied", ARABIC_INDIC, "--rvnr", "65170839J003"),
        ("persons", "search", "--mitglied", "100001", "--rvnr", "٦٥١٧٠٨٣٩J٠٠٣"),
        ("reconcile", "--date", "٢٠٢٦-١٠-٠١"),
        ("export", "abgleich", "--lauf", "١"),
    ],
)
def test_other_scripts_digits_are_refused_on_the_command_line(
    settings: Settings, capsys: pytest.CaptureFixture[str], args: tuple[str, ...]
) -> None:
    """Numbers are ASCII digits 0-9 only; `str.isdigit` and `int` would take these."""
    before = _registry(settings)
    done = zvk_here(capsys, settings.home, *args)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr + done.stdout
    assert _registry(settings) == before
    assert sorted(p.name for p in settings.inbox.iterdir()) == sorted(
        p.name for p in settings.outbox.iterdir() if p.name != "mitglieder"
    )
    assert all(p.name.isascii() for p in [*settings.inbox.iterdir(), *settings.outbox.iterdir()])


def _public_key(settings: Settings) -> Path:
    """A real OpenSSH public key line (of the home's host key), in a file."""
    key = paramiko.ECDSAKey.from_private_key_file(str(settings.keys / "ssh_host_ecdsa_key"))
    path = settings.home.parent / "operator.pub"
    path.write_text(f"{key.get_name()} {key.get_base64()} operator\n", encoding="utf-8")
    return path


def _registry(settings: Settings) -> list[tuple[str, ...]]:
    with session_factory(make_engine(settings))() as session:
        members = [(m.number, m.name, str(m.active)) for m in session.scalars(select(Member))]
        offices = [(str(o.member_id), o.number) for o in session.scalars(select(BillingOffice))]
        senders = [
            (s.number, s.name, s.kind, str(s.active)) for s in session.scalars(select(Sender))
        ]
    return sorted(members + offices + senders)
