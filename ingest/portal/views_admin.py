"""The administrator's pages: clerks, their one-time passwords, activation, other administrators."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session

from ingest.accounts.accounts import offices_of, set_active
from ingest.accounts.audit import history
from ingest.accounts.clerks import (
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
from ingest.accounts.passwords import AccountError
from ingest.portal.web import Viewer, field, many, page, portal_of, posted, viewer

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
        return page(
            request,
            "clerks.html",
            {"rows": rows, "others": others, "changes": changes},
            viewer=who,
        )


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


@router.post("/anlegen")
async def new_clerk(request: Request) -> Response:
    form = await posted(request)
    portal = portal_of(request)
    settings = portal.settings.portal
    with portal.transaction() as db:
        who = viewer(request, db, Role.ADMINISTRATOR)
        values = {k: field(form, k) for k in ("first_name", "last_name", "email")}
        try:
            with db.begin_nested():
                clerk = create_clerk(
                    db,
                    who.account,
                    **values,
                    office_ids=_office_ids(form),
                    actor=who.actor,
                    now=portal.clock(),
                    role_mailboxes=settings.role_mailboxes,
                )
        except AccountError as exc:
            context = {
                "offices": _offices_choice(db, who.account),
                "values": values,
                "chosen": _office_ids(form),
                "error": str(exc),
            }
            return page(request, "clerk_form.html", context, status=400, viewer=who)
        secret = issue_one_time_password(
            db, clerk, who.actor, portal.clock(), settings.otp_valid_days
        )
        return page(request, "otp.html", {"account": clerk, "otp": secret}, viewer=who)


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
    with portal.transaction() as db:
        who = viewer(request, db, Role.ADMINISTRATOR)
        clerk = _clerk(db, who, clerk_id)
        values = {k: field(form, k) for k in ("first_name", "last_name", "email")}
        try:
            with db.begin_nested():
                update_clerk(
                    db,
                    who.account,
                    clerk,
                    **values,
                    office_ids=_office_ids(form),
                    actor=who.actor,
                    now=portal.clock(),
                    role_mailboxes=settings.role_mailboxes,
                )
        except AccountError as exc:
            db.refresh(clerk)
            context = {
                "clerk": clerk,
                "offices": _offices_choice(db, who.account),
                "values": values,
                "chosen": _office_ids(form),
                "error": str(exc),
            }
            return page(request, "clerk_form.html", context, status=400, viewer=who)
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
        return page(request, "otp.html", {"account": clerk, "otp": secret}, viewer=who)


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
