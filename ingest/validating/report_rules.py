"""The check engine of one report: runs the registered REPORT and PERIOD rules.

A report is checked in a :class:`CheckContext` (the submission it came in, the configured
checks, the catalogue), never in a file: a report read from a file and a report typed into a
form get the same findings. The rules are registered with their codes in the ``rules_*``
modules of this package (see :mod:`ingest.validating.registry`); the rules on the fund's stored
state run after these, in the pipeline.

The order of a report's findings is stable: the report rules in the order they are registered,
then the period rules for each Abschnitt in file order, then the report rules registered
``after_periods``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import cache
from typing import Any

from ingest.settings import ChecksSettings
from ingest.validating.booking_keys import BookingKeys
from ingest.validating.findings import Catalogue, Finding, Findings
from ingest.validating.records import ReportData
from ingest.validating.registry import Scope, registered
from ingest.validating.rules_period import Booking
from ingest.validating.rules_report import report_schema
from ingest.validating.submission import Submission

Check = Callable[..., Any]


@dataclass(frozen=True, slots=True)
class Plan:
    """The rules that apply to one report kind, in the order they run."""

    before: tuple[Check, ...]  # report rules
    periods: tuple[Check, ...]  # period rules, for each Abschnitt
    after: tuple[Check, ...]  # report rules on all Abschnitte together


@cache
def plans() -> dict[str, Plan]:
    """The plan of every report kind, made once from the registry.

    A function registered for several codes runs once. ZVDA010 is not in the plans: it looks
    at the element before it is a record (see :func:`~.rules_report.report_schema`).
    """
    from ingest.validating.extract import REPORT_CHILDREN

    rules = list(registered().values())
    plan: dict[str, Plan] = {}
    for kind, children in REPORT_CHILDREN.items():
        lists: tuple[list[Check], list[Check], list[Check]] = ([], [], [])
        for found in rules:
            if found.kinds is not None and kind not in found.kinds:
                continue
            if found.scope is Scope.REPORT and found.check is not report_schema:
                target = lists[2] if found.after_periods else lists[0]
            elif found.scope is Scope.PERIOD and "Abschnitt" in children:
                target = lists[1]
            else:
                continue
            if found.check not in target:
                target.append(found.check)
        plan[kind] = Plan(*(tuple(checks) for checks in lists))
    return plan


@dataclass(frozen=True, slots=True)
class CheckContext:
    """What the stateless rules know besides the report: the submission and the configuration."""

    catalogue: Catalogue
    booking_keys: BookingKeys
    checks: ChecksSettings
    submission: Submission
    _bookings: dict[tuple[str, int], Booking] = field(
        default_factory=dict, compare=False, repr=False
    )
    # asked by every report: worked out once
    test: bool = field(init=False, compare=False, repr=False)
    today: date = field(init=False, compare=False, repr=False)
    year: int | None = field(init=False, compare=False, repr=False)
    plans: dict[str, Plan] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "test", self.submission.test)
        object.__setattr__(self, "today", self.submission.received_at.date())
        object.__setattr__(self, "year", self.submission.year)
        object.__setattr__(self, "plans", plans())

    def booking(self, key: str, year: int) -> Booking:
        """What an `Abschnitt` with booking key ``key`` in ``year`` is checked against. A file
        uses a handful of keys and years: each is worked out once."""
        try:
            return self._bookings[key, year]
        except KeyError:
            problem = self.booking_keys.problem(key)
            merkmal = self.booking_keys.merkmale[key[2:4]] if problem is None else None
            rate: Decimal | None = None
            if merkmal is not None:
                by_year = self.checks.rates.get(merkmal.code)
                rate = by_year.get(str(year), by_year.get("default")) if by_year else None
            booking = Booking(problem, merkmal, rate, rate / 100 if rate is not None else None)
            self._bookings[key, year] = booking
            return booking


def check_report(report: ReportData, ctx: CheckContext) -> list[Finding]:
    """Every stateless finding about ``report``, in a stable order."""
    plan = ctx.plans[report.kind]
    out = Findings(
        ctx.catalogue, satz=report.satz, meldungs_id=report.meldungs_id, line=report.line
    )
    for check in plan.before:
        check(report, ctx, out)
    if plan.periods:
        for period in report.periods:
            booking = ctx.booking(period.booking_key, period.begin.year)
            for check in plan.periods:
                check(report, period, booking, ctx, out)
    for check in plan.after:
        check(report, ctx, out)
    return out.items
