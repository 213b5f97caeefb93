"""Free text typed by people (names, e-mail addresses, telephone numbers, reasons): no
invisible characters that change how the text around them is shown."""

from __future__ import annotations

import unicodedata

from ingest.accounts.passwords import AccountError

# Control characters (Cc) and format characters (Cf: the bidi overrides and isolates
# U+202A–U+202E, U+2066–U+2069, the zero-width characters U+200B–U+200F, …), line and
# paragraph separators, and code points that are no characters.
_INVISIBLE = frozenset({"Cc", "Cf", "Co", "Cs", "Cn", "Zl", "Zp"})


def visible(value: str, what: str) -> str:
    """``value`` unchanged when every character shows as itself; else a German refusal."""
    if any(unicodedata.category(ch) in _INVISIBLE for ch in value):
        raise AccountError(
            f"{what} enthält unsichtbare Steuer- oder Formatzeichen (etwa einen Wechsel der "
            "Schreibrichtung); bitte geben Sie nur sichtbare Zeichen ein."
        )
    return value
