"""`zvk operators add` and `zvk applications list|approve|reject` as the command reference
binds them: the one-time password alone on the last line, one clean line and exit status 2 for
mistakes."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from ingest.accounts.models import Account, Application, AuditEntry
from ingest.settings import Settings, load_settings
from ingest.storing.db import make_engine, session_factory
from tests.portal_support import Client, Clock, register_admin

ZVK = [sys.executable, "-m", "ingest"]


def zvk(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*ZVK, "--home", str(settings.home), *args], capture_output=True, text=True, check=False
    )


def test_operators_add_prints_the_one_time_password_last(settings: Settings) -> None:
    """The account has the role Kasse; the audit log names the command line as actor."""
    done = zvk(
        settings, "operators", "add", "--email", "Olga.Kasse@zvk.example", "--name", "Olga Kasse"
    )
    assert done.returncode == 0, done.stderr
    otp = done.stdout.strip().splitlines()[-1]
    assert len(otp) == 16 and " " not in otp
    with session_factory(make_engine(settings))() as session:
        account = session.scalar(select(Account))
        assert account is not None and account.role == "kasse"
        assert account.email == "olga.kasse@zvk.example" and account.otp_hash != otp
        actors = set(session.scalars(select(AuditEntry.actor)))
    assert actors == {"zvk (Kommandozeile)"}
    again = zvk(settings, "operators", "add", "--email", "olga.kasse@zvk.example", "--name", "O K")
    assert again.returncode == 2 and again.stderr.startswith("zvk: ")


def test_applications_list_approve_and_reject(settings: Settings) -> None:
    """list names number, state, applicant and member; approving twice or an unknown number is
    a clean error; a rejected application cannot be approved."""
    client = Client(settings, Clock())
    first, _ = register_admin(client)
    second, _ = register_admin(client, email="dora.lang@musterhausen.example")
    listed = zvk(settings, "applications", "list", "--state", "wartet").stdout
    assert first in listed and second in listed and "100001/001,002" in listed
    rejected = zvk(settings, "applications", "reject", second, "--reason", "ohne Siegel")
    assert rejected.returncode == 0 and "rejected" in rejected.stdout
    assert second in zvk(settings, "applications", "list", "--state", "abgelehnt").stdout
    assert zvk(settings, "applications", "approve", second).returncode == 2
    approved = zvk(settings, "applications", "approve", first)
    assert approved.returncode == 0, approved.stderr
    assert len(approved.stdout.strip().splitlines()[-1]) == 16
    twice = zvk(settings, "applications", "approve", first)
    assert twice.returncode == 2 and "bereits genehmigt" in twice.stderr
    unknown = zvk(settings, "applications", "approve", "2026-999999")
    assert unknown.returncode == 2 and "Traceback" not in unknown.stderr


def test_approval_needs_the_member_registered(settings: Settings) -> None:
    """An application whose member is not registered (any more) is refused with the hint, in
    German (the console shows the same text)."""
    client = Client(settings, Clock())
    number, _ = register_admin(client)
    with session_factory(make_engine(settings)).begin() as session:
        application = session.scalars(select(Application).where(Application.number == number))
        application.one().member_number = "999999"
    done = zvk(settings, "applications", "approve", number)
    assert done.returncode == 2
    assert "Das Mitglied 999999 ist nicht registriert (zvk members add)." in done.stderr


def test_demo_portal_prints_three_accounts_that_sign_in(tmp_path: Path) -> None:
    """After `zvk demo`, `zvk demo-portal` prints an operator, an administrator and a clerk
    with one-time passwords that open the portal."""
    home = tmp_path / "demo-home"
    assert subprocess.run([*ZVK, "--home", str(home), "demo"], capture_output=True).returncode == 0
    done = subprocess.run(
        [*ZVK, "--home", str(home), "demo-portal"], capture_output=True, text=True, check=True
    )
    rows = [line.split() for line in done.stdout.splitlines()[1:]]
    assert [row[0] for row in rows] == ["Kasse", "Administrator", "Sachbearbeiter"]
    client = Client(load_settings(home), Clock(datetime.now(UTC)))
    for _, address, otp in rows:
        assert client.login(address, otp).url.path == "/passwort"
        client.post("/abmelden")
