"""What every view uses: the database, the clock, the signed-in person, the role check, CSRF,
and rendering a German page."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from dataclasses import field as slot
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session, sessionmaker

from ingest.accounts.audit import Actor
from ingest.accounts.models import Account, ApplicationState, PortalSession, Role
from ingest.accounts.problems import AccountError
from ingest.accounts.sessions import current, signing_key
from ingest.localtime import local_german
from ingest.settings import Settings

SESSION_COOKIE = "zvk_sitzung"
CSRF_COOKIE = "zvk_csrf"
CSRF_FIELD = "csrf"
TEMPLATES = Path(__file__).resolve().parent / "templates"

templates = Jinja2Templates(directory=str(TEMPLATES))  # autoescape on for .html

ACTION_LABELS = {
    "account.created": "angelegt",
    "account.changed": "geändert",
    "account.activated": "aktiviert",
    "account.deactivated": "deaktiviert",
    "account.one_time_password": "Einmalpasswort erzeugt",
    "account.password_set": "persönliches Passwort gesetzt",
    "application.approved": "Antrag genehmigt",
    "login": "angemeldet",
    "login.otp": "mit Einmalpasswort angemeldet",
    "login.failure": "Anmeldung fehlgeschlagen",
    "login.locked": "gesperrt",
    "account.second_factor_on": "zweiter Faktor eingerichtet",
    "application.registered": "Antrag gestellt",
    "application.confirmed": "E-Mail-Adresse bestätigt",
    "application.rejected": "Antrag abgelehnt",
    "login.second_factor": "zweiter Faktor bestätigt",
    "login.refused_locked": "Anmeldung während der Sperre abgewiesen",
    "login.refused_client": "Anmeldung abgewiesen (zu viele Fehlversuche dieser Adresse)",
    "login.throttled": "Anmeldung verzögert (viele Fehlversuche dieser Adresse)",
}


def _german_time(moment: datetime | None) -> str:
    return local_german(moment) if moment is not None else "–"


templates.env.filters["german_time"] = _german_time
templates.env.filters["action_label"] = lambda action: ACTION_LABELS.get(action, action)
templates.env.filters["state_label"] = lambda state: ApplicationState(state).label


@dataclass
class Portal:
    """The application's state: settings, sessions on the database and the clock (tests move it)."""

    settings: Settings
    sessions: sessionmaker[Session]
    clock: Callable[[], datetime]

    @property
    def idle(self) -> timedelta:
        return timedelta(minutes=self.settings.portal.session_idle_minutes)

    @property
    def secure_cookies(self) -> bool:
        return self.settings.portal.base_url.startswith("https")

    pause: Callable[[float], Awaitable[None]] = asyncio.sleep
    _signing_key: bytes | None = slot(default=None, init=False, repr=False)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        with self.sessions() as session, session.begin():
            yield session

    @property
    def signing_key(self) -> bytes:
        """The key that signs the anonymous forms' tokens, the same in every portal process."""
        if self._signing_key is None:
            with self.transaction() as db:
                self._signing_key = signing_key(db)
        return self._signing_key


class GoTo(Exception):
    """The request belongs elsewhere first: the login, the second factor, the password page."""

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.path = path


class Forbidden(Exception):
    """A page of another role: 403 with a German explanation."""

    def __init__(self, explanation: str) -> None:
        super().__init__(explanation)
        self.explanation = explanation


ADMIN_NO_SERVICE = (
    "Administratoren haben keine Rechte für die Servicefunktionen. Legen Sie sich bitte selbst "
    "als Sachbearbeiter an; dafür erhalten Sie separate Zugangsdaten."
)


@dataclass(frozen=True)
class Viewer:
    account: Account
    row: PortalSession
    client: str

    @property
    def actor(self) -> Actor:
        return Actor.of(self.account, self.client)

    @property
    def role(self) -> Role:
        return Role(self.account.role)


def portal_of(request: Request) -> Portal:
    portal = request.app.state.portal
    assert isinstance(portal, Portal)
    return portal


def client_of(request: Request) -> str:
    return request.client.host if request.client else "-"


Stage = Literal["code", "password", "setup"]


