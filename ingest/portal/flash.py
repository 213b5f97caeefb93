"""What a page shows once after a form redirected to it (post-redirect-get).

The message lives in the signed-in session's row and is deleted when read, so a reload shows it
no more. A one-time password is kept there only sealed: XOR-ed with a random key of its own
length (a one-time pad), the key in a cookie of this browser; the database alone never holds it
readable, nor the cookie alone.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass

from fastapi import Request, Response

from ingest.accounts.models import PortalSession

KEY_COOKIE = "zvk_einmal"
PAGE = "/einmalpasswort"


@dataclass(frozen=True, slots=True)
class Flash:
    """A message for the next page: ``notice``/``error`` text, or a sealed one-time password
    for ``account_id`` with the page to go back to."""

    notice: str = ""
    error: str = ""
    account_id: int | None = None
    sealed: str = ""
    back: str = "/"


def _xor(data: bytes, key: bytes) -> bytes:
    return bytes(a ^ b for a, b in zip(data, key, strict=True))


def put(row: PortalSession, flash: Flash) -> None:
    row.flash = json.dumps(
        {
            "notice": flash.notice,
            "error": flash.error,
            "account_id": flash.account_id,
            "sealed": flash.sealed,
            "back": flash.back,
        }
    )


def take(row: PortalSession) -> Flash | None:
    """The session's message, removed from it (a second read finds nothing)."""
    if not row.flash:
        return None
    data = json.loads(row.flash)
    row.flash = None
    return Flash(**data)


def one_time_password(
    row: PortalSession, response: Response, account_id: int, secret: str, back: str, secure: bool
) -> Response:
    """Keep ``secret`` sealed in the session and its key in the browser; ``response`` (the
    redirect to :data:`PAGE`) carries the key's cookie."""
    data = secret.encode()
    key = secrets.token_bytes(len(data))
    put(row, Flash(account_id=account_id, sealed=_xor(data, key).hex(), back=back))
    response.set_cookie(
        KEY_COOKIE, key.hex(), httponly=True, samesite="strict", secure=secure, path=PAGE
    )
    return response


def unseal(request: Request, flash: Flash) -> str | None:
    """The one-time password of ``flash`` with this browser's key; None without a fitting key."""
    key = request.cookies.get(KEY_COOKIE, "")
    try:
        sealed, pad = bytes.fromhex(flash.sealed), bytes.fromhex(key)
        return _xor(sealed, pad).decode() if sealed and len(pad) == len(sealed) else None
    except (ValueError, UnicodeDecodeError):
        return None
