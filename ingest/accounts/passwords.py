"""Passwords and one-time passwords: Argon2id hashes only (the rules: ``password_rules``)."""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from ingest.accounts.password_rules import password_problems as password_problems
from ingest.accounts.problems import AccountError as AccountError

_HASHER = PasswordHasher()  # Argon2id with the library's recommended parameters
# Verified when an e-mail address is unknown, so that the answer takes as long as for a known one.
_DUMMY_HASH = _HASHER.hash(secrets.token_urlsafe(16))
# One-time passwords: no characters people confuse when they type them from a letter.
_OTP_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789"
OTP_LENGTH = 16


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
