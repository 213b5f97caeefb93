"""Demo accounts for the portal: a fund operator, an approved administrator and a clerk of the
demo member, each with its one-time password (`zvk demo-portal`, `make demo-portal`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from ingest.accounts.accounts import create_account, office_ids_of
from ingest.accounts.applications import Applicant, approve, confirm, register
from ingest.accounts.audit import Actor
from ingest.accounts.clerks import ClerkForm, create_clerk
from ingest.accounts.login import issue_one_time_password
from ingest.accounts.models import ApplicationKind, Role
from ingest.settings import Settings


@dataclass(frozen=True)
class DemoAccount:
    role: str
    email: str
    one_time_password: str


def portal_demo(
    settings: Settings,
    sessions: sessionmaker[Session],
    member: str,
    offices: list[str],
    now: datetime,
) -> list[DemoAccount]:
    """Create the three accounts through the same services the portal and `zvk` use."""
    actor = Actor.command_line()
    portal = settings.portal
    with sessions.begin() as session:
        operator = create_account(
            session,
            email="kasse@zvk.example",
            first_name="Olga",
            last_name="Kasse",
            role=Role.KASSE,
            now=now,
            actor=actor,
            role_mailboxes=[],  # the fund's own demo address
        )
        operator_otp = issue_one_time_password(session, operator, actor, now, portal.otp_valid_days)
        registered = register(
            session,
            ApplicationKind.ADMINISTRATOR,
            Applicant("Anna", "Schmidt", "anna.schmidt@musterhausen.example", "030 1234567"),
            now,
            portal.role_mailboxes,
            member_number=member,
            offices=",".join(offices),
        )
        confirm(session, registered.application, now, "lokal", portal.confirmation_valid_days)
        _, admin, admin_otp = approve(
            session,
            registered.application.number,
            actor,
            now,
            otp_valid_days=portal.otp_valid_days,
            role_mailboxes=portal.role_mailboxes,
        )
        clerk = create_clerk(
            session,
            admin,
            ClerkForm(
                "bernd.weber@musterhausen.example", "Bernd", "Weber", office_ids_of(session, admin)
            ),
            actor=Actor.of(admin, "lokal"),
            now=now,
            role_mailboxes=portal.role_mailboxes,
        )
        clerk_otp = issue_one_time_password(session, clerk, actor, now, portal.otp_valid_days)
    return [
        DemoAccount("Kasse", operator.email, operator_otp),
        DemoAccount("Administrator", admin.email, admin_otp),
        DemoAccount("Sachbearbeiter", clerk.email, clerk_otp),
    ]
