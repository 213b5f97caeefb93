"""Applications for an administrator's or a data center's access, and the fund's decision.

An application is stored with its number (Antragsnummer), waits for its e-mail address to be
confirmed and for the signed letter, and is approved or rejected by the fund's staff. Approval
creates the account and returns its first one-time password, once.
"""

from __future__ import annotations

import enum
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ingest.accounts.accounts import check_email, check_person_name, create_account
from ingest.accounts.audit import Actor, record
from ingest.accounts.login import find_account, issue_one_time_password
from ingest.accounts.models import (
    Account,
    Application,
    ApplicationKind,
    ApplicationState,
    AuditEntry,
    Role,
    utc,
)
from ingest.accounts.problems import AccountError, Problems
from ingest.accounts.sessions import digest
from ingest.accounts.text import visible
from ingest.errors import UsageError
from ingest.storing.models import BillingOffice
from ingest.storing.registry import add_sender, find_member, find_sender
from ingest.validating.identifiers import betriebsnummer_valid

_MEMBER = re.compile(r"[0-9]{6}")
_OFFICE = re.compile(r"[0-9]{3}")
REGISTRATION_WINDOW = timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class Registered:
    application: Application
    confirm_token: str  # for the link in the confirmation mail (empty when ``repeated``)
    form_token: str  # for the link to the application form (PDF)
    repeated: bool = False  # the same form sent again: nothing new was stored


@dataclass(frozen=True)
class Applicant:
    first_name: str
    last_name: str
    email: str
    phone: str


def _offices(text: str) -> list[str]:
    offices = [part.strip() for part in text.replace(";", ",").split(",") if part.strip()]
    if not offices or any(not _OFFICE.fullmatch(o) for o in offices):
        raise AccountError("Abrechnungsstellen: dreistellige Nummern, durch Kommas getrennt.")
    return sorted(set(offices))


NOT_AGAIN = (
    "Mit dieser E-Mail-Adresse ist keine neue Registrierung möglich. Haben Sie schon einen "
    "Zugang oder einen offenen Antrag, wenden Sie sich bitte an die Kasse."
)


def _pending(session: Session, email: str) -> bool:
    """Whether an account or an undecided application holds the address."""
    undecided = (ApplicationState.UNCONFIRMED.value, ApplicationState.WAITING.value)
    return find_account(session, email) is not None or (
        session.scalar(
            select(Application.id)
            .where(Application.email == email, Application.state.in_(undecided))
            .limit(1)
        )
        is not None
    )


def _member_offices(session: Session, number: str, offices: str, problems: Problems) -> str:
    """The billing offices asked for, checked against the fund's registry of the member."""
    if not _MEMBER.fullmatch(number):
        problems.add("member_number", "Die Mitgliedsnummer hat sechs Ziffern.")
        return ""
    member = find_member(session, number)
    if member is None:
        problems.add("member_number", f"Die Mitgliedsnummer {number} ist der Kasse nicht bekannt.")
    office_list: list[str] = []
    with problems.at("offices"):
        office_list = _offices(offices)
    if member is not None and office_list:
        known = set(
            session.scalars(
                select(BillingOffice.number).where(
                    BillingOffice.member_id == member.id, BillingOffice.number.in_(office_list)
                )
            )
        )
        unknown = [o for o in office_list if o not in known]
        if unknown:
            problems.add(
                "offices",
                f"Das Mitglied {number} hat keine Abrechnungsstelle {', '.join(unknown)}.",
            )
    return ",".join(office_list)


