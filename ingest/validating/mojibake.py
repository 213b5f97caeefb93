"""Names that were encoded twice: UTF-8 bytes read as ISO-8859-1, ISO-8859-15 or Windows-1252.

A UTF-8 file that declares ``encoding="ISO-8859-1"`` is well-formed and schema-valid, but
every umlaut arrives as two characters: ``Müller`` as ``MÃ¼ller``, ``Jörg`` as ``JÃ¶rg``.
Such a name must not be stored: a search for the person would never find her.

The test is exact, not a list of patterns: a run of non-ASCII characters is double-encoded
when its bytes in one of those single-byte encodings are valid UTF-8 and stand for letters of
a European script. A genuine name does not pass it: a letter such as ``ü`` or ``é`` is one
byte there, and a UTF-8 sequence needs a lead byte (``Â`` to ``ô``) followed by continuation
bytes, which in those encodings are mostly symbols and control characters (``¼``, ``¶``,
``\\x84``), not letters of a name.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

_NON_ASCII_RUN = re.compile(r"[^\x00-\x7f]{2,}")
# What a double-encoded name stands for: letters and combining marks of the Latin, Greek and
# Cyrillic scripts (U+0080 to U+052F, Latin and Greek Extended such as ẞ and ᾶ). A run that
# decodes to anything else (``éšš`` would give a CJK character, ``ÂŒ`` a control character)
# is no double-encoded name. What remains mistakable is a capital from Â to Ô directly
# followed by one of š, ž, œ, ƒ, ª, µ, º (``Äš`` reads as ``Ě``); no name is known to have one.
_NAME_SCRIPTS = re.compile("[\u0080-\u052f\u1e00-\u1fff]+")
# the encodings a UTF-8 text is usually misread as, the likelier first where they disagree
# (`ÃŸ` is `ß` read as Windows-1252, not `þ` read as ISO-8859-15)
_MISREAD_AS = ("latin-1", "cp1252", "iso-8859-15")


@dataclass(frozen=True, slots=True)
class DoubleEncoding:
    """The first double-encoded run of a text and what it stands for."""

    found: str  # e.g. "Ã¼"
    meant: str  # e.g. "ü"
    repaired: str  # the whole text with every such run decoded


def _decoded(run: str) -> str | None:
    for encoding in _MISREAD_AS:
        try:
            meant = run.encode(encoding).decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            continue
        if _NAME_SCRIPTS.fullmatch(meant) and all(
            unicodedata.category(c)[0] in "LM" for c in meant
        ):
            return meant
    return None


def double_encoding(text: str) -> DoubleEncoding | None:
    """The double encoding in ``text``, or ``None`` (always for ASCII text, at once)."""
    if text.isascii():
        return None
    first: tuple[str, str] | None = None
    parts: list[str] = []
    position = 0
    for match in _NON_ASCII_RUN.finditer(text):
        meant = _decoded(match.group())
        if meant is None:
            continue
        if first is None:
            first = (match.group(), meant)
        parts.append(text[position : match.start()])
        parts.append(meant)
        position = match.end()
    if first is None:
        return None
    parts.append(text[position:])
    return DoubleEncoding(first[0], first[1], "".join(parts))
