"""Report-level codes of Abschnitt (ZVVA) and Monatsabrechnung (ZVMA) that need nothing but the
file. Each fires on exactly the report and field it belongs to, the other reports of the file are
committed, and the nearest valid input raises nothing."""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal

import pytest
from code_helpers import (
    annual_file,
    assert_clean,
    assert_hinted,
    assert_rejected,
    committed_satz,
    year,
)
from conftest import codes

from ingest.samples.builder import FileBuilder
from ingest.validating.booking_keys import load_booking_keys


@pytest.fixture
def annual(deliver) -> FileBuilder:  # type: ignore[no-untyped-def]
    return annual_file(deliver)


# -- Abschnitt -----------------------------------------------------------------------------------
def _periods_file(annual: FileBuilder, *periods) -> FileBuilder:  # type: ignore[no-untyped-def]
    annual.jahresmeldung(1)
    annual.jahresmeldung(2, list(periods))
    annual.jahresmeldung(3)
    return annual


def test_zvva010_begin_after_end(annual, deliver, service) -> None:
    """An Abschnitt whose Beginn lies after its Ende is rejected with ZVVA010 at that Beginn."""
    b = _periods_file(
        annual, year(end=date(2026, 6, 30)), year(begin=date(2026, 9, 1), end=date(2026, 7, 1))
    )
    assert_rejected(service, deliver(b), "ZVVA010", satz=2, field="Abschnitt[2]/Beginn")


def test_zvva010_not_for_one_day_period(annual, deliver, service) -> None:
    """A one-day Abschnitt (Beginn = Ende) is valid."""
    b = _periods_file(annual, year(begin=date(2026, 1, 1), end=date(2026, 1, 1), pay="100.00"))
    verdict = deliver(b)
    assert "ZVVA010" not in codes(verdict)
    assert committed_satz(service, verdict) == {1, 2, 3}


@pytest.mark.parametrize(
    ("begin", "end", "field"),
    [
        (date(2025, 12, 1), date(2026, 1, 31), "Abschnitt[1]/Ende"),  # crosses the year
        (date(2025, 1, 1), date(2025, 12, 31), "Abschnitt[1]/Beginn"),  # not the file's year
        (date(2027, 1, 1), date(2027, 1, 31), "Abschnitt[1]/Beginn"),
    ],
)
def test_zvva020_period_year(annual, deliver, service, begin, end, field) -> None:
    """An Abschnitt crossing 31 Dec or outside the Jahresmeldung's year is rejected with ZVVA020."""
    b = _periods_file(annual, year(begin=begin, end=end))
    assert_rejected(service, deliver(b), "ZVVA020", satz=2, field=field)


def test_zvva020_not_for_abmeldung_with_last_year(deliver, service) -> None:
    """An Abmeldung may report periods of the previous year, each inside one calendar year."""
    first = FileBuilder()
    first.anmeldung(1, date(2025, 1, 1))
    assert deliver(first).result == "fehlerfrei"
    b = FileBuilder(file_number=2)
    periods = [
        year(begin=date(2025, 7, 1), end=date(2025, 12, 31)),
        year(begin=date(2026, 1, 1), end=date(2026, 10, 31)),
    ]
    b.abmeldung(1, date(2026, 10, 31), periods=periods)
    assert_clean(service, deliver(b))


@pytest.mark.parametrize(
    "key",
    [
        "021011",
        "001011",
        "019911",
        "011611",
        "011004",
        "011099",
        "011000",
        "012000",
        "012801",
        "012703",
        "014011",
    ],
)
def test_zvva030_booking_key(annual, deliver, service, key) -> None:
    """A booking key with an unknown part or a forbidden combination is rejected with ZVVA030."""
    b = _periods_file(annual, year(key, pay="0.00" if key[4:] != "00" else "100.00", amount="0.00"))
    assert_rejected(service, deliver(b), "ZVVA030", satz=2, field="Abschnitt[1]/Buchungsschluessel")


@pytest.mark.parametrize(
    ("key", "pay", "children"),
    [
        ("011011", "30000.00", None),
        ("031001", "30000.00", None),
        ("011502", "100.00", None),
        ("011703", "100.00", None),
        ("011905", "100.00", None),
        ("012011", "30000.00", None),
        ("032211", "100.00", None),
        ("012700", "0.00", None),
        ("012800", "0.00", 1),
        ("014000", "0.00", None),
    ],
)
def test_zvva030_not_for_catalogue_keys(annual, deliver, service, key, pay, children) -> None:
    """Every payer, Versicherungsmerkmal and allowed tax code combination is valid."""
    verdict = deliver(_periods_file(annual, year(key, pay=pay, children=children)))
    assert_clean(service, verdict)