def viewer(request: Request, db: Session, *roles: Role, stage: Stage | None = None) -> Viewer:
    """The signed-in person, checked against the roles the page is for.

    Before anything else a session passes, in this order: the second factor's code (a session
    opened with the password only), the personal password (after a one-time password), the
    second factor's setup (where a setting makes it compulsory). ``stage`` names the page of
    such a step, which is reachable at that step.
    """
    portal = portal_of(request)
    found = current(db, request.cookies.get(SESSION_COOKIE), portal.clock(), portal.idle)
    if found is None:
        raise GoTo("/anmelden")
    row, account = found
    if not row.verified:
        if stage != "code":
            raise GoTo("/anmelden/code")
    elif account.must_set_password:
        if stage != "password":
            raise GoTo("/passwort")
    elif needs_second_factor(portal.settings, account) and stage != "setup":
        raise GoTo("/zweiter-faktor")
    if roles and Role(account.role) not in roles:
        raise Forbidden(
            ADMIN_NO_SERVICE
            if account.role == Role.ADMINISTRATOR and Role.SACHBEARBEITER in roles
            else "Diese Seite gehört nicht zu Ihrer Rolle; Sie haben keinen Zugriff darauf."
        )
    request.state.session_csrf = row.csrf
    return Viewer(account, row, client_of(request))


def needs_second_factor(settings: Settings, account: Account) -> bool:
    """Whether the settings make the second factor compulsory and the account lacks it."""
    portal = settings.portal
    return (
        portal.second_factor == "required"
        and account.role in portal.second_factor_roles
        and account.totp_secret is None
    )


def _signed(portal: Portal, nonce: str) -> str:
    mac = hmac.new(portal.signing_key, b"csrf:" + nonce.encode(), hashlib.sha256).hexdigest()
    return f"{nonce}.{mac}"


def _genuine(portal: Portal, token: str | None) -> bool:
    """Whether an anonymous token was signed by this portal (a planted cookie of the
    attacker's own making is not)."""
    if not token or token.count(".") != 1:
        return False
    return hmac.compare_digest(_signed(portal, token.partition(".")[0]), token)


def csrf_token(request: Request) -> str:
    """The token of this page's forms.

    A signed-in request's forms carry its session's token (stored with the session). Anonymous
    forms (login, registration) carry a token signed with the portal's key, set as a cookie by
    the middleware when the browser holds none that is genuine.
    """
    own = getattr(request.state, "session_csrf", None)
    if own:
        return str(own)
    token = getattr(request.state, "csrf", None) or request.cookies.get(CSRF_COOKIE)
    if not token or not _genuine(portal_of(request), token):
        token = _signed(portal_of(request), secrets.token_urlsafe(24))
        request.state.csrf = token
    return str(token)


def signed_out(request: Request) -> None:
    """The rest of the request renders anonymous forms (its session has just ended)."""
    request.state.session_csrf = None


def _stale() -> Forbidden:
    return Forbidden(
        "Das Formular ist abgelaufen oder nicht von dieser Seite. Bitte laden Sie die Seite "
        "neu und senden Sie es noch einmal."
    )


async def posted(request: Request, *, anonymous: bool = False) -> dict[str, Any]:
    """The form of a POST that carries the right CSRF token; else :class:`Forbidden`.

    A signed-in form's token must equal its session's (without a live session the request goes
    to the login); an anonymous form's must equal the cookie and bear the portal's signature.
    """
    form = await request.form()
    sent = form.get(CSRF_FIELD)
    portal = portal_of(request)
    if anonymous:
        expected = request.cookies.get(CSRF_COOKIE)
        if not _genuine(portal, expected):
            raise _stale()
    else:
        with portal.transaction() as db:
            found = current(db, request.cookies.get(SESSION_COOKIE), portal.clock(), portal.idle)
            expected = found[0].csrf if found else None
        if expected is None:
            raise GoTo("/anmelden")
    if not isinstance(sent, str) or not expected or not hmac.compare_digest(sent, expected):
        raise _stale()
    fields: dict[str, Any] = {}
    for key, value in form.multi_items():
        if isinstance(value, str):
            fields.setdefault(key, []).append(value)
    return {k: v[0] if len(v) == 1 else v for k, v in fields.items()}


def field(form: dict[str, Any], name: str) -> str:
    value = form.get(name, "")
    return value if isinstance(value, str) else value[0]


def many(form: dict[str, Any], name: str) -> list[str]:
    value = form.get(name, [])
    return [value] if isinstance(value, str) else list(value)


def problems_context(exc: AccountError) -> dict[str, Any]:
    """The template context of a refused form: ``errors`` (field → German messages, shown at
    each field and linked from the summary) and ``error`` (the problems of the whole form)."""
    errors: dict[str, list[str]] = {}
    general = []
    for name, message in exc.problems:
        if name:
            errors.setdefault(name, []).append(message)
        else:
            general.append(message)
    return {"errors": errors, "error": " ".join(general)}


def page(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    status: int = 200,
    viewer: Viewer | None = None,
) -> HTMLResponse:
    data = {"csrf": csrf_token(request), "viewer": viewer, **(context or {})}
    return templates.TemplateResponse(request, name, data, status_code=status)
