"""Health, login, personal password, logout, the start page and the service URLs' guard."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import PlainTextResponse, RedirectResponse
from sqlalchemy import text

from ingest.accounts.login import Outcome, authenticate, client_delay, set_personal_password
from ingest.accounts.models import Role
from ingest.accounts.passwords import AccountError
from ingest.accounts.sessions import end_session, open_session
from ingest.portal.web import (
    CSRF_COOKIE,
    SESSION_COOKIE,
    Portal,
    client_of,
    field,
    page,
    portal_of,
    posted,
    problems_context,
    viewer,
)

router = APIRouter()

REFUSED = (
    "Die Anmeldung ist fehlgeschlagen: E-Mail-Adresse oder Passwort sind nicht richtig, oder "
    "der Zugang ist vorübergehend gesperrt. Nach fünf Fehlversuchen wird der Zugang für "
    "15 Minuten gesperrt."
)

# The clerk's service functions (portal.md); an administrator is refused every one with 403.
SERVICE_PAGES = {
    "/hochladen": "Datei hochladen",
    "/lieferungen": "Lieferungen",
    "/erfassen": "Meldung erfassen",
    "/meldungen": "Meldungen",
    "/suche": "Versicherungsnummer suchen",
    "/auswertungen": "Auswertungen",
    "/qualitaet": "Qualitätskontrolle",
}


@router.get("/gesund", response_class=PlainTextResponse)
def health(request: Request) -> Response:
    try:
        with portal_of(request).transaction() as db:
            db.execute(text("SELECT 1"))
    except Exception:
        return PlainTextResponse("database unreachable", status_code=503)
    return PlainTextResponse("ok")


@router.get("/")
def start(request: Request) -> Response:
    with portal_of(request).transaction() as db:
        if not request.cookies.get(SESSION_COOKIE):
            return page(request, "home.html")
        who = viewer(request, db)
        return page(
            request,
            "start.html",
            {"role_label": who.role.label, "service_pages": SERVICE_PAGES},
            viewer=who,
        )


@router.get("/anmelden")
def login_form(request: Request) -> Response:
    return page(request, "login.html", {"email": ""})


def with_session_cookie(portal: Portal, response: Response, token: str) -> Response:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=portal.secure_cookies,
        path="/",
    )
    return response


@router.post("/anmelden")
async def login(request: Request) -> Response:
    form = await posted(request, anonymous=True)
    portal = portal_of(request)
    email = field(form, "email")
    with portal.transaction() as db:
        delay = client_delay(db, email, client_of(request), portal.clock())
    if delay:
        await portal.pause(delay.total_seconds())
    with portal.transaction() as db:
        end_session(db, request.cookies.get(SESSION_COOKIE))
        attempt = authenticate(
            db, email, field(form, "password"), client_of(request), portal.clock()
        )
        if attempt.account is None or attempt.outcome is Outcome.REFUSED:
            failed = page(request, "login.html", {"email": email, "error": REFUSED}, status=200)
        else:
            second = attempt.account.totp_secret is not None
            opened = open_session(db, attempt.account, portal.clock(), verified=not second)
    if attempt.account is None or attempt.outcome is Outcome.REFUSED:
        return failed
    target = (
        "/anmelden/code" if second else "/passwort" if attempt.outcome is Outcome.ONE_TIME else "/"
    )
    response = RedirectResponse(target, status_code=303)
    response.delete_cookie(CSRF_COOKIE, path="/")  # a fresh form token for the signed-in pages
    return with_session_cookie(portal, response, opened.token)


@router.post("/abmelden")
async def logout(request: Request) -> Response:
    await posted(request)
    with portal_of(request).transaction() as db:
        end_session(db, request.cookies.get(SESSION_COOKIE))
    response = RedirectResponse("/anmelden", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/passwort")
def password_form(request: Request) -> Response:
    with portal_of(request).transaction() as db:
        who = viewer(request, db, stage="password")
        return page(request, "password.html", viewer=who)


@router.post("/passwort")
async def password_save(request: Request) -> Response:
    form = await posted(request)
    portal = portal_of(request)
    with portal.transaction() as db:
        who = viewer(request, db, stage="password")
        try:
            set_personal_password(
                db,
                who.account,
                field(form, "password"),
                field(form, "password2"),
                who.actor,
                portal.clock(),
                current=field(form, "current"),
            )
        except AccountError as exc:
            context = problems_context(exc)
            return page(request, "password.html", context, status=400, viewer=who)
        opened = open_session(db, who.account, portal.clock())
    return with_session_cookie(portal, RedirectResponse("/", status_code=303), opened.token)


def _service_page(path: str, title: str) -> None:
    @router.get(path, name=title)
    def service(request: Request) -> Response:
        with portal_of(request).transaction() as db:
            who = viewer(request, db, Role.SACHBEARBEITER)
            return page(
                request,
                "message.html",
                {
                    "title": title,
                    "text": "Diese Servicefunktion wird mit dem nächsten Ausbau des Portals "
                    "freigeschaltet.",
                },
                status=501,
                viewer=who,
            )


for _path, _title in SERVICE_PAGES.items():
    _service_page(_path, _title)
