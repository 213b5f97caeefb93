"""The fund's console: "Anträge" (approve, reject), "Benutzer" (one-time password, activation),
"Audit" (the newest entries of the audit log)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.responses import RedirectResponse
from sqlalchemy import select

from ingest.accounts.accounts import set_active
from ingest.accounts.applications import approve, list_applications, reject
from ingest.accounts.audit import newest, subject_labels
from ingest.accounts.login import issue_one_time_password
from ingest.accounts.models import Account, Role
from ingest.errors import UsageError
from ingest.portal import flash
from ingest.portal.web import field, page, portal_of, posted, viewer

router = APIRouter(prefix="/konsole")


@router.get("/antraege")
def applications(request: Request) -> Response:
    with portal_of(request).transaction() as db:
        who = viewer(request, db, Role.KASSE)
        told = flash.take(who.row)
        context = {"rows": list_applications(db), "error": told.error if told else ""}
        return page(request, "console_applications.html", context, viewer=who)


@router.post("/antraege/{number}/{decision}")
async def decide(request: Request, number: str, decision: str) -> Response:
    form = await posted(request)
    if decision not in ("genehmigen", "ablehnen"):
        raise HTTPException(404)
    portal = portal_of(request)
    settings = portal.settings.portal
    with portal.transaction() as db:
        who = viewer(request, db, Role.KASSE)
        try:
            with db.begin_nested():
                if decision == "genehmigen":
                    _, account, secret = approve(
                        db,
                        number,
                        who.actor,
                        portal.clock(),
                        otp_valid_days=settings.otp_valid_days,
                        role_mailboxes=settings.role_mailboxes,
                    )
                else:
                    reject(db, number, field(form, "reason"), who.actor, portal.clock())
        except UsageError as exc:
            flash.put(who.row, flash.Flash(error=str(exc)))
            return RedirectResponse("/konsole/antraege", status_code=303)
        if decision == "genehmigen":
            redirect = RedirectResponse(flash.PAGE, status_code=303)
            return flash.one_time_password(
                who.row, redirect, account.id, secret, "/konsole/antraege", portal.secure_cookies
            )
    return RedirectResponse("/konsole/antraege", status_code=303)


@router.get("/benutzer")
def users(request: Request) -> Response:
    with portal_of(request).transaction() as db:
        who = viewer(request, db, Role.KASSE)
        rows = list(db.scalars(select(Account).order_by(Account.role, Account.email)))
        return page(request, "console_users.html", {"rows": rows, "Role": Role}, viewer=who)


@router.get("/audit")
def audit(request: Request) -> Response:
    with portal_of(request).transaction() as db:
        who = viewer(request, db, Role.KASSE)
        rows = newest(db)
        context = {"rows": rows, "subjects": subject_labels(db, rows)}
        return page(request, "console_audit.html", context, viewer=who)


@router.post("/benutzer/{account_id}/{action}")
async def user_action(request: Request, account_id: int, action: str) -> Response:
    await posted(request)
    if action not in ("einmalpasswort", "deaktivieren", "aktivieren"):
        raise HTTPException(404)
    portal = portal_of(request)
    with portal.transaction() as db:
        who = viewer(request, db, Role.KASSE)
        account = db.get(Account, account_id)
        if account is None:
            raise HTTPException(404)
        if action == "einmalpasswort":
            secret = issue_one_time_password(
                db, account, who.actor, portal.clock(), portal.settings.portal.otp_valid_days
            )
            redirect = RedirectResponse(flash.PAGE, status_code=303)
            return flash.one_time_password(
                who.row, redirect, account.id, secret, "/konsole/benutzer", portal.secure_cookies
            )
        set_active(db, account, action == "aktivieren", who.actor, portal.clock())
    return RedirectResponse("/konsole/benutzer", status_code=303)
