"""The portal's application factory: views, static files, security headers, error pages."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.orm import Session, sessionmaker
from starlette.exceptions import HTTPException
from starlette.middleware.trustedhost import TrustedHostMiddleware
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from ingest.portal import (
    views_admin,
    views_console,
    views_once,
    views_public,
    views_registration,
    views_second_factor,
)
from ingest.portal.web import (
    CSRF_COOKIE,
    Forbidden,
    GoTo,
    Portal,
    csrf_token,
    page,
)
from ingest.settings import Settings

STATIC = Path(__file__).resolve().parent / "static"
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; "
    "img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}

# A path of plain segments with a trailing slash; the redirect goes to it without the slash
# (never to "//host", which a browser would take for another site).
_TRAILING_SLASH = re.compile(r"((?:/[A-Za-z0-9_.~-]+)+)/")


def _now() -> datetime:
    return datetime.now(UTC)


def create_app(
    settings: Settings,
    sessions: sessionmaker[Session],
    clock: Callable[[], datetime] = _now,
) -> FastAPI:
    """The portal over the installation's database (which `zvk init` has prepared)."""
    # No redirect of Starlette's is built from the request's Host header: trailing slashes
    # are answered below with a relative location.
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None, redirect_slashes=False)
    portal = Portal(settings, sessions, clock)
    app.state.portal = portal
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for module in (
        views_public,
        views_second_factor,
        views_registration,
        views_admin,
        views_console,
        views_once,
    ):
        app.include_router(module.router)

    @app.middleware("http")
    async def headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        trailing = _TRAILING_SLASH.fullmatch(request.url.path)
        if trailing and request.method in ("GET", "HEAD"):
            response: Response = RedirectResponse(trailing.group(1), status_code=307)
        else:
            with contextlib.suppress(Exception):  # a database down: /gesund says so
                portal.signing_key  # noqa: B018  (read once, outside the views' transactions)
            response = await call_next(request)
        response.headers.update(SECURITY_HEADERS)
        fresh = getattr(request.state, "csrf", None)
        if fresh and fresh != request.cookies.get(CSRF_COOKIE):
            response.set_cookie(
                CSRF_COOKIE,
                fresh,
                httponly=True,
                samesite="lax",
                secure=portal.secure_cookies,
                path="/",
            )
        return response

    @app.exception_handler(GoTo)
    async def go_to(_request: Request, exc: GoTo) -> Response:
        return RedirectResponse(exc.path, status_code=303)

    @app.exception_handler(Forbidden)
    async def forbidden(request: Request, exc: Forbidden) -> Response:
        csrf_token(request)
        return page(
            request,
            "message.html",
            {"title": "Kein Zugriff", "text": exc.explanation},
            status=403,
        )

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, _exc: RequestValidationError) -> Response:
        """A path or query that does not fit the route (``/sachbearbeiter/abc``) names nothing."""
        return await http_error(request, HTTPException(404))

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        titles = {404: "Nicht gefunden", 405: "Nicht erlaubt"}
        text = {
            404: "Die angeforderte Seite gibt es nicht, oder Sie haben keinen Zugriff darauf.",
        }.get(exc.status_code, "Die Anfrage konnte nicht bearbeitet werden.")
        return page(
            request,
            "message.html",
            {"title": titles.get(exc.status_code, "Fehler"), "text": text},
            status=exc.status_code,
        )

    app.add_middleware(
        TrustedHostMiddleware, allowed_hosts=allowed_hosts(settings), www_redirect=False
    )
    if settings.portal.trusted_proxies:
        # The client address of every view (audit, limits) is the one a trusted proxy names.
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.portal.trusted_proxies)
    return app


def allowed_hosts(settings: Settings) -> list[str]:
    """The Host headers the portal answers: base_url's host, the address it listens on and the
    loopback names (health checks, tests)."""
    hosts = {urlsplit(settings.portal.base_url).hostname or "", "127.0.0.1", "localhost"}
    if settings.portal.host not in ("0.0.0.0", "::"):  # noqa: S104  (compared, not bound)
        hosts.add(settings.portal.host)
    return sorted(h for h in hosts if h)
