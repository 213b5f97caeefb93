"""Checks of the header (`Vorlauf`) and trailer (`Nachlauf`) that need only the file."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation

from lxml import etree

from ingest.settings import ChecksSettings
from ingest.validating.findings import Catalogue, Finding, money
from ingest.validating.identifiers import betriebsnummer_valid
from ingest.validating.moments import BERLIN
from ingest.validating.records import Header, Trailer

_MONTH = re.compile(r"([0-9]{4})-(0[1-9]|1[0-2])")
_YEAR = re.compile(r"[0-9]{4}")
# before this, no report file of this format can have been made: the sender's clock is wrong
EARLIEST_CREATED = datetime(1900, 1, 1, tzinfo=UTC)


def check_header(
    header: Header, catalogue: Catalogue, checks: ChecksSettings, received_at: datetime
) -> list[Finding]:
    findings: list[Finding] = []

    def add(code: str, detail: str | None, field: str) -> None:
        findings.append(catalogue.finding(code, detail, field=f"Vorlauf/{field}", line=header.line))

    if not betriebsnummer_valid(header.sender):
        add("ZVVO020", f"Prüfziffer von {header.sender} falsch", "Absender")
    period_problem = _period_problem(header, checks, received_at)
    if period_problem:
        add("ZVVO030", period_problem, "Zeitraum")
    skew = timedelta(seconds=checks.clock_skew_seconds)
    created = header.created_text or header.created.isoformat()
    if header.created > received_at + skew:
        add("ZVVO054", f"Erstellt {created}, Eingang {_local(received_at)}", "Erstellt")
    elif header.created < EARLIEST_CREATED:
        add("ZVVO055", f"Erstellt {created}", "Erstellt")
    return findings


def _local(moment: datetime) -> str:
    """A moment as the fund's local time for people: ``02.11.2026 09:30:00``."""
    return moment.astimezone(BERLIN).strftime("%d.%m.%Y %H:%M:%S")


def _period_problem(header: Header, checks: ChecksSettings, received_at: datetime) -> str | None:
    today = received_at.date()
    if header.file_kind == "Monatsmeldung":
        match = _MONTH.fullmatch(header.period)
        if not match:
            return "eine Monatsmeldung braucht JJJJ-MM"
        year, month = int(match.group(1)), int(match.group(2))
        if (year, month) > (today.year, today.month):
            return "liegt in der Zukunft"
    else:
        if not _YEAR.fullmatch(header.period):
            return "eine Jahresmeldung braucht JJJJ"
        year = int(header.period)
        if year > today.year:
            return "liegt in der Zukunft"
        month = 1
    oldest = (today.year - checks.max_years_back, today.month)
    if header.file_kind == "Monatsmeldung" and (year, month) < oldest:
        return f"mehr als {checks.max_years_back} Jahre zurück"
    if header.file_kind != "Monatsmeldung" and year < oldest[0]:
        return f"mehr als {checks.max_years_back} Jahre zurück"
    return None


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


def check_trailer(
    trailer: Trailer,
    catalogue: Catalogue,
    count: int,
    sum_pay: Decimal,
    sum_amount: Decimal,
    unreadable: frozenset[str] | set[str] = frozenset(),
) -> list[Finding]:
    """Trailer against the reports; ``unreadable``: the sums a report's amount that is no
    number keeps from being checked (see :func:`unreadable_sums`)."""
    findings: list[Finding] = []
    if trailer.count != count:
        findings.append(
            catalogue.finding(
                "ZVNC010",
                f"angegeben {trailer.count}, enthalten {count}",
                field="Nachlauf/AnzahlMeldungen",
                line=trailer.line,
            )
        )
    for field, stated, actual in (
        ("SummeEntgelt", trailer.sum_pay, sum_pay),
        ("SummeBetrag", trailer.sum_amount, sum_amount),
    ):
        if stated != actual and field not in unreadable:
            findings.append(
                catalogue.finding(
                    "ZVNC020",
                    f"{field} angegeben {money(stated)}, berechnet {money(actual)}",
                    field=f"Nachlauf/{field}",
                    line=trailer.line,
                )
            )
    return findings
