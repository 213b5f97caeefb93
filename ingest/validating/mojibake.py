"""Names that were encoded twice: UTF-8 bytes read as ISO-8859-1, ISO-8859-15 or Windows-1252.

A UTF-8 file that declares ``encoding="ISO-8859-1"`` is well-formed and schema-valid, but
every umlaut arrives as two characters: ``Müller`` as ``MÃ¼ller``, ``Jörg`` as ``JÃ¶rg``.
Such a name must not be stored: a search for the person would never find her.

The test is exact, not a list of patterns: characters are a double-encoded letter when their
bytes in one of those single-byte encodings are one valid UTF-8 sequence for a letter of a
European script. A genuine name does not pass it: a letter such as ``ü`` or ``é`` is one
byte there, and a UTF-8 sequence needs a lead byte (``Â`` to ``ô``) followed by continuation
bytes, which in those encodings are mostly symbols and control characters (``¼``, ``¶``,
``\\x84``), not letters of a name.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# A lead byte (Â to ô in these encodings) followed by another non-ASCII character: without
# one, the text has no double encoding (asked first; most names have none at all).
_CANDIDATE = re.compile("[\u00c2-\u00f4][^\x00-\x7f]")
# one UTF-8 sequence of two, three or four bytes
_SEQUENCE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}"
)
# What a double-encoded name stands for: letters and combining marks of the Latin, Greek and
# Cyrillic scripts (U+0080 to U+052F, Latin and Greek Extended such as ẞ and ᾶ). A sequence
# that decodes to anything else (``éšš`` would give a CJK character, ``ÂŒ`` a control
# character) is no double-encoded letter. What remains mistakable is a letter from Â to ß
# directly followed by one of š, ž, œ, ƒ, ª, µ, º (``Äš`` reads as ``Ě``), or one from à to ô
# followed by two or three of them (``ážš``); no name is known to have such a cluster.
_NAME_SCRIPTS = re.compile("[\u0080-\u052f\u1e00-\u1fff]+")
# the encodings a UTF-8 text is usually misread as, the likelier first where they disagree
# (`ÃŸ` is `ß` read as Windows-1252, not `þ` read as ISO-8859-15)
_MISREAD_AS = ("latin-1", "cp1252", "iso-8859-15")


@dataclass(frozen=True, slots=True)
class DoubleEncoding:
    """The first double-encoded letter of a text and what it stands for."""

    found: str  # e.g. "Ã¼"
    meant: str  # e.g. "ü"
    repaired: str  # the whole text with every double-encoded letter decoded


def _one_byte_each(text: str, encoding: str) -> bytes:
    """``text`` in a single-byte encoding, NUL for a character it lacks (which ends any
    sequence), so that byte positions are character positions."""
    out = bytearray()
    for char in text:
        try:
            out += char.encode(encoding)
        except UnicodeEncodeError:
            out.append(0)
    return bytes(out)


def _letters(meant: str) -> bool:
    return _NAME_SCRIPTS.fullmatch(meant) is not None and all(
        unicodedata.category(c)[0] in "LM" for c in meant
    )


def double_encoding(text: str) -> DoubleEncoding | None:
    """The double encoding in ``text``, or ``None`` (at once for most texts)."""
    if text.isascii() or _CANDIDATE.search(text) is None:
        return None
    found: dict[int, tuple[int, str]] = {}  # start -> end, letter meant
    taken: set[int] = set()
    for encoding in _MISREAD_AS:
        for match in _SEQUENCE.finditer(_one_byte_each(text, encoding)):
            span = range(match.start(), match.end())
            if taken.intersection(span):
                continue
            try:
                meant = match.group().decode("utf-8")
            except UnicodeDecodeError:  # an overlong form or a surrogate
                continue
            if _letters(meant):
                found[match.start()] = (match.end(), meant)
                taken.update(span)
    if not found:
        return None
    parts: list[str] = []
    position = 0
    for start in sorted(found):
        end, meant = found[start]
        parts.append(text[position:start])
        parts.append(meant)
        position = end
    parts.append(text[position:])
    first = min(found)
    end, meant = found[first]
    return DoubleEncoding(text[first:end], meant, "".join(parts))
