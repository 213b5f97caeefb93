"""The payments as operators read them (``zvk payments list``): one tab-separated line each.

Every field is printed on one line of its own column: a tab, line break, backslash or any other
control character in a bank's text is written as an escape (``\\t``, ``\\n``, ``\\r``, ``\\\\``,
``\\xNN``), so a remittance text can neither shift the columns nor put raw control bytes on the
operator's terminal.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from sqlalchemy import select
from sqlalchemy.orm import Session

from ingest.reconciling.corrections import reversals
from ingest.reconciling.models import Payment
from ingest.storing.models import BillingOffice, Member

HEADER = (
    "Buchungstag",
    "Betrag",
    "Währung",
    "Konto",
    "Referenz",
    "Mitglied",
    "Abrechnungsstelle",
    "Monat",
    "Auftraggeber",
    "Verwendungszweck",
    "Hinweis",
)
_NAMED = {"\t": "\\t", "\n": "\\n", "\r": "\\r", "\\": "\\\\"}
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\\\u2028\u2029]")


def escape(text: str) -> str:
    """``text`` with tabs, line breaks, backslashes and control characters escaped."""
    return _CONTROL.sub(lambda m: _NAMED.get(m[0]) or f"\\x{ord(m[0]):02x}", text)


def payment_lines(session: Session, *, unmatched: bool, limit: int) -> Iterator[str]:
    """The header and one line per payment, newest booking first.

    ``unmatched``: only payments without office and month that no correction reversed.
    """
    open_ = list(session.scalars(select(Payment).where(Payment.billing_office_id.is_(None))))
    reversed_ = reversals(open_)
    references = {p.id: p.bank_reference for p in open_}
    query = (
        select(Payment, Member.number, BillingOffice.number)
        .outerjoin(BillingOffice, BillingOffice.id == Payment.billing_office_id)
        .outerjoin(Member, Member.id == BillingOffice.member_id)
        .order_by(Payment.booking_date.desc(), Payment.id.desc())
    )
    if unmatched:
        query = query.where(Payment.billing_office_id.is_(None))
        if reversed_:
            query = query.where(Payment.id.not_in(list(reversed_)))
    yield "\t".join(HEADER)
    for p, member, office in session.execute(query.limit(limit)):
        note = p.unmatched_reason or ""
        if p.id in reversed_:
            note = f"ausgeglichen mit {references[reversed_[p.id]]}"
        fields = (
            p.booking_date.isoformat(),
            f"{p.amount:.2f}",
            p.currency,
            p.account,
            p.bank_reference,
            member or "-",
            office or "-",
            p.month or "-",
            p.payer or "",
            p.remittance,
            note,
        )
        yield "\t".join(escape(str(field)) for field in fields)
