"""Corrections: a debit that reverses an unmatched credit clears both.

The rule (also in ``docs/reconciliation.md``): a debit reverses a credit when

* the credit is unmatched (it names no registered office and month) and not reversed already,
* both are in the same currency and the debit's amount is exactly the credit's, negated,
* the credit was booked on or before the debit, and
* either the debit's remittance text names the credit's bank reference (as a word of its own,
  in any case; then the accounts may differ), or it names none and exactly one credit fits:
  one of the same account, or of any account when the debit comes from a correction CSV.

Debits that name a reference are paired first, then the others in booking order; where two
credits fit a debit that names none, nothing is guessed and all stay unmatched. The pairs are
derived from the payments booked by a day each time, so a run as of a day before the
correcting debit still lists the credit.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import Decimal

from ingest.reconciling.bankfiles import CSV_ACCOUNT
from ingest.reconciling.models import Payment


def _names(text: str, reference: str) -> bool:
    pattern = rf"(?<![0-9A-Za-z]){re.escape(reference)}(?![0-9A-Za-z])"
    return re.search(pattern, text or "", re.IGNORECASE) is not None


def reversals(payments: Iterable[Payment]) -> dict[int, int]:
    """Of the unmatched ``payments``, each reversed credit and its debit (id → id, both ways)."""
    unmatched = [p for p in payments if p.billing_office_id is None]
    credits = [p for p in unmatched if Decimal(p.amount) > 0]
    debits = sorted(
        (p for p in unmatched if Decimal(p.amount) < 0), key=lambda p: (p.booking_date, p.id)
    )
    paired: dict[int, int] = {}

    def fitting(debit: Payment) -> list[Payment]:
        return [
            c
            for c in credits
            if c.id not in paired
            and c.currency == debit.currency
            and Decimal(c.amount) == -Decimal(debit.amount)
            and c.booking_date <= debit.booking_date
        ]

    def pair(debit: Payment, credit: Payment) -> None:
        paired[debit.id], paired[credit.id] = credit.id, debit.id

    rest = []
    for debit in debits:
        named = [c for c in fitting(debit) if _names(debit.remittance, c.bank_reference)]
        if len(named) == 1:
            pair(debit, named[0])
        elif not named:
            rest.append(debit)
    for debit in rest:
        same = [
            c for c in fitting(debit) if c.account == debit.account or debit.account == CSV_ACCOUNT
        ]
        if len(same) == 1:
            pair(debit, same[0])
    return paired
