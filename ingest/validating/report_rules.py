"""The check engine of one report: runs the registered REPORT and PERIOD rules.

A report is checked in a :class:`CheckContext` (the submission it came in, the configured
checks, the catalogue), never in a file: a report read from a file and a report typed into a
form get the same findings. The rules are registered with their codes in the ``rules_*``
modules of this package (see :mod:`ingest.validating.registry`); the rules on the fund's stored
state run after these, in the pipeline.

The order of a report's findings is stable: the report rules in the order they are registered,
then the period rules for each Abschnitt in file order, then the report rules registered
``after_periods``. Which rules apply is worked out once: per report kind (:func:`plans`), and
for the period rules per booking key and year (:meth:`CheckContext.period_checks`).
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
    periods: tuple[tuple[Check, Callable[[Booking], bool] | None], ...]  # period rules, `when`
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
        before: list[Check] = []
        periods: list[tuple[Check, Callable[[Booking], bool] | None]] = []
        after: list[Check] = []
        for found in rules:
            if found.kinds is not None and kind not in found.kinds:
                continue
            if found.scope is Scope.REPORT and found.check is not report_schema:
                target = after if found.after_periods else before
                if found.check not in target:
                    target.append(found.check)
            elif (
                found.scope is Scope.PERIOD
                and "Abschnitt" in children
                and (found.check, found.when) not in periods
            ):
                periods.append((found.check, found.when))
        plan[kind] = Plan(tuple(before), tuple(periods), tuple(after))
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
    _period_checks: dict[tuple[str, str, int], tuple[Booking, tuple[Check, ...]]] = field(
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

    def period_checks(self, kind: str, key: str, year: int) -> tuple[Booking, tuple[Check, ...]]:
        """The booking of ``key`` in ``year`` and the period rules of ``kind`` that apply to
        it, in the order they run; worked out once per kind, key and year."""
        try:
            return self._period_checks[kind, key, year]
        except KeyError:
            booking = self.booking(key, year)
            checks = tuple(
                check for check, when in self.plans[kind].periods if when is None or when(booking)
            )
            self._period_checks[kind, key, year] = (booking, checks)
            return booking, checks


def check_report(report: ReportData, ctx: CheckContext) -> list[Finding]:
    """Every stateless finding about ``report``, in a stable order."""
    kind = report.kind
    plan = ctx.plans[kind]
    out = Findings(ctx.catalogue, report.satz, report.meldungs_id, report.line)
    for check in plan.before:
        check(report, ctx, out)
    if plan.periods:
        known = ctx._period_checks
        for period in report.periods:
            year = period.begin.year
            entry = known.get((kind, period.booking_key, year))
            booking, checks = entry or ctx.period_checks(kind, period.booking_key, year)
            for check in checks:
                check(report, period, booking, ctx, out)
    for check in plan.after:
        check(report, ctx, out)
    return out.items
