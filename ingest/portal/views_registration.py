"""Registration as administrator or data center, the confirmation link, the form as PDF."""

from __future__ import annotations

import smtplib

import structlog
from fastapi import APIRouter, HTTPException, Request, Response

from ingest.accounts.applications import (
    Applicant,
    Registered,
    by_confirm_token,
    by_form_token,
    confirm,
    register,
)
from ingest.accounts.models import Application, ApplicationKind
from ingest.accounts.passwords import AccountError
from ingest.portal.mail import send_mail
from ingest.portal.pdf import application_pdf
from ingest.portal.web import client_of, field, page, portal_of, posted
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
    return page(request, "register.html", {"kind": chosen.value, "values": {}})


@router.post("/registrierung/{kind}")
async def registration(request: Request, kind: str) -> Response:
    chosen = _kind(kind)
    form = await posted(request, anonymous=True)
    values = {name: field(form, name) for name in _FIELDS}
    portal = portal_of(request)
    settings = portal.settings

    def again(error: str) -> Response:
        return page(
            request,
            "register.html",
            {"kind": chosen.value, "values": values, "error": error},
            status=400,
        )

    if field(form, "terms") != "ja":
        return again("Bitte akzeptieren Sie die Nutzungsbedingungen.")
    try:
        with portal.transaction() as db:
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
            )
    except AccountError as exc:
        return again(str(exc))
    try:
        _send_confirmation(request, registered)
        mailed = True
    except (OSError, smtplib.SMTPException) as exc:
        log.error(
            "confirmation mail not sent",
            application=registered.application.number,
            error=type(exc).__name__,
        )
        mailed = False
    return page(
        request,
        "registered.html",
        {
            "application": registered.application,
            "form_token": registered.form_token,
            "mailed": mailed,
        },
    )


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


@router.get("/registrierung/bestaetigen/{token}")
def confirmation(request: Request, token: str) -> Response:
    portal = portal_of(request)
    with portal.transaction() as db:
        application = confirm(db, token, portal.clock(), client_of(request))
        if application is None:
            raise HTTPException(404)
        return page(request, "application.html", {"application": application})


@router.get("/antragsformular/{token}")
def application_form(request: Request, token: str) -> Response:
    portal = portal_of(request)
    with portal.transaction() as db:
        application: Application | None = by_form_token(db, token) or by_confirm_token(db, token)
        if application is None:
            raise HTTPException(404)
        member = find_member(db, application.member_number) if application.member_number else None
        body = application_pdf(
            application, member.name if member else "", portal.settings.portal.fund_address
        )
    return Response(
        body,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="Antrag-{application.number}.pdf"'},
    )
