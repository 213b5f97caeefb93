"""Rules of the Nachlauf against the reports read (scope TRAILER): count and sums.

Each rule is called as ``check(trailer, totals, out)``; ``out`` is bound to the Nachlauf (its
line, fields prefixed ``Nachlauf/``). :func:`ingest.validating.frame_rules.check_trailer` runs
them in the order they are registered here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from lxml import etree

from ingest.validating.findings import Findings, money
from ingest.validating.records import Trailer
from ingest.validating.registry import Scope, rule


@dataclass(frozen=True, slots=True)
class Totals:
    """What the file's reports add up to; ``unreadable``: the sums that a report's amount that
    is no number keeps from being checked (see :func:`unreadable_sums`)."""

    count: int
    sum_pay: Decimal
    sum_amount: Decimal
    unreadable: frozenset[str] | set[str] = field(default_factory=frozenset)


@rule("ZVNC010", Scope.TRAILER)
def count_matches(trailer: Trailer, totals: Totals, out: Findings) -> None:
    """AnzahlMeldungen is the number of reports in the file."""
    if trailer.count != totals.count:
        out.add(
            "ZVNC010", f"angegeben {trailer.count}, enthalten {totals.count}", "AnzahlMeldungen"
        )


@rule("ZVNC020", Scope.TRAILER)
def sums_match(trailer: Trailer, totals: Totals, out: Findings) -> None:
    """SummeEntgelt and SummeBetrag are the sums of the reports' amounts."""
    for name, stated, actual in (
        ("SummeEntgelt", trailer.sum_pay, totals.sum_pay),
        ("SummeBetrag", trailer.sum_amount, totals.sum_amount),
    ):
        if stated != actual and name not in totals.unreadable:
            out.add("ZVNC020", f"{name} angegeben {money(stated)}, berechnet {money(actual)}", name)


def unreadable_sums(element: etree._Element) -> set[str]:
    """The trailer sums that a schema-invalid report makes impossible to check: those to which
    one of its amounts belongs that is no number (``30000,00`` with a decimal comma). Its own
    finding (ZVDA010) names the amount; a ZVNC020 beside it would only repeat the mistake."""
    unreadable: set[str] = set()
    is_statement = etree.QName(element).localname == "Monatsabrechnung"
    for child in element.iter():
        if not isinstance(child.tag, str):
            continue
        name, parent = etree.QName(child).localname, child.getparent()
        in_period = parent is not None and etree.QName(parent).localname == "Abschnitt"
        if in_period or (is_statement and parent is element):
            total = _SUMS.get((name, in_period))
            if total is not None and not _number(child.text):
                unreadable.add(total)
    return unreadable


_SUMS = {
    ("Entgelt", True): "SummeEntgelt",
    ("Betrag", True): "SummeBetrag",
    ("Entgelt", False): "SummeEntgelt",
    ("Gesamtbetrag", False): "SummeBetrag",
}


def _number(text: str | None) -> bool:
    try:
        return text is not None and Decimal(text.strip()).is_finite()
    except InvalidOperation:
        return False
