"""The rules for a personal password (portal.md): long enough, not the e-mail address or a part
of it, not a common password (also not one with digits or signs around it), no trivial pattern.

Every problem is reported at once, each as one German sentence for the person choosing.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

MIN_LENGTH = 12
# A part of the e-mail address this long or longer must not occur in the password.
MIN_EMAIL_PART = 3
# A common password counts also with digits, signs and spaces before or after it
# ("Sommer2026!!"), when what remains has this many characters.
MIN_CORE = 4
# At least this many characters must lie outside keyboard rows, runs and repetitions.
MIN_FREE = 4
# Rows of German and English keyboards, the digits and the alphabet; a run of three or more
# neighbours (either way) counts as a pattern.
_SEQUENCES = (
    "qwertzuiopü",
    "asdfghjklöä",
    "yxcvbnm",
    "qwertyuiop",
    "zxcvbnm",
    "1234567890",
    "abcdefghijklmnopqrstuvwxyz",
    "1qaz2wsx3edc4rfv5tgb6zhn7ujm8ik9ol0p",
    "1qay2wsx3edc4rfv5tgb6zhn7ujm8ik9ol0p",
)
_SPLIT = re.compile(r"[.\-_+]")
_EDGES = re.compile(r"^[\W\d_]+|[\W\d_]+$")
# One word and a year, perhaps with signs ("Musterhausen2026", "Sommer-2026!").
_WORD_AND_YEAR = re.compile(r"[^\W\d_]+[\W_]*(19|20)[0-9]{2}[\W_]*|(19|20)[0-9]{2}[\W_]*[^\W\d_]+")
_LEET = str.maketrans(
    {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s"}
)

TOO_SHORT = f"Das Passwort muss mindestens {MIN_LENGTH} Zeichen lang sein."
ONLY_SPACE = "Das Passwort darf nicht nur aus Leerzeichen bestehen."
EMAIL_PART = "Das Passwort darf die E-Mail-Adresse oder einen Teil davon nicht enthalten."
COMMON = (
    "Dieses Passwort ist zu verbreitet (auch mit angehängten Ziffern oder Zeichen); "
    "bitte wählen Sie ein anderes."
)
WORD_AND_YEAR = "Das Passwort darf nicht nur aus einem Wort und einer Jahreszahl bestehen."
TRIVIAL = (
    "Das Passwort besteht fast nur aus einfachen Mustern (Tastaturreihen, Zahlen- oder "
    "Buchstabenfolgen, Wiederholungen)."
)


@cache
def common_passwords() -> frozenset[str]:
    """The list of common passwords the package ships (lower case; its sources in its head)."""
    text = resources.files("ingest.accounts").joinpath("common_passwords.txt").read_text("utf-8")
    return frozenset(
        line.strip().lower()
        for line in text.splitlines()
        if line.strip() and not line.startswith("#")
    )


def email_parts(email: str) -> list[str]:
    """The address, its local part, and the pieces of the local part and of the domain's labels
    (without the top-level domain) split at ``.``, ``-``, ``_``, ``+``, of 3 characters or more."""
    lowered = email.strip().lower()
    local, _, domain = lowered.partition("@")
    labels = domain.split(".")[:-1]
    pieces = [lowered, local, *labels, *_SPLIT.split(local)]
    for label in labels:
        pieces.extend(_SPLIT.split(label))
    return [p for p in dict.fromkeys(pieces) if len(p) >= MIN_EMAIL_PART]


def _is_common(lowered: str) -> bool:
    common = common_passwords()
    cores = {lowered, lowered.translate(_LEET)}
    for text in list(cores):
        core = _EDGES.sub("", text)
        if len(core) >= MIN_CORE:
            cores.add(core)
    return any(core in common for core in cores)


def _patterned(lowered: str) -> bool:
    """Whether fewer than MIN_FREE characters lie outside runs of three or more keyboard or
    sequence neighbours and repetitions of one character."""
    covered = [False] * len(lowered)
    for start in range(len(lowered)):
        for end in range(len(lowered), start + 2, -1):
            piece = lowered[start:end]
            if len(set(piece)) == 1 or any(
                piece in row or piece in row[::-1] for row in _SEQUENCES
            ):
                covered[start:end] = [True] * (end - start)
                break
    return covered.count(False) < MIN_FREE


def _repeated_unit(lowered: str) -> bool:
    """Whether the password is one short piece repeated (``abcabcabcabc``, ``x7x7x7x7x7x7``)."""
    return any(
        len(lowered) % size == 0 and lowered == lowered[:size] * (len(lowered) // size)
        for size in range(1, len(lowered) // 2 + 1)
    )


def password_problems(password: str, email: str) -> list[str]:
    """Everything that is wrong with a new personal password (German), empty when acceptable."""
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append(TOO_SHORT)
    if password and not password.strip():
        return [*problems, ONLY_SPACE]
    lowered = password.lower()
    if any(part in lowered for part in email_parts(email)):
        problems.append(EMAIL_PART)
    if _is_common(lowered):
        problems.append(COMMON)
    if _WORD_AND_YEAR.fullmatch(lowered):
        problems.append(WORD_AND_YEAR)
    if _patterned(lowered) or _repeated_unit(lowered):
        problems.append(TRIVIAL)
    return problems
