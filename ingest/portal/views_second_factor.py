"""The second factor: the code after the password, and setting up an authenticator app."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from ingest.accounts.audit import record
from ingest.accounts.login import count_failure
from ingest.accounts.models import utc
from ingest.accounts.passwords import AccountError
from ingest.accounts.second_factor import check_code, enable, new_secret, provisioning_uri
from ingest.accounts.sessions import end_session
from ingest.portal.views_public import REFUSED
from ingest.portal.web import (
    SESSION_COOKIE,
    Viewer,
    field,
    page,
    portal_of,
    posted,
    signed_out,
    viewer,
)

router = APIRouter()


@router.get("/anmelden/code")
def code_form(request: Request) -> Response:
    with portal_of(request).transaction() as db:
        who = viewer(request, db, stage="code")
        if who.row.verified:
            return RedirectResponse("/", status_code=303)
        return page(request, "code.html")


@router.post("/anmelden/code")
async def code(request: Request) -> Response:
    form = await posted(request)
    portal = portal_of(request)
    now = portal.clock()
    with portal.transaction() as db:
        who = viewer(request, db, stage="code")
        if who.row.verified:
            return RedirectResponse("/", status_code=303)
        account = who.account
        locked = account.locked_until is not None and utc(account.locked_until) > now
        passed = None if locked else check_code(db, account, field(form, "code"), now)
        if passed is None:
            if not locked:
                count_failure(db, account, who.actor, now)
            if locked or account.locked_until is not None:
                end_session(db, request.cookies.get(SESSION_COOKIE))
                signed_out(request)
                failed = page(request, "login.html", {"email": "", "error": REFUSED})
            else:
                failed = page(
                    request,
                    "code.html",
                    {"error": "Der Sicherheitscode ist nicht richtig oder schon verwendet."},
                    status=400,
                )
        else:
            who.row.verified = True
            detail = "Wiederherstellungscode" if passed == "recovery" else "App"
            record(db, now, "login.second_factor", who.actor, account, details=detail)
    if passed is None:
        return failed
    return RedirectResponse("/passwort" if account.must_set_password else "/", status_code=303)


@router.get("/zweiter-faktor")
def setup_form(request: Request) -> Response:
    with portal_of(request).transaction() as db:
        who = viewer(request, db, stage="setup")
        if who.account.totp_secret is None and who.row.pending_totp_secret is None:
            who.row.pending_totp_secret = new_secret()  # kept with the session until confirmed
        return page(request, "second_factor.html", _offer(who), viewer=who)


def _offer(who: Viewer) -> dict[str, object]:
    secret = who.row.pending_totp_secret or ""
    return {
        "enabled": who.account.totp_secret is not None,
        "secret": secret,
        "uri": provisioning_uri(secret, who.account.email) if secret else "",
    }


@router.post("/zweiter-faktor")
async def setup(request: Request) -> Response:
    form = await posted(request)
    portal = portal_of(request)
    with portal.transaction() as db:
        who = viewer(request, db, stage="setup")
        secret = who.row.pending_totp_secret
        if secret is None:  # no secret offered to this session (yet): offer one
            return RedirectResponse("/zweiter-faktor", status_code=303)
        try:
            codes = enable(db, who.account, secret, field(form, "code"), who.actor, portal.clock())
        except AccountError as exc:
            context = {**_offer(who), "error": str(exc)}
            return page(request, "second_factor.html", context, status=400, viewer=who)
        who.row.pending_totp_secret = None
        return page(request, "recovery_codes.html", {"codes": codes}, viewer=who)
