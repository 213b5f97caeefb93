"""Delivered file names as text: lossless, printable, and the same in ledger, logs and output.

A name on disk is a sequence of bytes that need not be UTF-8 and may hold control characters.
:func:`escaped_name` turns it into text that every database stores and every terminal shows as
it is: a backslash becomes ``\\\\``, a byte that is no part of UTF-8 and every control character
below U+0080 become ``\\xNN``, any other character that prints nothing (C1 controls, line and
paragraph separators, direction overrides) becomes ``\\uNNNN``. :func:`name_bytes` reverses it,
so the original bytes can always be told from the ledger.
"""

from __future__ import annotations

import os
import re
import unicodedata

_ESCAPE = re.compile(r"\\(\\|x[0-9a-f]{2}|u[0-9a-f]{4}|U[0-9a-f]{8})")
# Control (Cc), format (Cf), separators other than the space (Zl, Zp), unassigned or private
# code points, and surrogates (undecodable bytes as Python decodes file names).
_HIDDEN = frozenset(("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"))


def _hidden(char: str) -> bool:
    return unicodedata.category(char) in _HIDDEN


def escaped_name(name: str | bytes) -> str:
    """The printable, reversible text of a file name (``str`` as Python decodes file names)."""
    raw = name if isinstance(name, bytes) else os.fsencode(name)
    text = raw.decode("utf-8", "surrogateescape")
    out: list[str] = []
    for char in text:
        code = ord(char)
        if char == "\\":
            out.append("\\\\")
        elif 0xDC80 <= code <= 0xDCFF:  # a byte that is no part of UTF-8
            out.append(f"\\x{code - 0xDC00:02x}")
        elif not _hidden(char):
            out.append(char)
        elif code < 0x80:
            out.append(f"\\x{code:02x}")
        else:
            out.append(f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}")
    return "".join(out)


def name_bytes(escaped: str) -> bytes:
    """The bytes of the name on disk that :func:`escaped_name` made ``escaped`` of."""
    out = bytearray()
    position = 0
    for match in _ESCAPE.finditer(escaped):
        out += escaped[position : match.start()].encode("utf-8")
        escape = match.group(1)
        if escape == "\\":
            out += b"\\"
        elif escape[0] == "x":
            out.append(int(escape[1:], 16))
        else:
            out += chr(int(escape[1:], 16)).encode("utf-8")
        position = match.end()
    out += escaped[position:].encode("utf-8")
    return bytes(out)


def shown(text: str) -> str:
    """``text`` with every character that prints nothing escaped, for a terminal or a log.

    Names stored by :func:`escaped_name` come back unchanged; text stored before (or from
    elsewhere) can no longer move the cursor, overwrite a line or turn the text around.
    """
    if not any(_hidden(char) for char in text):
        return text
    return "".join(
        (
            f"\\x{ord(c) & 0xFF:02x}"
            if ord(c) < 0x80 or 0xDC80 <= ord(c) <= 0xDCFF
            else f"\\u{ord(c):04x}"
        )
        if _hidden(c)
        else c
        for c in text
    )


LEDGER_NAME_CHARS = 255  # the ledger's column for the delivered name


def ledger_name(escaped: str) -> str:
    """The name as the ledger can hold it: an escaped name longer than the column (a name of
    many undecodable bytes) keeps its beginning and its end around ``…``."""
    if len(escaped) <= LEDGER_NAME_CHARS:
        return escaped
    keep = (LEDGER_NAME_CHARS - 1) // 2
    return f"{escaped[:keep]}…{escaped[-keep:]}"


def is_escaped(text: str) -> bool:
    """Whether ``text`` can be a result of :func:`escaped_name` (nothing hidden in it)."""
    return not any(_hidden(char) for char in text)
