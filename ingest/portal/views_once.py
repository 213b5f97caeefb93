"""The page a form redirects to when it issued a one-time password: shown once, from the session."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from ingest.accounts.models import Account
from ingest.portal import flash
from ingest.portal.web import page, portal_of, viewer

router = APIRouter()


@router.get(flash.PAGE)
def one_time_password(request: Request) -> Response:
    """The one-time password the last form issued; a reload finds it gone (and posts nothing)."""
    with portal_of(request).transaction() as db:
        who = viewer(request, db)
        told = flash.take(who.row)
        secret = flash.unseal(request, told) if told and told.account_id else None
        account = db.get(Account, told.account_id) if told and told.account_id else None
        if told is None or secret is None or account is None:
            answer = page(
                request,
                "message.html",
                {
                    "title": "Einmalpasswort",
                    "text": "Das Einmalpasswort wurde bereits angezeigt. Erzeugen Sie bei Bedarf "
                    "ein neues; das bisherige gilt dann nicht mehr.",
                },
                viewer=who,
            )
        else:
            context = {"account": account, "otp": secret, "back": told.back}
            answer = page(request, "otp.html", context, viewer=who)
    answer.delete_cookie(flash.KEY_COOKIE, path=flash.PAGE)
    return answer
