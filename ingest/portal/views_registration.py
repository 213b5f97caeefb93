"""Registration as administrator or data center, the confirmation link, the form as PDF."""

from __future__ import annotations

import secrets
import smtplib

import structlog
from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.responses import RedirectResponse
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ingest.accounts.applications import (
    Applicant,
    Link,
    Registered,
    by_confirm_token,
    by_form_token,
    confirm,
    link_state,
    register,
    too_many_registrations,
)
from ingest.accounts.models import Application, ApplicationKind
from ingest.accounts.problems import AccountError, Problems
from ingest.portal.mail import send_mail
from ingest.portal.pdf import application_pdf
from ingest.portal.web import client_of, field, page, portal_of, posted, problems_context
from ingest.storing.registry import find_member

router = APIRouter()
log = structlog.stdlib.get_logger("ingest.portal")

_KINDS = {
    "administrator": ApplicationKind.ADMINISTRATOR,
    "rechenzentrum": ApplicationKind.RECHENZENTRUM,
}
_FIELDS = (
    "first_name",
    "last_name",
    "email",
    "phone",
    "member_number",
    "offices",
    "center_name",
    "betriebsnummer",
)


def _kind(kind: str) -> ApplicationKind:
    if kind not in _KINDS:
        raise HTTPException(404)
    return _KINDS[kind]


@router.get("/registrierung/{kind}")
def registration_form(request: Request, kind: str) -> Response:
    chosen = _kind(kind)
    context: dict[str, object] = {
        "kind": chosen.value,
        "values": {},
        "form_key": secrets.token_urlsafe(32),
    }
    return page(request, "register.html", context)


@router.post("/registrierung/{kind}")
async def registration(request: Request, kind: str) -> Response:
    """Store the application and answer with a redirect to its page; the same form sent twice
    (its ``antrag`` key) leads to the application of the first."""
    chosen = _kind(kind)
    form = await posted(request, anonymous=True)
    values = {name: field(form, name) for name in (*_FIELDS, "terms")}
    form_key = field(form, "antrag")
    portal = portal_of(request)
    settings = portal.settings
    problems = Problems()
    if values["terms"] != "ja":
        problems.add("terms", "Bitte akzeptieren Sie die Nutzungsbedingungen.")
    try:
        with portal.transaction() as db:
            if too_many_registrations(
                db,
                values["email"],
                client_of(request),
                portal.clock(),
                settings.portal.registrations_per_address,
                settings.portal.registrations_per_email,
            ):
                return page(request, "message.html", _TOO_MANY, status=429)
            registered = register(
                db,
                chosen,
                Applicant(
                    values["first_name"], values["last_name"], values["email"], values["phone"]
                ),
                portal.clock(),
                settings.portal.role_mailboxes,
                member_number=values["member_number"],
                offices=values["offices"],
                center_name=values["center_name"],
                betriebsnummer=values["betriebsnummer"],
                client=client_of(request),
                form_token=form_key,
                problems=problems,
            )
    except AccountError as exc:
        context = {"kind": chosen.value, "values": values, "form_key": form_key}
        return page(request, "register.html", {**context, **problems_context(exc)}, status=400)
    except IntegrityError:  # the same form's first submission was stored meanwhile
        return RedirectResponse(f"/antrag/{form_key}", status_code=303)
    target = f"/antrag/{registered.form_token}"
    if registered.repeated:
        return RedirectResponse(target, status_code=303)
    try:
        _send_confirmation(request, registered)
    except (OSError, smtplib.SMTPException) as exc:
        log.error(
            "confirmation mail not sent",
            application=registered.application.number,
            error=type(exc).__name__,
        )
        target += "?versand=fehlgeschlagen"
    return RedirectResponse(target, status_code=303)


@router.get("/antrag/{token}")
def registered_page(request: Request, token: str, versand: str = "") -> Response:
    """The page after the registration: the Antragsnummer and the form to download."""
    with portal_of(request).transaction() as db:
        application = by_form_token(db, token)
        if application is None:
            raise HTTPException(404)
        context = {"application": application, "form_token": token, "mailed": not versand}
        return page(request, "registered.html", context)


