"""Check digits and structure of the numbers in a report file.

RVNR rules follow the Versicherungsnummern-Verordnung § 2 and what the social-insurance check
program adds (day modulo 32, test and interim numbers).
"""

from __future__ import annotations

import re
from datetime import date
from enum import Enum

_RVNR_SHAPE = re.compile(r"[0-9]{8}[A-Z][0-9]{3}")
_SENDER_NUMBER = re.compile(r"[0-9]{8}")
_DIGITS = re.compile(r"[0-9]+")
_RVNR_WEIGHTS = (2, 1, 2, 5, 7, 1, 2, 1, 2, 1, 2, 1)

# Area numbers (Bereichsnummern) of the pension insurance carriers.
ALLOWED_AREAS = frozenset(
    (
        *(2, 3, 4, *range(8, 22), 23, 24, 25, 26, 28, 29, 38, 39, 40, 42, 43, 44),
        *(*range(48, 62), 63, 64, 65, 66, 68, 69, 78, 79, 80, 81, 82, 89),
    )
)
INTERIM_AREAS = frozenset([0, 77, 83, 84, 85, 86, 87, 88, 91, 92, 94])
TEST_RVNRS = frozenset(
    {
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
    }
)


class RvnrProblem(Enum):
    """Why an RVNR is refused, in the order the checks run; each maps to one finding code."""

    SHAPE = "ZVME082"
    INTERIM = "ZVME090"
    AREA = "ZVME084"
    BIRTH_DATE = "ZVME086"
    CHECK_DIGIT = "ZVME088"
    TEST_NUMBER = "ZVME089"


def _digit_sum(n: int) -> int:
    return n // 10 + n % 10


