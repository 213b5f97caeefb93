"""Report-level codes of a single report that need nothing but the file: schema (ZVDA010), RVNR,
person data, Anmeldung and Abmeldung. Each fires on exactly the report and field it belongs to,
the other reports of the file are committed, and the nearest valid input raises nothing.
Abschnitt and Monatsabrechnung: ``test_period_codes.py``; stored state: ``test_state_codes.py``."""

from __future__ import annotations

import random
import string
from datetime import UTC, date, datetime, timedelta

import pytest
from code_helpers import (
    annual_file,
    assert_clean,
    assert_hinted,
    assert_rejected,
    only,
    with_person,
    year,
)
from conftest import codes

from ingest.samples.builder import FileBuilder, PersonSeed, make_rvnr
from ingest.validating.identifiers import (
    luhn_check_digit,
    make_versicherungsnummer,
    rvnr_check_digit,
)

RVNR_CODES = {"ZVME082", "ZVME084", "ZVME086", "ZVME088", "ZVME089", "ZVME090"}
PUBLISHED_VALID = ["65170839J003", "15070649C103", "12150485M004", "65170590A003", "38010175Z998"]
PUBLISHED_TEST = [
    "12140421E115",
    "12140441E119",
    "39180607P581",
    "39180607S584",
    "65010166L519",
    "13010181R009",
    "13010481R002",
    "13160481R002",
    "13010581R003",
    "13130681R007",
    "12140461E114",
    "12140481E118",
]
ALLOWED_AREAS = [
    "02",
    "03",
    "04",
    *(f"{a:02d}" for a in range(8, 22)),
    "23",
    "24",
    "25",
    "26",
    "28",
    "29",
    "38",
    "39",
    "40",
    "42",
    "43",
    "44",
    *(f"{a:02d}" for a in range(48, 62)),
    "63",
    "64",
    "65",
    "66",
    "68",
    "69",
    "78",
    "79",
    "80",
    "81",
    "82",
    "89",
]
INTERIM_AREAS = ["00", "77", "83", "84", "85", "86", "87", "88", "91", "92", "94"]


