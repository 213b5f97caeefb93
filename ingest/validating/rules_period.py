"""Rules of one Abschnitt (scope PERIOD): dates, booking key, amounts against the rate.

Each rule is called as ``check(report, period, booking, ctx, out)`` for every Abschnitt of a
report, in file order; ``booking`` is what the Abschnitt's booking key means in its year
(:meth:`~ingest.validating.report_rules.CheckContext.booking`), worked out once per key and year.
A rule registered ``when`` a booking has some property runs only for such Abschnitte; it still
says nothing when called for another.
Negative amounts (ZVVA100) and overlapping Abschnitte (ZVVA070) are report rules.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, NamedTuple

from ingest.validating.booking_keys import Merkmal
from ingest.validating.findings import Findings, money, percent
from ingest.validating.records import PeriodData, ReportData
from ingest.validating.registry import Scope, rule

if TYPE_CHECKING:
    from ingest.validating.report_rules import CheckContext

CENT = Decimal("0.01")
ZERO = Decimal(0)  # compared with amounts: a Decimal compares faster with a Decimal than an int


class Booking(NamedTuple):
    """A booking key in one year: its problem, its Merkmal (``None`` when the key has a
    problem), the Merkmal's rate in percent and as a share of the pay (``None``: no rate)."""

    problem: str | None
    merkmal: Merkmal | None
    rate: Decimal | None
    share: Decimal | None


def _without_merkmal(booking: Booking) -> bool:
    return booking.merkmal is None


def _with_pay(booking: Booking) -> bool:
    return booking.merkmal is not None and booking.merkmal.with_pay


def _without_pay(booking: Booking) -> bool:
    return booking.merkmal is not None and not booking.merkmal.with_pay


def _with_children(booking: Booking) -> bool:
    return booking.merkmal is not None and booking.merkmal.needs_children


def _with_rate(booking: Booking) -> bool:
    return _with_pay(booking) and booking.share is not None


@rule("ZVVA010", Scope.PERIOD)
def begin_before_end(
    report: ReportData, period: PeriodData, booking: Booking, ctx: CheckContext, out: Findings
) -> None:
    """The Abschnitt's Beginn is not after its Ende."""
    if period.begin > period.end:
        out.add("ZVVA010", None, f"{period.where}/Beginn")


@rule("ZVVA020", Scope.PERIOD)
def within_one_year(
    report: ReportData, period: PeriodData, booking: Booking, ctx: CheckContext, out: Findings
) -> None:
    """The Abschnitt lies in one calendar year, in a Jahresmeldung in the submission's year."""
    if period.begin.year != period.end.year:
        out.add("ZVVA020", "über den Jahreswechsel", f"{period.where}/Ende")
        return
    year = ctx.year
    if report.kind == "Jahresmeldung" and year is not None and period.begin.year != year:
        out.add("ZVVA020", f"außerhalb des Jahres {year}", f"{period.where}/Beginn")


@rule("ZVVA030", Scope.PERIOD, when=_without_merkmal)
def booking_key_known(
    report: ReportData, period: PeriodData, booking: Booking, ctx: CheckContext, out: Findings
) -> None:
    """The Buchungsschluessel is in the catalogue and no forbidden combination; the rules
    below need its Merkmal and say nothing about an Abschnitt without one."""
    if booking.merkmal is None:
        out.add("ZVVA030", booking.problem, f"{period.where}/Buchungsschluessel")


@rule("ZVVA040", Scope.PERIOD, when=_with_pay)
def pay_where_due(
    report: ReportData, period: PeriodData, booking: Booking, ctx: CheckContext, out: Findings
) -> None:
    """A Merkmal with pay comes with an Entgelt other than 0."""
    merkmal = booking.merkmal
    if merkmal is not None and merkmal.with_pay and period.pay == ZERO:
        out.add("ZVVA040", None, f"{period.where}/Entgelt")


@rule("ZVVA050", Scope.PERIOD, when=_without_pay)
def no_pay_where_none(
    report: ReportData, period: PeriodData, booking: Booking, ctx: CheckContext, out: Findings
) -> None:
    """A Merkmal without pay comes with Entgelt and Betrag 0."""
    merkmal = booking.merkmal
    if merkmal is None or merkmal.with_pay:
        return
    if period.pay != ZERO or period.amount != ZERO:
        out.add("ZVVA050", None, f"{period.where}/{'Entgelt' if period.pay != ZERO else 'Betrag'}")


@rule("ZVVA060", Scope.PERIOD, when=_with_children)
def children_counted(
    report: ReportData, period: PeriodData, booking: Booking, ctx: CheckContext, out: Findings
) -> None:
    """A Merkmal for parental leave (28) comes with a Kinderzahl of at least 1."""
    merkmal = booking.merkmal
    if (
        merkmal is not None
        and merkmal.needs_children
        and (period.children is None or period.children < 1)
    ):
        out.add("ZVVA060", None, f"{period.where}/Kinderzahl")


@rule("ZVVA080", Scope.PERIOD, when=_with_rate)
def amount_at_rate(
    report: ReportData, period: PeriodData, booking: Booking, ctx: CheckContext, out: Findings
) -> None:
    """The Betrag is the Entgelt times the configured rate, within the tolerance (a hint)."""
    merkmal, rate, share = booking.merkmal, booking.rate, booking.share
    if merkmal is None or share is None or rate is None or not merkmal.with_pay:
        return
    pay, amount = period.pay, period.amount
    expected = (pay * share).quantize(CENT, ROUND_HALF_UP)
    tolerance = ctx.checks.rate_tolerance
    if abs(amount - expected) > tolerance:
        detail = (
            f"gemeldet {money(amount)}, erwartet {money(expected)} ({percent(rate)} von "
            f"{money(pay)}), zulässige Abweichung {money(tolerance)}"
        )
        out.add("ZVVA080", detail, f"{period.where}/Betrag")