@pytest.mark.parametrize("merkmal", ["10", "15", "17", "19", "20", "22"])
def test_zvva040_pay_missing(annual, deliver, service, merkmal) -> None:
    """A Versicherungsmerkmal with pay and Entgelt 0 is rejected with ZVVA040 at Entgelt."""
    b = _periods_file(annual, year(f"01{merkmal}01", pay="0.00"))
    assert_rejected(service, deliver(b), "ZVVA040", satz=2, field="Abschnitt[1]/Entgelt")


@pytest.mark.parametrize("merkmal", ["10", "15", "17", "19", "20", "22"])
def test_zvva040_not_for_one_cent(annual, deliver, merkmal) -> None:
    """An Entgelt of 0.01 is pay: no ZVVA040."""
    verdict = deliver(_periods_file(annual, year(f"01{merkmal}01", pay="0.01")))
    assert "ZVVA040" not in codes(verdict)
    assert verdict.rejected == 0


@pytest.mark.parametrize(
    ("key", "pay", "amount", "field"),
    [
        ("012700", "100.00", "0.00", "Entgelt"),
        ("014000", "0.00", "5.00", "Betrag"),
        ("012800", "0.01", "0.00", "Entgelt"),
        ("032700", "10.00", "1.00", "Entgelt"),
    ],
)
def test_zvva050_amount_without_pay(annual, deliver, service, key, pay, amount, field) -> None:
    """A Versicherungsmerkmal without pay carrying Entgelt or Betrag is rejected with ZVVA050."""
    b = _periods_file(annual, year(key, pay=pay, amount=amount, children=1))
    assert_rejected(service, deliver(b), "ZVVA050", satz=2, field=f"Abschnitt[1]/{field}")


@pytest.mark.parametrize("children", [None, 0])
def test_zvva060_parental_leave_without_children(annual, deliver, service, children) -> None:
    """Parental leave (28) without a Kinderzahl of at least 1 is rejected with ZVVA060."""
    b = _periods_file(
        annual,
        year(end=date(2026, 6, 30)),
        year("012800", "0.00", children=children, begin=date(2026, 7, 1)),
    )
    assert_rejected(service, deliver(b), "ZVVA060", satz=2, field="Abschnitt[2]/Kinderzahl")


@pytest.mark.parametrize("children", [1, 3])
def test_zvva060_not_with_children(annual, deliver, service, children) -> None:
    """Parental leave with Kinderzahl 1 or more is accepted."""
    assert_clean(service, deliver(_periods_file(annual, year("012800", "0.00", children=children))))


def test_zvva070_overlap_same_key(annual, deliver, service) -> None:
    """Two Abschnitt of one report with the same key that share a day are rejected with ZVVA070."""
    b = _periods_file(
        annual, year(end=date(2026, 6, 30)), year(begin=date(2026, 6, 30), end=date(2026, 12, 31))
    )
    assert_rejected(service, deliver(b), "ZVVA070", satz=2, field="Abschnitt[2]")


def test_zvva070_not_for_adjacent_or_other_key(annual, deliver, service) -> None:
    """Adjacent periods of one key, and overlapping periods of different keys, are valid."""
    b = _periods_file(
        annual,
        year(end=date(2026, 6, 30)),
        year(begin=date(2026, 7, 1)),
        year("012001", pay="30000.00"),
        year("031011", pay="30000.00"),
    )
    assert_clean(service, deliver(b))


@pytest.mark.parametrize(
    ("key", "pay", "amount", "hint"),
    [
        ("011011", "30000.00", "480.05", False),  # 1.60 %: exactly 0.05 off
        ("011011", "30000.00", "479.95", False),
        ("011011", "30000.00", "480.06", True),
        ("011011", "30000.00", "479.94", True),
        ("011011", "30000.00", "0.00", True),
        ("012011", "10000.00", "486.05", False),  # 4.86 %
        ("012011", "10000.00", "485.94", True),
        ("011511", "10000.00", "999.99", False),  # no rate configured for 15
        ("011911", "10000.00", "0.00", False),
    ],
)
def test_zvva080_rate(annual, deliver, service, key, pay, amount, hint) -> None:
    """Betrag more than 0.05 EUR off Entgelt x configured rate is a hint (ZVVA080)."""
    verdict = deliver(_periods_file(annual, year(key, pay=pay, amount=amount)))
    if hint:
        assert_hinted(service, verdict, "ZVVA080", satz=2, field="Abschnitt[1]/Betrag")
    else:
        assert_clean(service, verdict)


