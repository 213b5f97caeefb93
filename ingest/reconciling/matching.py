"""Which member, billing office and month a credit pays, read from its remittance text.

The pattern agreed with the members is ``ZVK <Mitgliedsnummer>/<Abrechnungsstelle> <YYYY-MM>``, e.g.
``ZVK 100001/001 2026-10``, in any case and with any text around it. Spaces around ``/`` and
``-`` are tolerated, because banks split long remittance texts into lines. A text naming two
different months (or offices) is not guessed: it stays unmatched, as does every entry in a
currency other than EUR.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

PATTERN = re.compile(
    r"(?<![A-Z0-9])ZVK\s*(?P<member>[0-9]{6})\s*/\s*(?P<office>[0-9]{3})\s+"
    r"(?P<year>[0-9]{4})\s*-\s*(?P<month>[0-9]{2})(?![0-9])",
    re.IGNORECASE,
)

NO_PATTERN = "kein Verwendungszweck ZVK <Mitglied>/<Abrechnungsstelle> <JJJJ-MM>"
AMBIGUOUS = "mehrere Monate oder Abrechnungsstellen im Verwendungszweck"
DEBIT = "Belastung (keine Gutschrift)"
ZERO_AMOUNT = "Betrag 0,00 (keine Zahlung)"
BAD_MONTH = "ungültiger Monat im Verwendungszweck"
UNKNOWN_OFFICE = "Mitglied oder Abrechnungsstelle unbekannt"
FOREIGN_CURRENCY = "Währung {currency} statt EUR"


@dataclass(frozen=True, slots=True)
class Target:
    """What a credit pays: one month of one billing office."""

    member: str
    office: str
    month: str  # YYYY-MM


def match_remittance(text: str, amount: Decimal, currency: str = "EUR") -> Target | str:
    """The target of a credit, or the reason (German, for operators) why there is none.

    Only a credit in EUR pays anything: an amount in another currency is never counted.
    """
    if currency != "EUR":
        return FOREIGN_CURRENCY.format(currency=currency[:3] or "?")
    if amount == 0:
        return ZERO_AMOUNT
    if amount < 0:
        return DEBIT
    found = {
        (m["member"], m["office"], m["year"], m["month"]) for m in PATTERN.finditer(text or "")
    }
    if not found:
        return NO_PATTERN
    if len(found) > 1:
        return AMBIGUOUS
    member, office, year, month = found.pop()
    if not 1 <= int(month) <= 12:
        return BAD_MONTH
    return Target(member=member, office=office, month=f"{year}-{month}")