def register(
    session: Session,
    kind: ApplicationKind,
    applicant: Applicant,
    now: datetime,
    role_mailboxes: list[str],
    *,
    member_number: str = "",
    offices: str = "",
    center_name: str = "",
    betriebsnummer: str = "",
    client: str = "-",
    form_token: str | None = None,
    problems: Problems | None = None,
) -> Registered:
    """Store an application (state: e-mail unconfirmed), refused with every problem at once
    (:class:`FormErrors`) unless the fund could approve it: a known member with those billing
    offices, an address without an account or an undecided application.

    ``form_token`` (from the form, at least 32 characters) makes a repeated submission of the
    same form find the application stored by the first (``Registered.repeated``).
    ``client`` is the applicant's address. ``problems`` may carry the form's own problems (the
    terms not accepted) to report with these.
    """
    if form_token is not None and len(form_token) >= 32:
        earlier = by_form_token(session, form_token)
        if earlier is not None:
            return Registered(earlier, "", form_token, repeated=True)
    else:
        form_token = secrets.token_urlsafe(24)
    problems = problems or Problems()
    email = first = last = office_list = ""
    with problems.at("email"):
        email = check_email(applicant.email, role_mailboxes)
        if _pending(session, email):
            raise AccountError(NOT_AGAIN)
    with problems.at("first_name"):
        first = check_person_name(applicant.first_name, "den Vornamen")
    with problems.at("last_name"):
        last = check_person_name(applicant.last_name, "den Nachnamen")
    if kind is ApplicationKind.ADMINISTRATOR:
        office_list = _member_offices(session, member_number.strip(), offices, problems)
    else:
        with problems.at("center_name"):
            center_name = check_person_name(center_name, "den Namen des Rechenzentrums")
        if not betriebsnummer_valid(betriebsnummer.strip()):
            problems.add(
                "betriebsnummer",
                "Die Betriebsnummer ist nicht gültig (acht Ziffern mit Prüfziffer).",
            )
    problems.raise_any()
    confirm_token = secrets.token_urlsafe(24)
    application = Application(
        number=digest(form_token)[:20],  # replaced by the number below once the row has its id
        kind=kind.value,
        state=ApplicationState.UNCONFIRMED.value,
        first_name=first,
        last_name=last,
        email=email,
        phone=visible(applicant.phone.strip(), "Die Telefonnummer")[:50],
        member_number=member_number.strip() or None,
        offices=office_list,
        center_name=center_name or None,
        betriebsnummer=betriebsnummer.strip() or None,
        confirm_token=digest(confirm_token),
        form_token=digest(form_token),
        created_at=now,
    )
    session.add(application)
    session.flush()
    application.number = f"{now:%Y}-{application.id:06d}"
    record(session, now, "application.registered", Actor(email, client), details=application.number)
    return Registered(application, confirm_token, form_token)


def by_confirm_token(session: Session, token: str) -> Application | None:
    return session.scalar(select(Application).where(Application.confirm_token == digest(token)))


def by_form_token(session: Session, token: str) -> Application | None:
    return session.scalar(select(Application).where(Application.form_token == digest(token)))


def too_many_registrations(
    session: Session, email: str, client: str, now: datetime, per_address: int, per_email: int
) -> bool:
    """Whether ``client`` or the e-mail address has filed its allowance of applications within
    REGISTRATION_WINDOW."""
    since = now - REGISTRATION_WINDOW
    from_client = session.scalar(
        select(func.count())
        .select_from(AuditEntry)
        .where(AuditEntry.action == "application.registered")
        .where(AuditEntry.client == client[:64], AuditEntry.at >= since)
    )
    for_email = session.scalar(
        select(func.count())
        .select_from(Application)
        .where(func.lower(Application.email) == email.strip().lower())
        .where(Application.created_at >= since)
    )
    return (from_client or 0) >= per_address or (for_email or 0) >= per_email


class Link(enum.Enum):
    """What an application's links (confirmation, form) still do."""

    CONFIRM = "confirm"  # the e-mail address can be confirmed; the form can be downloaded
    WAITING = "waiting"  # confirmed, the letter awaited; the form can be downloaded
    DECIDED = "decided"  # approved: the link shows that, the form is gone
    EXPIRED = "expired"  # not confirmed in time: nothing but that message
    REJECTED = "rejected"  # nothing but that message


def link_state(application: Application, now: datetime, valid_days: int) -> Link:
    state = ApplicationState(application.state)
    if state is ApplicationState.REJECTED:
        return Link.REJECTED
    if state is ApplicationState.APPROVED:
        return Link.DECIDED
    if state is ApplicationState.WAITING:
        return Link.WAITING
    if now - utc(application.created_at) > timedelta(days=valid_days):
        return Link.EXPIRED
    return Link.CONFIRM