# -- helpers ------------------------------------------------------------------------------------
def check_digit(first_eleven: str) -> str:
    """The RVNR check digit, computed independently of the product."""
    letter = f"{ord(first_eleven[8]) - ord('A') + 1:02d}"
    digits = first_eleven[:8] + letter + first_eleven[9:]
    products = (
        int(d) * w for d, w in zip(digits, (2, 1, 2, 5, 7, 1, 2, 1, 2, 1, 2, 1), strict=True)
    )
    return str(sum(p // 10 + p % 10 for p in products) % 10)


def rvnr(area: str, ddmmyy: str, letter: str = "M", serial: str = "01") -> str:
    """An RVNR with a correct check digit from raw parts (allows day 33, month 00, ...)."""
    first = f"{area}{ddmmyy}{letter}{serial}"
    return first + check_digit(first)


@pytest.fixture
def annual(deliver) -> FileBuilder:  # type: ignore[no-untyped-def]
    return annual_file(deliver)


def test_rvnr_helper_reproduces_published_numbers() -> None:
    """The test's own check-digit helper reproduces the published numbers."""
    for number in PUBLISHED_VALID + PUBLISHED_TEST:
        assert rvnr(number[:2], number[2:8], number[8], number[9:11]) == number
    assert rvnr("15", "070649", "C", "10") != "15070649C102"


def test_product_check_digit_agrees_with_the_independent_one() -> None:
    """The product's table-driven check digit, for every letter and many digit strings."""
    rng = random.Random(7)
    for letter in string.ascii_uppercase:
        for _ in range(400):
            digits = "".join(rng.choice(string.digits) for _ in range(10))
            first = f"{digits[:8]}{letter}{digits[8:]}"
            assert str(rvnr_check_digit(first)) == check_digit(first), first


def test_luhn_check_digit_agrees_with_the_textbook_loop() -> None:
    """The fund's Versicherungsnummer: the product's Luhn digit against a plain loop."""

    def textbook(payload: str) -> int:
        total = 0
        for position, char in enumerate(reversed(payload)):
            value = int(char) * (2 if position % 2 == 0 else 1)
            total += value - 9 if value > 9 else value
        return (10 - total % 10) % 10

    rng = random.Random(11)
    samples = ["0", "9", "000000000", "999999999", "100000001", "79927398713"[:-1]]
    samples += [
        "".join(rng.choice(string.digits) for _ in range(rng.randint(1, 12))) for _ in range(20_000)
    ]
    for payload in samples:
        assert luhn_check_digit(payload) == textbook(payload), payload
    assert luhn_check_digit("7992739871") == 3  # the published Luhn example 79927398713


# -- ZVDA010: schema of one report --------------------------------------------------------------
BROKEN = [
    ("anmeldung", "Person/Geschlecht", "Q"),
    ("anmeldung", "Beginn", "2026-13-01"),
    ("jahresmeldung", "Abschnitt[2]/Buchungsschluessel", "1011"),
    ("jahresmeldung", "Abschnitt[2]/Kinderzahl", "-1"),
]


def _schema_file(annual: FileBuilder, kind: str, path: str, value: str) -> FileBuilder:
    if kind == "anmeldung":
        b = FileBuilder(file_number=2)
        b.anmeldung(4)
        b.anmeldung(5).set(path, value)
        b.anmeldung(6)
        return b
    annual.jahresmeldung(1)
    annual.jahresmeldung(2, [year(end=date(2026, 6, 30)), year(begin=date(2026, 7, 1))]).set(
        path, value
    )
    annual.jahresmeldung(3)
    return annual


@pytest.mark.parametrize(("kind", "path", "value"), BROKEN)
def test_zvda010_rejects_only_the_invalid_report(
    annual, deliver, service, kind, path, value
) -> None:
    """A report violating the schema gets ZVDA010 at the element's path and line; others commit."""
    verdict = deliver(_schema_file(annual, kind, path, value))
    assert_rejected(service, verdict, "ZVDA010", satz=2, field=path)
    assert only(verdict, "ZVDA010").line == 5


@pytest.mark.parametrize(("kind", "path", "value"), BROKEN)
def test_zvda010_names_the_invalid_element(annual, deliver, kind, path, value) -> None:
    """ZVDA010 names the offending element's path, e.g. Person/Geschlecht or Abschnitt[2]/Betrag."""
    verdict = deliver(_schema_file(annual, kind, path, value))
    assert only(verdict, "ZVDA010").field == path


@pytest.mark.parametrize(
    ("path", "value", "code"),
    [
        (
            "Person/RVNR",
            "65170839j003",
            "ZVME082",
        ),  # 12 characters: the rule judges, not the schema
        ("Person/Familienname", "   ", "ZVME170"),
        ("Person/Geschlecht", "X", None),
        ("Person/Geschlecht", "D", None),
    ],
)
def test_zvda010_not_for_values_the_schema_leaves_to_rules(deliver, path, value, code) -> None:
    """Values the schema admits (12-character RVNR, blank name, Geschlecht D/X): no ZVDA010."""
    b = FileBuilder()
    b.anmeldung(1).set(path, value)
    verdict = deliver(b)
    assert "ZVDA010" not in codes(verdict)
    assert codes(verdict) == ([code] if code else [])


# -- RVNR ---------------------------------------------------------------------------------------
def _rvnr_file(number: str, born: date = date(1980, 1, 1)) -> FileBuilder:
    b = FileBuilder()
    b.anmeldung(1)
    with_person(b.anmeldung(2), born, number)
    b.anmeldung(3)
    return b


@pytest.mark.parametrize(
    ("number", "code"),
    [
        ("65170839j003", "ZVME082"),  # lower-case letter
        ("651708391003", "ZVME082"),  # digit instead of letter
        ("6517083XJ003", "ZVME082"),  # letter among the first 8
        ("65170839JJ03", "ZVME082"),
        (" 5170839J003", "ZVME082"),
        ("６５170839J003", "ZVME082"),  # fullwidth digits are not ASCII digits
        *(
            (make_rvnr(a, date(1980, 1, 1), "M", 1), "ZVME084")
            for a in [
                "01",
                "05",
                "07",
                "22",
                "27",
                "30",
                "37",
                "41",
                "45",
                "47",
                "62",
                "67",
                "70",
                "76",
                "90",
                "93",
                "95",
                "99",
            ]
        ),
        *((make_rvnr(a, date(1980, 1, 1), "M", 1), "ZVME090") for a in INTERIM_AREAS),
        (rvnr("65", "960180"), "ZVME086"),  # day 96: beyond 64 + 31
        (rvnr("65", "990180"), "ZVME086"),
        (rvnr("65", "011380"), "ZVME086"),  # month 13
        (rvnr("65", "019980"), "ZVME086"),
        ("15070649C102", "ZVME088"),  # published invalid number
        *((n[:11] + str((int(n[11]) + 1) % 10), "ZVME088") for n in PUBLISHED_VALID),
        *((n, "ZVME089") for n in PUBLISHED_TEST),
    ],
)
def test_bad_rvnr_rejects_the_report(deliver, service, number, code) -> None:
    """An RVNR with bad shape, area, birth-date part, check digit, or a test number: rejected."""
    verdict = deliver(_rvnr_file(number))
    assert_rejected(service, verdict, code, satz=2, field="Person/RVNR")
    assert not (set(codes(verdict)) & RVNR_CODES) - {code}


def test_allowed_areas_are_accepted(deliver, service) -> None:
    """Every allowed area number, with a correct check digit, passes the RVNR checks."""
    b = FileBuilder()
    for serial, area in enumerate(ALLOWED_AREAS):
        with_person(
            b.anmeldung(1), date(1980, 1, 1), make_rvnr(area, date(1980, 1, 1), "M", serial)
        )
    verdict = deliver(b)
    assert_clean(service, verdict)
    assert verdict.total == len(ALLOWED_AREAS) == 55


@pytest.mark.parametrize(
    ("ddmmyy", "born"),
    [
        ("330180", date(1980, 1, 1)),  # day 33 = 1 + 32
        ("630180", date(1980, 1, 31)),
        ("650180", date(1980, 1, 1)),  # day 65 = 1 + 64
        ("951280", date(1980, 12, 31)),  # day 95 = 31 + 64
        ("320180", date(1980, 1, 17)),  # day 32 = 00: any day
        ("000180", date(1980, 1, 17)),
        ("150080", date(1980, 7, 15)),  # month 00: any month
        ("000080", date(1980, 7, 15)),
    ],
)
def test_rvnr_birth_date_part_read_modulo_32(deliver, service, ddmmyy, born) -> None:
    """Day 00-95 (modulo 32) and month 00 are valid and match the Geburtsdatum (no 086/095)."""
    b = FileBuilder()
    with_person(b.anmeldung(1), born, rvnr("65", ddmmyy))
    assert_clean(service, deliver(b))


@pytest.mark.parametrize("number", PUBLISHED_VALID)
def test_published_valid_rvnrs_pass(deliver, number) -> None:
    """The published valid RVNRs raise no RVNR finding and match their own birth date."""
    born = date(1900 + int(number[6:8]), int(number[4:6]), int(number[2:4]) % 32)
    b = FileBuilder()
    with_person(b.anmeldung(1), born, number)
    verdict = deliver(b)
    assert not set(codes(verdict)) & (RVNR_CODES | {"ZVME095"}), codes(verdict)


@pytest.mark.parametrize("number", PUBLISHED_TEST)
@pytest.mark.parametrize("how", ["ingest", "header"])
def test_test_rvnr_passes_in_test_delivery(deliver, service, number, how) -> None:
    """A published test RVNR raises no ZVME089 in a test delivery (channel or Vorlauf/Test)."""
    b = FileBuilder(test=True if how == "header" else None)
    with_person(b.anmeldung(1), date(1980, 1, 1), number)
    verdict = deliver(b, test=how == "ingest")
    assert verdict.test
    assert not set(codes(verdict)) & RVNR_CODES, codes(verdict)
    assert service.count_committed() == 0


def test_test_rvnr_with_fitting_person_is_clean_in_test_delivery(deliver, service) -> None:
    """A test delivery with a test RVNR of a 19-year-old is fehlerfrei and commits nothing."""
    b = FileBuilder()
    with_person(b.anmeldung(1), date(2007, 6, 18), "39180607P581")
    verdict = deliver(b, test=True)
    assert verdict.result == "fehlerfrei", codes(verdict)
    assert service.count_committed() == 0


def test_zvme092_rvnr_missing_outside_anmeldung(annual, deliver, service) -> None:
    """A Jahresmeldung without RVNR gets ZVME092, even with a Versicherungsnummer."""
    annual.jahresmeldung(1)
    annual.jahresmeldung(2).drop("Person/RVNR").set(
        "Person/Versicherungsnummer", make_versicherungsnummer(2)
    )
    annual.jahresmeldung(3)
    assert_rejected(service, deliver(annual), "ZVME092", satz=2, field="Person/RVNR")


def test_zvme092_abmeldung_without_rvnr(deliver, service) -> None:
    """An Abmeldung without RVNR is rejected with ZVME092."""
    b = FileBuilder()
    b.anmeldung(1)
    b.anmeldung(2)
    b.abmeldung(2).drop("Person/RVNR")
    assert_rejected(service, deliver(b), "ZVME092", satz=3, field="Person/RVNR")


def test_anmeldung_without_rvnr_is_accepted(deliver, service) -> None:
    """An Anmeldung may come without RVNR: no ZVME092, and a Versicherungsnummer is assigned."""
    b = FileBuilder()
    b.anmeldung(1, with_rvnr=False)
    verdict = deliver(b)
    assert_clean(service, verdict)
    assert len(verdict.assignments) == 1


def test_zvme095_birth_date_differs_from_rvnr(deliver, service) -> None:
    """A Geburtsdatum that contradicts the RVNR is a hint (ZVME095); the report is committed."""
    b = FileBuilder()
    b.anmeldung(1)
    seed = PersonSeed(2)
    b.anmeldung(seed).set("Person/Geburtsdatum", (seed.birth_date + timedelta(days=1)).isoformat())
    assert_hinted(service, deliver(b), "ZVME095", satz=2, field="Person/Geburtsdatum")


def test_zvme095_not_for_other_year_only_in_century(deliver, service) -> None:
    """The RVNR holds a two-digit year; a matching Geburtsdatum gives no ZVME095."""
    b = FileBuilder()
    with_person(b.anmeldung(1), date(2005, 3, 4), make_rvnr("65", date(2005, 3, 4), "M", 1))
    assert_clean(service, deliver(b))


@pytest.mark.parametrize(("serial", "shift"), [(1, 1), (59, 5), (123456, 9)])
def test_zvme096_versicherungsnummer_check_digit(deliver, service, serial, shift) -> None:
    """A Versicherungsnummer failing its Luhn check digit is rejected with ZVME096."""
    good = make_versicherungsnummer(serial)
    bad = good[:9] + str((int(good[9]) + shift) % 10)
    b = FileBuilder()
    b.anmeldung(1)
    b.anmeldung(2).set("Person/Versicherungsnummer", bad)
    assert_rejected(service, deliver(b), "ZVME096", satz=2, field="Person/Versicherungsnummer")


# -- Anmeldung / Abmeldung -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("born", "code"),
    [
        (date(2009, 10, 2), "ZVME120"),  # 16 on 2026-10-01, one day short of 17
        (date(2010, 1, 1), "ZVME120"),
        (date(2009, 10, 1), None),  # exactly 17
        (date(1964, 10, 1), None),  # exactly 62
        (date(1963, 10, 2), None),  # 62, one day before 63
        (date(1963, 10, 1), "ZVME121"),  # 63
        (date(1950, 5, 5), "ZVME121"),
    ],
)
def test_age_at_beginn(deliver, service, born, code) -> None:
    """An Anmeldung needs an age of 17 to 62 whole years at Beginn (ZVME120 / ZVME121)."""
    b = FileBuilder()
    b.anmeldung(1)
    with_person(b.anmeldung(2), born, make_rvnr("65", born, "M", 1))
    verdict = deliver(b)
    if code is None:
        assert_clean(service, verdict)
    else:
        assert_rejected(service, verdict, code, satz=2, field="Beginn")


@pytest.mark.parametrize("reason", ["00", "01", "02", "08", "12", "14", "22", "99"])
def test_zvme110_unknown_abmeldegrund(deliver, service, reason) -> None:
    """An Abmeldegrund outside the code list rejects the Abmeldung with ZVME110."""
    b = FileBuilder()
    b.anmeldung(1)
    b.anmeldung(2)
    b.abmeldung(2, reason=reason)
    assert_rejected(service, deliver(b), "ZVME110", satz=3, field="Abmeldegrund")


@pytest.mark.parametrize("reason", ["03", "04", "05", "06", "07", "11", "13", "16", "20", "21"])
def test_listed_abmeldegrund_accepted(deliver, service, reason) -> None:
    """Every listed Abmeldegrund is accepted (Anmeldung and Abmeldung in one file, in order)."""
    b = FileBuilder()
    b.anmeldung(1)
    b.abmeldung(1, reason=reason)
    assert_clean(service, deliver(b))


def test_zvme150_death_in_the_future(deliver, service) -> None:
    """Abmeldegrund 11 (death) with Ende after the receipt is rejected with ZVME150."""
    later = datetime.now(UTC).date() + timedelta(days=40)
    b = FileBuilder()
    b.anmeldung(1)
    b.anmeldung(2)
    b.abmeldung(2, later, "11")
    assert_rejected(service, deliver(b), "ZVME150", satz=3, field="Ende")


@pytest.mark.parametrize(("days", "reason"), [(-1, "11"), (-30, "11"), (40, "13"), (40, "03")])
def test_zvme150_not_for_past_death_or_other_reason(deliver, service, days, reason) -> None:
    """A death in the past, or a future Ende with another reason, raises no ZVME150."""
    b = FileBuilder()
    b.anmeldung(1)
    b.abmeldung(1, datetime.now(UTC).date() + timedelta(days=days), reason)
    assert_clean(service, deliver(b))


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("Person/Familienname", "   "),
        ("Person/Familienname", "Muster3"),
        ("Person/Vorname", "Anna\tMaria"),
        ("Person/Vorname", "Erika\x85"),
        ("Person/Geburtsname", "Schmidt1"),
        ("Person/Geburtsname", " "),
    ],
)
def test_zvme170_bad_name(deliver, service, path, value) -> None:
    """A blank name, or one with digits or control characters, gets ZVME170 at that field."""
    b = FileBuilder()
    b.anmeldung(1)
    b.anmeldung(2).set(path, value)
    assert_rejected(service, deliver(b), "ZVME170", satz=2, field=path)


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("Person/Familienname", "Müller-Lüdenscheidt"),
        ("Person/Familienname", "O'Neill"),
        ("Person/Familienname", "von der Heide"),
        ("Person/Vorname", "Zoë Łucja"),
        ("Person/Geburtsname", "Ørsted"),
    ],
)
def test_zvme170_not_for_real_names(deliver, service, path, value) -> None:
    """Names with umlauts, hyphens, apostrophes and blanks inside are accepted."""
    b = FileBuilder()
    b.anmeldung(1).set(path, value)
    assert_clean(service, deliver(b))


@pytest.mark.parametrize("born", [date(1899, 12, 31), date(1850, 1, 1), None])
def test_zvme180_impossible_birth_date(deliver, service, born) -> None:
    """A Geburtsdatum before 1900-01-01 or in the future is rejected with ZVME180."""
    born = born or datetime.now(UTC).date() + timedelta(days=30)
    b = FileBuilder()
    b.anmeldung(1)
    with_person(b.anmeldung(2), born, None)
    assert_rejected(service, deliver(b), "ZVME180", satz=2, field="Person/Geburtsdatum")


def test_zvme180_not_for_1900_01_01(deliver) -> None:
    """1900-01-01 is the earliest Geburtsdatum accepted (too old to insure, but no ZVME180)."""
    b = FileBuilder()
    with_person(b.anmeldung(1), date(1900, 1, 1), None)
    verdict = deliver(b)
    assert codes(verdict) == ["ZVME121"]