def test_zvva080_uses_the_rate_of_the_periods_year(settings, deliver, service) -> None:
    """A rate configured for one year applies to that year's periods; others keep the default."""
    rates = settings.checks.rates
    settings.checks.rates = {**rates, "10": {**rates["10"], "2025": Decimal("2.00")}}
    first = FileBuilder()
    first.anmeldung(1, date(2025, 1, 1))
    first.anmeldung(2, date(2025, 1, 1))
    assert deliver(first).result == "fehlerfrei"
    b = FileBuilder(file_number=2)
    b.abmeldung(
        1,
        date(2026, 1, 31),
        periods=[
            year(amount="600.00", begin=date(2025, 1, 1), end=date(2025, 12, 31)),  # 2.00 %
            year(pay="3000.00", end=date(2026, 1, 31)),  # 1.60 % default: 48.00
        ],
    )
    b.abmeldung(
        2,
        date(2026, 1, 31),
        periods=[
            year(amount="480.00", begin=date(2025, 1, 1), end=date(2025, 12, 31)),  # 1.60 % in 2025
        ],
    )
    assert_hinted(service, deliver(b), "ZVVA080", satz=2, field="Abschnitt[1]/Betrag")


@pytest.mark.parametrize(
    ("key", "pay", "amount", "field"),
    [("011511", "-100.00", "0.00", "Entgelt"), ("011511", "100.00", "-1.00", "Betrag")],
)
def test_zvva100_negative_period_amount(annual, deliver, service, key, pay, amount, field) -> None:
    """A negative Entgelt or Betrag of an Abschnitt is rejected with ZVVA100 at that field."""
    b = _periods_file(
        annual, year(end=date(2026, 6, 30)), year(key, pay, amount, begin=date(2026, 7, 1))
    )
    assert_rejected(service, deliver(b), "ZVVA100", satz=2, field=f"Abschnitt[2]/{field}")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("Entgelt", "-1.00"),
        ("Umlage", "-480.00"),
        ("Zusatzbeitrag", "-0.01"),
        ("Sanierungsgeld", "-5.00"),
    ],
)
def test_zvva100_negative_statement_amount(deliver, service, name, value) -> None:
    """A negative amount in a Monatsabrechnung is rejected with ZVVA100 at that element."""
    b = FileBuilder()
    b.monatsabrechnung(office="001")
    figures = {
        "pay": "30000.00",
        "levy": "480.00",
        "additional": "1458.00",
        "restructuring": "0.00",
    }
    key = {
        "Entgelt": "pay",
        "Umlage": "levy",
        "Zusatzbeitrag": "additional",
        "Sanierungsgeld": "restructuring",
    }[name]
    figures[key] = value
    b.monatsabrechnung(office="002", **figures)
    assert_rejected(service, deliver(b), "ZVVA100", satz=2, field=name)


@pytest.mark.parametrize("value", ["0.00", "-0.00", "0"])
def test_zvva100_not_for_zero(deliver, service, value) -> None:
    """Zero, also written with a sign, is not negative."""
    b = FileBuilder()
    b.monatsabrechnung(restructuring=value)
    assert_clean(service, deliver(b))


# -- Monatsabrechnung ----------------------------------------------------------------------------
@pytest.mark.parametrize("total", ["1938.01", "1937.99", "0.00", "480.00"])
def test_zvma010_total_differs(deliver, service, total) -> None:
    """Gesamtbetrag other than Umlage + Zusatzbeitrag + Sanierungsgeld: ZVMA010."""
    b = FileBuilder()
    b.monatsabrechnung(office="001")
    b.monatsabrechnung(office="002", total=total)
    assert_rejected(service, deliver(b), "ZVMA010", satz=2, field="Gesamtbetrag")


def test_zvma010_not_for_exact_sum(deliver, service) -> None:
    """The exact sum of the three parts, Sanierungsgeld included, is accepted."""
    b = FileBuilder()
    b.monatsabrechnung(levy="480.10", additional="1458.20", restructuring="61.70", total="2000")
    assert_clean(service, deliver(b))


@pytest.mark.parametrize("month", ["2026-09", "2026-11", "2025-10"])
def test_zvma020_month_differs_from_zeitraum(deliver, service, month) -> None:
    """A Monat other than the file's Zeitraum is rejected with ZVMA020."""
    b = FileBuilder()
    b.monatsabrechnung(office="001")
    b.monatsabrechnung(month, office="002")
    assert_rejected(service, deliver(b), "ZVMA020", satz=2, field="Monat")


def test_zvma020_not_for_same_month(deliver, service) -> None:
    """A Monatsabrechnung for the file's own month is accepted."""
    b = FileBuilder(period="2026-09")
    b.monatsabrechnung("2026-09")
    assert_clean(service, deliver(b))


def test_booking_key_answers_are_remembered_per_key_unchanged() -> None:
    """The catalogue answers each key once and then from memory, with the same answer."""
    keys = load_booking_keys()
    fresh = dataclasses.replace(keys, _answers={})
    for key in ("011001", "991001", "019901", "011000", "012801", "011001", "991001"):
        assert keys.problem(key) == fresh.problem(key) == fresh._problem(key), key
    assert fresh.problem("011001") is None
    assert fresh.problem("991001") == "Einzahler 99 unbekannt"
    assert set(fresh._answers) == {"011001", "991001", "019901", "011000", "012801"}