def confirm(
    session: Session, application: Application, now: datetime, client: str, valid_days: int
) -> bool:
    """Confirm the application's e-mail address, if its link still can; whether it did."""
    if link_state(application, now, valid_days) is not Link.CONFIRM:
        return False
    application.state = ApplicationState.WAITING.value
    record(
        session,
        now,
        "application.confirmed",
        Actor(application.email, client),
        details=application.number,
    )
    return True


def find_application(session: Session, number: str) -> Application:
    application = session.scalar(select(Application).where(Application.number == number))
    if application is None:
        raise UsageError(f"Es gibt keinen Antrag {number}.")
    return application


def list_applications(session: Session, state: ApplicationState | None = None) -> list[Application]:
    query = select(Application).order_by(Application.created_at.desc(), Application.id.desc())
    if state is not None:
        query = query.where(Application.state == state.value)
    return list(session.scalars(query))


def _undecided(application: Application) -> None:
    if application.state == ApplicationState.UNCONFIRMED:
        raise UsageError(
            f"Antrag {application.number}: die E-Mail-Adresse ist noch nicht bestätigt."
        )
    if application.state != ApplicationState.WAITING:
        raise UsageError(f"Antrag {application.number} ist bereits {application.state}.")


def approve(
    session: Session,
    number: str,
    actor: Actor,
    now: datetime,
    *,
    otp_valid_days: int,
    role_mailboxes: list[str],
) -> tuple[Application, Account, str]:
    """Create the applicant's account; returns its one-time password (shown once)."""
    application = find_application(session, number)
    _undecided(application)
    if application.kind == ApplicationKind.ADMINISTRATOR:
        account = _administrator(session, application, actor, now, role_mailboxes)
    else:
        account = _data_center(session, application, actor, now, role_mailboxes)
    application.state = ApplicationState.APPROVED.value
    application.decided_at = now
    application.account_id = account.id
    record(session, now, "application.approved", actor, account, details=application.number)
    secret = issue_one_time_password(session, account, actor, now, otp_valid_days)
    return application, account, secret


def _administrator(
    session: Session, application: Application, actor: Actor, now: datetime, mailboxes: list[str]
) -> Account:
    member = find_member(session, application.member_number or "")
    if member is None:
        raise UsageError(
            f"Das Mitglied {application.member_number} ist nicht registriert (zvk members add)."
        )
    wanted = application.offices.split(",")
    offices = {
        o.number: o.id
        for o in session.scalars(
            select(BillingOffice).where(
                BillingOffice.member_id == member.id, BillingOffice.number.in_(wanted)
            )
        )
    }
    missing = [o for o in wanted if o not in offices]
    if missing:
        raise UsageError(
            f"Das Mitglied {member.number} hat keine Abrechnungsstelle {', '.join(missing)}."
        )
    return create_account(
        session,
        email=application.email,
        first_name=application.first_name,
        last_name=application.last_name,
        phone=application.phone,
        role=Role.ADMINISTRATOR,
        now=now,
        actor=actor,
        role_mailboxes=mailboxes,
        member_id=member.id,
        office_ids=sorted(offices.values()),
    )


def _data_center(
    session: Session, application: Application, actor: Actor, now: datetime, mailboxes: list[str]
) -> Account:
    number = application.betriebsnummer or ""
    sender = find_sender(session, number) or add_sender(
        session, number, application.center_name or number, "rechenzentrum", []
    )
    return create_account(
        session,
        email=application.email,
        first_name=application.first_name,
        last_name=application.last_name,
        phone=application.phone,
        role=Role.RECHENZENTRUM,
        now=now,
        actor=actor,
        role_mailboxes=mailboxes,
        sender_id=sender.id,
    )


def reject(session: Session, number: str, reason: str, actor: Actor, now: datetime) -> Application:
    application = find_application(session, number)
    if application.state not in (ApplicationState.UNCONFIRMED, ApplicationState.WAITING):
        raise UsageError(f"Antrag {application.number} ist bereits {application.state}.")
    if not reason.strip():
        raise UsageError("Bitte geben Sie eine Begründung an (--reason).")
    visible(reason, "Die Begründung")
    application.state = ApplicationState.REJECTED.value
    application.decided_at = now
    application.reason = reason.strip()
    record(session, now, "application.rejected", actor, details=application.number)
    return application
