"""Pension points of the ATV-K points model: worked examples, the age-factor table, storage."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

import pytest
from conftest import Deliver
from typer.testing import CliRunner

from ingest.cli.main import app
from ingest.reconciling.points import (
    PeriodFigures,
    age_factor,
    full_months,
    points_for,
    year_points,
)
from ingest.samples.builder import FileBuilder, PersonSeed, period_node
from ingest.settings import Settings

# The ATV-K table of age factors, written out again independently of the implementation.
DOMAIN_TABLE = (
    "17: 3.1, 18: 3.0, 19: 2.9, 20: 2.8, 21: 2.7, 22: 2.6, 23: 2.5, 24: 2.4, 25: 2.4, 26: 2.3, "
    "27: 2.2, 28: 2.2, 29: 2.1, 30: 2.0, 31: 2.0, 32: 1.9, 33: 1.9, 34: 1.8, 35: 1.7, 36: 1.7, "
    "37: 1.6, 38: 1.6, 39: 1.6, 40: 1.5, 41: 1.5, 42: 1.4, 43: 1.4, 44: 1.3, 45: 1.3, 46: 1.3, "
    "47: 1.2, 48: 1.2, 49: 1.2, 50: 1.1, 51: 1.1, 52: 1.1, 53: 1.0, 54: 1.0, 55: 1.0, 56: 1.0, "
    "57: 0.9, 58: 0.9, 59: 0.9, 60: 0.9, 61: 0.9, 62: 0.8, 63: 0.8, 67: 0.8, 75: 0.8"
)
TABLE = [
    (int(age), Decimal(factor))
    for age, factor in (item.split(": ") for item in DOMAIN_TABLE.split(", "))
]


def period(
    begin: date, end: date, key: str, pay: str, children: int | None = None
) -> PeriodFigures:
    return PeriodFigures(begin, end, key, Decimal(pay), children)


def test_worked_example_pay_at_25_gives_four_points() -> None:
    """20,000 EUR at age 25: 20,000 / 12 / 1,000 x 2.4 = 4.00 points, the additional
    contribution period on the same pay not counted twice."""
    periods = [
        period(date(2026, 1, 1), date(2026, 12, 31), "011011", "20000.00"),
        period(date(2026, 1, 1), date(2026, 12, 31), "012001", "20000.00"),
    ]
    result = year_points(2026, date(2001, 5, 17), periods)
    assert (result.age, result.factor, result.pay) == (25, Decimal("2.4"), Decimal("20000.00"))
    assert result.points == Decimal("4.00")


def test_worked_example_parental_leave_at_26_gives_1_15_points() -> None:
    """12 months of parental leave for one child at age 26: 6,000 / 12 / 1,000 x 2.3 = 1.15."""
    periods = [period(date(2026, 1, 1), date(2026, 12, 31), "012800", "0", children=1)]
    result = year_points(2026, date(2000, 11, 3), periods)
    assert (result.age, result.child_months, result.pay) == (26, 12, Decimal(0))
    assert result.points == Decimal("1.15")
    assert result.points * 4 == Decimal("4.60")  # EUR of monthly pension


@pytest.mark.parametrize(("age", "factor"), TABLE)
def test_every_age_factor(age: int, factor: Decimal) -> None:
    """12,000 EUR a year (1,000 a month) earns exactly the age factor in points."""
    assert age_factor(age) == factor
    assert points_for(Decimal(12_000), age) == factor


def test_ages_below_the_table_take_the_factor_of_17() -> None:
    """The table starts at 17; a younger age (possible only in corrupt data) takes 3.1."""
    assert age_factor(16) == Decimal("3.1")


def test_points_round_half_up() -> None:
    """0.005 points round up to 0.01, not to the even 0.00."""
    assert points_for(Decimal(60), 53) == Decimal("0.01")
    assert points_for(Decimal("59.99"), 53) == Decimal("0.00")


def test_parental_leave_counts_full_months_per_child() -> None:
    """Two children for six full months count 12 child-months; a started month does not count."""
    periods = [
        period(date(2026, 1, 1), date(2026, 6, 30), "011011", "12000.00"),
        period(date(2026, 7, 1), date(2026, 12, 31), "012800", "0", children=2),
    ]
    result = year_points(2026, date(2000, 1, 1), periods)
    assert result.child_months == 12
    # (12,000 + 12 x 500) / 12 / 1,000 x 2.3 = 3.45
    assert result.points == Decimal("3.45")
    assert full_months(date(2026, 7, 15), date(2026, 12, 31)) == 5
    assert full_months(date(2026, 7, 1), date(2026, 7, 30)) == 0


def test_employee_share_and_funded_contribution_on_the_same_pay_count_once() -> None:
    """Levy (employer and employee share) and funded contribution on one pay earn points once."""
    full = (date(2026, 1, 1), date(2026, 12, 31))
    periods = [
        period(*full, "011011", "24000.00"),
        period(*full, "031011", "24000.00"),
        period(*full, "011501", "24000.00"),
    ]
    assert year_points(2026, date(1976, 1, 1), periods).pay == Decimal("24000.00")


def _cli(settings: Settings, database_url: str | None, *args: str) -> str:
    env = {"ZVK_LOG__LEVEL": "WARNING"}
    if database_url:
        env["ZVK_DB__URL"] = database_url
    result = CliRunner().invoke(app, ["--home", str(settings.home), *args], env=env)
    assert result.exit_code == 0, result.output
    return result.stdout


def _points_export(settings: Settings, database_url: str | None) -> list[dict[str, str]]:
    out = _cli(settings, database_url, "export", "versorgungspunkte", "--format", "csv")
    return list(csv.DictReader(io.StringIO(out)))


def test_points_are_stored_and_recomputed_on_cancellation(
    settings: Settings, database_url: str | None, deliver: Deliver
) -> None:
    """A committed Jahresmeldung has points; its Storno drops them, a correction brings new ones."""
    seed = PersonSeed(1)  # born 1967: age 58 in 2025, factor 0.9
    monthly = FileBuilder(file_number=1, period="2025-01")
    monthly.anmeldung(seed, date(2025, 1, 1))
    assert deliver(monthly).result == "fehlerfrei"
    annual = FileBuilder(file_number=2, kind="Jahresmeldung", period="2025")
    full = (date(2025, 1, 1), date(2025, 12, 31))
    annual.jahresmeldung(seed, [period_node(*full, "011011", "24000.00")], meldungs_id="JM-2025-1")
    assert deliver(annual).result == "fehlerfrei"

    rows = _points_export(settings, database_url)
    assert list(rows[0])[:6] == [
        "versicherungsnummer",
        "rvnr",
        "jahr",
        "mitgliedsnummer",
        "abrechnungsstelle",
        "versorgungspunkte",
    ]
    picked = [
        (r["rvnr"], r["jahr"], r["mitgliedsnummer"], r["abrechnungsstelle"], r["versorgungspunkte"])
        for r in rows
    ]
    assert picked == [(seed.rvnr, "2025", "100001", "001", "1.80")]
    assert len(rows[0]["versicherungsnummer"]) == 10

    correction = FileBuilder(file_number=3, kind="Jahresmeldung", period="2025")
    correction.storno("JM-2025-1")
    assert deliver(correction).result == "fehlerfrei"
    assert _points_export(settings, database_url) == []

    corrected = FileBuilder(file_number=4, kind="Jahresmeldung", period="2025")
    corrected.jahresmeldung(
        seed, [period_node(*full, "011011", "30000.00")], meldungs_id="JM-2025-2"
    )
    assert deliver(corrected).result == "fehlerfrei"
    rows = _points_export(settings, database_url)
    # 30,000 / 12 / 1,000 x 0.9 = 2.25
    assert [(r["jahr"], r["versorgungspunkte"], r["meldungs_id"]) for r in rows] == [
        ("2025", "2.25", "JM-2025-2")
    ]
