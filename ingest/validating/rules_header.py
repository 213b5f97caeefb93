"""Rules of the Vorlauf by itself (scope HEADER): sender number, period, time of creation.

Each rule is called as ``check(header, ctx, out)``; ``out`` is bound to the Vorlauf (its line,
fields prefixed ``Vorlauf/``). :func:`ingest.validating.frame_rules.check_header` runs them in
the order they are registered here.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from ingest.settings import ChecksSettings
from ingest.validating.findings import Findings
from ingest.validating.identifiers import betriebsnummer_valid
from ingest.validating.moments import BERLIN
from ingest.validating.records import Header
from ingest.validating.registry import Scope, rule

if TYPE_CHECKING:
    from ingest.validating.report_rules import CheckContext

_MONTH = re.compile(r"([0-9]{4})-(0[1-9]|1[0-2])")
_YEAR = re.compile(r"[0-9]{4}")
# before this, no report file of this format can have been made: the sender's clock is wrong
EARLIEST_CREATED = datetime(1900, 1, 1, tzinfo=UTC)


@rule("ZVVO020", Scope.HEADER)
def sender_number(header: Header, ctx: CheckContext, out: Findings) -> None:
    """The Absender is a Betriebsnummer with a right check digit."""
    if not betriebsnummer_valid(header.sender):
        out.add("ZVVO020", f"Prüfziffer von {header.sender} falsch", "Absender")


@rule("ZVVO030", Scope.HEADER)
def period_fits(header: Header, ctx: CheckContext, out: Findings) -> None:
    """The Zeitraum fits the Dateiart, is not in the future and not too many years back."""
    problem = _period_problem(header, ctx.checks, ctx.submission.received_at)
    if problem:
        out.add("ZVVO030", problem, "Zeitraum")


@rule("ZVVO054", Scope.HEADER)
def created_not_after_receipt(header: Header, ctx: CheckContext, out: Findings) -> None:
    """Erstellt lies no later than the time of receipt (with the configured clock skew)."""
    received_at = ctx.submission.received_at
    if header.created > received_at + timedelta(seconds=ctx.checks.clock_skew_seconds):
        created = header.created_text or header.created.isoformat()
        out.add("ZVVO054", f"Erstellt {created}, Eingang {_local(received_at)}", "Erstellt")


@rule("ZVVO055", Scope.HEADER)
def created_not_too_early(header: Header, ctx: CheckContext, out: Findings) -> None:
    """Erstellt lies not before 1900-01-01 (a hint; the file is still processed)."""
    if header.created < EARLIEST_CREATED:
        out.add(
            "ZVVO055", f"Erstellt {header.created_text or header.created.isoformat()}", "Erstellt"
        )


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
