"""The portal's pages fit the window in real headless Chromium: at 1200 px no table sticks out,
at 360 px a wide table scrolls inside its own frame and the page never scrolls sideways."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.accounts.accounts import create_account
from ingest.accounts.applications import Applicant, approve, confirm, register
from ingest.accounts.audit import Actor
from ingest.accounts.login import issue_one_time_password
from ingest.accounts.models import ApplicationKind, Role
from ingest.settings import Settings
from ingest.storing.db import make_engine, session_factory
from tests.portal_support import Clock

# The live portal and the browser of the end-to-end tests (pytest finds fixtures by name).
from tests.test_portal_browser import _first_login, browser, portal_url  # noqa: F401

pytestmark = pytest.mark.slow

WIDTHS = (1200, 360)
PUBLIC = ("/registrierung/administrator", "/registrierung/rechenzentrum", "/anmelden")
ADMINISTRATOR = ("/", "/sachbearbeiter", "/sachbearbeiter/anlegen")
FUND = ("/konsole/antraege", "/konsole/benutzer", "/konsole/audit")
LONG = "hannelore.mustermann-schulze-lindenberg"


def _accounts(settings: Settings) -> dict[str, str]:
    """An operator and an approved administrator (with their one-time passwords), and some
    applications with long names and addresses waiting in the console."""
    now, actor = Clock()(), Actor.command_line()
    mailboxes = settings.portal.role_mailboxes
    with session_factory(make_engine(settings)).begin() as session:
        operator = create_account(
            session,
            email="olga.kasse@zvk.example",
            first_name="Olga",
            last_name="Kasse",
            role=Role.KASSE,
            now=now,
            actor=actor,
            role_mailboxes=mailboxes,
        )
        otps = {operator.email: issue_one_time_password(session, operator, actor, now, 28)}
        for index, first in enumerate(("Anna", "Hannelore-Friederike", "Maximiliane")):
            registered = register(
                session,
                ApplicationKind.ADMINISTRATOR,
                Applicant(first, "Mustermann-Schulze", f"{LONG}.{index}@musterhausen.example", ""),
                now,
                mailboxes,
                member_number="100001",
                offices="001, 002",
            )
            confirm(session, registered.application, now, "lokal", 7)
        _, admin, secret = approve(
            session,
            registered.application.number,
            actor,
            now,
            otp_valid_days=28,
            role_mailboxes=mailboxes,
        )
        otps[admin.email] = secret
    return otps


def _fits(page, width: int) -> list[str]:  # type: ignore[no-untyped-def]
    """What does not fit: the page wider than the window, or (wide window) a table wider than
    its frame."""
    wrong = []
    sizes = page.evaluate(
        "() => [document.documentElement.scrollWidth, window.innerWidth,"
        " [...document.querySelectorAll('.tabelle-rahmen')]"
        ".map(f => [f.scrollWidth, f.clientWidth])]"
    )
    page_width, window, frames = sizes
    if page_width > window:
        wrong.append(f"page {page_width} > {window}")
    if width >= 1200:
        wrong.extend(f"table {s} > {c}" for s, c in frames if s > c)
    return wrong


def test_the_main_pages_fit_at_1200_and_360_pixels(
    portal_url: tuple[str, Settings],  # noqa: F811
    browser,  # noqa: F811
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    base, settings = portal_url
    otps = _accounts(settings)
    signed_in = {}
    for address, otp in otps.items():
        context = browser.new_context(viewport={"width": 1200, "height": 900})
        page = context.new_page()
        _first_login(page, base, address, otp)
        signed_in[address] = page
    admin = signed_in[next(a for a in otps if a.startswith(LONG))]
    fund = signed_in["olga.kasse@zvk.example"]
    anonymous = browser.new_context().new_page()
    wrong = {}
    for width in WIDTHS:
        for page, paths in ((anonymous, PUBLIC), (admin, ADMINISTRATOR), (fund, FUND)):
            page.set_viewport_size({"width": width, "height": 900})
            for path in paths:
                page.goto(base + path)
                page.screenshot(path=tmp_path / f"{width}{path.replace('/', '_')}.png")
                problems = _fits(page, width)
                if problems:
                    wrong[f"{path} at {width}px"] = problems
    assert wrong == {}
