"""The administrator's pages: clerks, their one-time passwords, activation, other administrators."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session

from ingest.accounts.accounts import offices_of, set_active
from ingest.accounts.audit import history, subject_labels
from ingest.accounts.clerks import (
    ClerkForm,
    NotFound,
    administrator_for,
    administrators_beside,
    clerk_for,
    clerks_of,
    create_clerk,
    update_clerk,
)
from ingest.accounts.login import issue_one_time_password
from ingest.accounts.models import Account, Role
from ingest.accounts.problems import AccountError
from ingest.portal import flash
from ingest.portal.web import (
    Viewer,
    field,
    many,
    page,
    portal_of,
    posted,
    problems_context,
    viewer,
)

router = APIRouter(prefix="/sachbearbeiter")


def _offices_choice(db: Session, admin: Account) -> list[tuple[int, str]]:
    return [(o.id, o.number) for o in offices_of(db, admin)]


def _office_ids(form: dict[str, object]) -> list[int]:
    return [int(v) for v in many(form, "office") if v.isdigit()]


def _clerk(db: Session, who: Viewer, clerk_id: int) -> Account:
    try:
        return clerk_for(db, who.account, clerk_id)
    except NotFound:
        raise HTTPException(404) from None


@router.get("")
def clerks(request: Request) -> Response:
    with portal_of(request).transaction() as db:
        who = viewer(request, db, Role.ADMINISTRATOR)
        rows = [(c, offices_of(db, c)) for c in clerks_of(db, who.account)]
        others = administrators_beside(db, who.account)
        changes = history(db, [c.id for c, _ in rows] + [a.id for a in others])
        context = {
            "rows": rows,
            "others": others,
            "changes": changes,
            "subjects": subject_labels(db, changes),
        }
        return page(request, "clerks.html", context, viewer=who)


@router.get("/anlegen")
def new_clerk_form(request: Request) -> Response:
    with portal_of(request).transaction() as db:
        who = viewer(request, db, Role.ADMINISTRATOR)
        return page(
            request,
            "clerk_form.html",
            {"offices": _offices_choice(db, who.account), "values": {}, "chosen": []},
            viewer=who,
        )


def _form(form: dict[str, Any]) -> ClerkForm:
    return ClerkForm(
        field(form, "email"), field(form, "first_name"), field(form, "last_name"), _office_ids(form)
    )


def _refused(
    request: Request,
    db: Session,
    who: Viewer,
    sent: ClerkForm,
    exc: AccountError,
    clerk: Account | None = None,
) -> Response:
    context = {
        "clerk": clerk,
        "offices": _offices_choice(db, who.account),
        "values": {"first_name": sent.first_name, "last_name": sent.last_name, "email": sent.email},
        "chosen": sent.office_ids,
        **problems_context(exc),
    }
    return page(request, "clerk_form.html", context, status=400, viewer=who)


def _show_one_time_password(
    request: Request, who: Viewer, account: Account, secret: str
) -> Response:
    portal = portal_of(request)
    redirect = RedirectResponse(flash.PAGE, status_code=303)
    return flash.one_time_password(
        who.row, redirect, account.id, secret, "/sachbearbeiter", portal.secure_cookies
    )


@router.post("/anlegen")
async def new_clerk(request: Request) -> Response:
    form = await posted(request)
    portal = portal_of(request)
    settings = portal.settings.portal
    sent = _form(form)
    with portal.transaction() as db:
        who = viewer(request, db, Role.ADMINISTRATOR)
        try:
            with db.begin_nested():
                clerk = create_clerk(
                    db,
                    who.account,
                    sent,
                    actor=who.actor,
                    now=portal.clock(),
                    role_mailboxes=settings.role_mailboxes,
                )
        except AccountError as exc:
            return _refused(request, db, who, sent, exc)
        secret = issue_one_time_password(
            db, clerk, who.actor, portal.clock(), settings.otp_valid_days
        )
        return _show_one_time_password(request, who, clerk, secret)


@router.get("/{clerk_id}")
def edit_clerk_form(request: Request, clerk_id: int) -> Response:
    with portal_of(request).transaction() as db:
        who = viewer(request, db, Role.ADMINISTRATOR)
        clerk = _clerk(db, who, clerk_id)
        context = {
            "clerk": clerk,
            "offices": _offices_choice(db, who.account),
            "values": {
                "first_name": clerk.first_name,
                "last_name": clerk.last_name,
                "email": clerk.email,
            },
            "chosen": [o.id for o in offices_of(db, clerk)],
        }
        return page(request, "clerk_form.html", context, viewer=who)


@router.post("/{clerk_id}")
async def edit_clerk(request: Request, clerk_id: int) -> Response:
    form = await posted(request)
    portal = portal_of(request)
    settings = portal.settings.portal
    sent = _form(form)
    with portal.transaction() as db:
        who = viewer(request, db, Role.ADMINISTRATOR)
        clerk = _clerk(db, who, clerk_id)
        try:
            with db.begin_nested():
                update_clerk(
                    db,
                    who.account,
                    clerk,
                    sent,
                    actor=who.actor,
                    now=portal.clock(),
                    role_mailboxes=settings.role_mailboxes,
                )
        except AccountError as exc:
            db.refresh(clerk)
            return _refused(request, db, who, sent, exc, clerk)
    return RedirectResponse("/sachbearbeiter", status_code=303)


@router.post("/{clerk_id}/einmalpasswort")
async def new_otp(request: Request, clerk_id: int) -> Response:
    await posted(request)
    portal = portal_of(request)
    with portal.transaction() as db:
        who = viewer(request, db, Role.ADMINISTRATOR)
        clerk = _clerk(db, who, clerk_id)
        secret = issue_one_time_password(
            db, clerk, who.actor, portal.clock(), portal.settings.portal.otp_valid_days
        )
        return _show_one_time_password(request, who, clerk, secret)


@router.post("/{clerk_id}/{action}")
async def activation(request: Request, clerk_id: int, action: str) -> Response:
    await posted(request)
    if action not in ("deaktivieren", "aktivieren"):
        raise HTTPException(404)
    portal = portal_of(request)
    with portal.transaction() as db:
        who = viewer(request, db, Role.ADMINISTRATOR)
        clerk = _clerk(db, who, clerk_id)
        set_active(db, clerk, action == "aktivieren", who.actor, portal.clock())
    return RedirectResponse("/sachbearbeiter", status_code=303)


@router.post("/administratoren/{other_id}/deaktivieren")
async def deactivate_administrator(request: Request, other_id: int) -> Response:
    await posted(request)
    portal = portal_of(request)
    with portal.transaction() as db:
        who = viewer(request, db, Role.ADMINISTRATOR)
        try:
            other = administrator_for(db, who.account, other_id)
        except NotFound:
            raise HTTPException(404) from None
        set_active(db, other, False, who.actor, portal.clock())
    return RedirectResponse("/sachbearbeiter", status_code=303)