def _send_confirmation(request: Request, registered: Registered) -> None:
    settings = portal_of(request).settings
    base = settings.portal.base_url
    application = registered.application
    send_mail(
        settings,
        application.email,
        f"Ihr Antrag {application.number}: bitte E-Mail-Adresse bestätigen",
        f"Guten Tag {application.first_name} {application.last_name},\n\n"
        f"Ihr Antrag auf Zugang zum Online-Portal hat die Antragsnummer {application.number}.\n"
        "Bitte bestätigen Sie Ihre E-Mail-Adresse mit diesem Link; dort sehen Sie auch, wie weit "
        "Ihr Antrag ist:\n\n"
        f"{base}/registrierung/bestaetigen/{registered.confirm_token}\n\n"
        "Das Antragsformular zum Unterschreiben und Siegeln:\n\n"
        f"{base}/antragsformular/{registered.form_token}\n\n"
        "Haben Sie keinen Antrag gestellt, beachten Sie diese Nachricht bitte nicht.\n",
    )


_TOO_MANY = {
    "title": "Zu viele Anträge",
    "text": "Von Ihrem Anschluss oder für diese E-Mail-Adresse sind in den letzten 24 Stunden "
    "schon so viele Anträge gestellt worden, wie das Portal annimmt. Bitte versuchen Sie es "
    "morgen noch einmal oder wenden Sie sich an die Kasse.",
}
_CLOSED = {
    Link.EXPIRED: {
        "title": "Link abgelaufen",
        "text": "Die E-Mail-Adresse dieses Antrags wurde nicht rechtzeitig bestätigt; der Link "
        "gilt nicht mehr. Bitte stellen Sie einen neuen Antrag.",
    },
    Link.REJECTED: {
        "title": "Antrag abgelehnt",
        "text": "Dieser Antrag wurde abgelehnt; der Link gilt nicht mehr.",
    },
    Link.DECIDED: {
        "title": "Antrag entschieden",
        "text": "Über diesen Antrag ist entschieden; das Antragsformular wird nicht mehr benötigt.",
    },
}


def _linked(db: Session, token: str) -> Application:
    application = by_confirm_token(db, token)
    if application is None:
        raise HTTPException(404)
    return application


@router.get("/registrierung/bestaetigen/{token}")
def confirmation(request: Request, token: str) -> Response:
    """The application's state; while unconfirmed, a button that confirms the address (a GET
    alone, as a mail scanner's, confirms nothing)."""
    portal = portal_of(request)
    with portal.transaction() as db:
        application = _linked(db, token)
        state = link_state(
            application, portal.clock(), portal.settings.portal.confirmation_valid_days
        )
        if state in (Link.EXPIRED, Link.REJECTED):
            closed = dict(_CLOSED[state])
            if state is Link.REJECTED and application.reason:
                closed["text"] += f" Begründung: {application.reason}"
            return page(request, "message.html", closed, status=410)
        context = {"application": application, "confirmable": state is Link.CONFIRM, "token": token}
        return page(request, "application.html", context)


@router.post("/registrierung/bestaetigen/{token}")
async def confirmation_post(request: Request, token: str) -> Response:
    await posted(request, anonymous=True)
    portal = portal_of(request)
    settings = portal.settings.portal
    with portal.transaction() as db:
        application = _linked(db, token)
        confirm(
            db, application, portal.clock(), client_of(request), settings.confirmation_valid_days
        )
    return RedirectResponse(f"/registrierung/bestaetigen/{token}", status_code=303)


@router.get("/antragsformular/{token}")
def application_form(request: Request, token: str) -> Response:
    """The form as PDF while the application waits for it (until it is decided, and not after
    its confirmation link has expired)."""
    portal = portal_of(request)
    with portal.transaction() as db:
        application: Application | None = by_form_token(db, token) or by_confirm_token(db, token)
        if application is None:
            raise HTTPException(404)
        state = link_state(
            application, portal.clock(), portal.settings.portal.confirmation_valid_days
        )
        if state not in (Link.CONFIRM, Link.WAITING):
            return page(request, "message.html", _CLOSED[state], status=410)
        member = find_member(db, application.member_number) if application.member_number else None
        body = application_pdf(
            application, member.name if member else "", portal.settings.portal.fund_address
        )
    return Response(
        body,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="Antrag-{application.number}.pdf"'},
    )