# The weighted digit sum of each position's character, by position: the letter at position 9
# counts as its two-digit alphabet number, with weights 2 and 1. Each table is indexed by the
# character's code (ASCII), ``None`` where the character may not stand.
_POSITION_SUMS: tuple[tuple[int | None, ...], ...] = tuple(
    tuple(sums.get(chr(code)) for code in range(128))
    for sums in (
        *({str(d): _digit_sum(d * w) for d in range(10)} for w in _RVNR_WEIGHTS[:8]),
        {
            chr(ord("A") + n - 1): _digit_sum(n // 10 * _RVNR_WEIGHTS[8])
            + _digit_sum(n % 10 * _RVNR_WEIGHTS[9])
            for n in range(1, 27)
        },
        *({str(d): _digit_sum(d * w) for d in range(10)} for w in _RVNR_WEIGHTS[10:12]),
    )
)
# Two digits as their number: ``int()`` of a string costs several times a dictionary lookup,
# and every report's RVNR has four such pairs.
_TWO_DIGITS = {f"{n:02d}": n for n in range(100)}


def rvnr_check_digit(first_eleven: str) -> int:
    """Check digit of an RVNR given (at least) its first 11 characters: 8 digits, a letter and
    2 digits."""
    s = _POSITION_SUMS
    try:
        c = first_eleven.encode("ascii")
        total = (
            s[0][c[0]] + s[1][c[1]] + s[2][c[2]] + s[3][c[3]] + s[4][c[4]] + s[5][c[5]]  # type: ignore[operator]
            + s[6][c[6]] + s[7][c[7]] + s[8][c[8]] + s[9][c[9]] + s[10][c[10]]
        )  # fmt: skip
    except (UnicodeEncodeError, IndexError, TypeError):
        raise ValueError("not the beginning of an RVNR") from None
    return total % 10


def rvnr_problem(rvnr: str, *, test_delivery: bool) -> RvnrProblem | None:
    """The first problem of an RVNR, or ``None`` when it may be reported."""
    if not _RVNR_SHAPE.fullmatch(rvnr):
        return RvnrProblem.SHAPE
    two = _TWO_DIGITS
    area = two[rvnr[:2]]
    if area in INTERIM_AREAS:
        return RvnrProblem.INTERIM
    if area not in ALLOWED_AREAS:
        return RvnrProblem.AREA
    day, month = two[rvnr[2:4]], two[rvnr[4:6]]
    if day % 32 > 31 or day > 95 or month > 12:
        return RvnrProblem.BIRTH_DATE
    if rvnr_check_digit(rvnr) != ord(rvnr[11]) - 48:
        return RvnrProblem.CHECK_DIGIT
    if rvnr in TEST_RVNRS and not test_delivery:
        return RvnrProblem.TEST_NUMBER
    return None


def rvnr_birth_date(rvnr: str, born: date) -> tuple[int, int, int]:
    """Day, month and two-digit year that the RVNR encodes (day read modulo 32)."""
    del born
    two = _TWO_DIGITS
    return two[rvnr[2:4]] % 32, two[rvnr[4:6]], two[rvnr[6:8]]


def rvnr_matches_birth_date(rvnr: str, born: date) -> bool:
    """Whether the birth-date part agrees with ``born`` (00 day or month match anything)."""
    day, month, year = rvnr_birth_date(rvnr, born)
    return year == born.year % 100 and (month in (0, born.month)) and (day in (0, born.day))


def rvnr_shaped(rvnr: str) -> bool:
    """Whether ``rvnr`` has the shape of an RVNR: 8 ASCII digits, a letter A-Z, 3 ASCII digits."""
    return _RVNR_SHAPE.fullmatch(rvnr) is not None


def sender_number_shaped(number: str) -> bool:
    """Whether ``number`` has the shape of a Betriebsnummer, eight ASCII digits: the one rule
    for what may name a sender's inbox, outbox or SFTP account (the check digit aside)."""
    return _SENDER_NUMBER.fullmatch(number) is not None


def ascii_digits(text: str, length: int | None = None) -> bool:
    """Whether ``text`` consists of ASCII digits only (``length`` of them, if given).

    The one rule for every number the service accepts: ``str.isdigit`` and ``int`` also take
    other scripts' digits (Arabic-Indic, Devanagari, fullwidth …), which would name folders,
    accounts and rows no file or login could ever reach again."""
    return _DIGITS.fullmatch(text) is not None and (length is None or len(text) == length)


def betriebsnummer_valid(number: str) -> bool:
    """Whether ``number`` is 8 ASCII digits with a correct check digit."""
    if not sender_number_shaped(number):
        return False
    weights = (1, 2, 1, 2, 1, 2, 1)
    total = sum(_digit_sum(int(d) * w) for d, w in zip(number[:7], weights, strict=True))
    return total % 10 == int(number[7])


# A digit in a doubled position of the Luhn sum: doubled, and its two digits added (7 -> 14 -> 5).
_LUHN_DOUBLED = str.maketrans("0123456789", "0246813579")


def luhn_check_digit(payload: str) -> int:
    """Luhn check digit for a string of digits.

    From the right, every other digit (starting with the last) counts doubled; the digits are
    summed as bytes, without a loop in Python (one is made for every new person).
    """
    digits = payload[-1::-2].translate(_LUHN_DOUBLED).encode() + payload[-2::-2].encode()
    return -(sum(digits) - 48 * len(digits)) % 10


def versicherungsnummer_valid(number: str) -> bool:
    """Whether a fund insurance number is 10 ASCII digits with a correct Luhn digit."""
    return ascii_digits(number, 10) and luhn_check_digit(number[:9]) == int(number[9])


def make_versicherungsnummer(serial: int) -> str:
    """The fund insurance number for a running serial (9 digits plus Luhn digit)."""
    if not 0 < serial < 1_000_000_000:
        raise ValueError("serial out of range")
    payload = f"{100_000_000 + serial:09d}" if serial < 900_000_000 else f"{serial:09d}"
    return payload + str(luhn_check_digit(payload))
