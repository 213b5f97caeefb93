"""Passwords and one-time passwords: Argon2id hashes only, the portal's password rules."""

from __future__ import annotations

import secrets
from functools import cache
from importlib import resources

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from ingest.errors import UsageError

MIN_LENGTH = 12
_HASHER = PasswordHasher()  # Argon2id with the library's recommended parameters
# Verified when an e-mail address is unknown, so that the answer takes as long as for a known one.
_DUMMY_HASH = _HASHER.hash(secrets.token_urlsafe(16))
# One-time passwords: no characters people confuse when they type them from a letter.
_OTP_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789"
OTP_LENGTH = 16


class AccountError(UsageError):
    """A request about an account that cannot be done; the message is German, for people."""


def hash_secret(secret: str) -> str:
    return _HASHER.hash(secret)


def verify_secret(stored: str | None, secret: str) -> bool:
    """Whether ``secret`` matches the stored hash; with no hash the same work is done in vain."""
    try:
        return _HASHER.verify(stored or _DUMMY_HASH, secret) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def new_one_time_password() -> str:
    return "".join(secrets.choice(_OTP_ALPHABET) for _ in range(OTP_LENGTH))


@cache
def common_passwords() -> frozenset[str]:
    """The list of common passwords the package ships (lower case)."""
    text = resources.files("ingest.accounts").joinpath("common_passwords.txt").read_text("utf-8")
    return frozenset(line.strip().lower() for line in text.splitlines() if line.strip())


def password_problems(password: str, email: str) -> list[str]:
    """What is wrong with a new personal password (German), empty when it is acceptable."""
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append(f"Das Passwort muss mindestens {MIN_LENGTH} Zeichen lang sein.")
    lowered = password.lower()
    local, _, domain = email.lower().partition("@")
    parts = [email.lower(), local, *domain.split(".")[:-1]]
    if any(len(part) >= 3 and part in lowered for part in parts):
        problems.append(
            "Das Passwort darf die E-Mail-Adresse oder einen Teil davon nicht enthalten."
        )
    if lowered in common_passwords():
        problems.append("Dieses Passwort ist zu verbreitet; bitte wählen Sie ein anderes.")
    return problems
