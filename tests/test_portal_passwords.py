"""The personal password's rules: common passwords (also German, also with a year or signs
around them), parts of the e-mail address, trivial patterns; every problem named at once."""

from __future__ import annotations

import pytest

from ingest.accounts.password_rules import (
    COMMON,
    EMAIL_PART,
    ONLY_SPACE,
    TOO_SHORT,
    TRIVIAL,
    WORD_AND_YEAR,
    common_passwords,
    email_parts,
    password_problems,
)

EMAIL = "anna.adler@stadt-a.example"


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("Sommer2026!!", COMMON),
        ("Passwort123!", COMMON),
        ("P@ssw0rd2026!", COMMON),
        ("Zusatzversorgung1", COMMON),
        ("ichliebedich", COMMON),
        ("qwertzuiopasdf", TRIVIAL),
        ("123456123456", TRIVIAL),
        ("aaaaaaaaaaaaaaa", TRIVIAL),
        ("x7x7x7x7x7x7", TRIVIAL),
        ("Musterhausen2026", WORD_AND_YEAR),
        ("AnnaAdler2026", EMAIL_PART),
        ("adler-adler-2026", EMAIL_PART),
        ("Stadt-Gartenzaun-91", EMAIL_PART),
        ("            ", ONLY_SPACE),
    ],
)
def test_weak_passwords_are_refused(password: str, problem: str) -> None:
    """Each of the try-out's accepted passwords is refused with the matching German reason."""
    assert problem in password_problems(password, EMAIL)


@pytest.mark.parametrize("password", ["Tannenbaum-Wiese-47", "Korb Lampe Fluss 9", "vT4#qL9!mZ2@"])
def test_good_passwords_pass(password: str) -> None:
    assert password_problems(password, EMAIL) == []


def test_every_problem_is_named_at_once() -> None:
    """A short, common password that is part of the e-mail gets all three reasons."""
    assert password_problems("Sommer1", "ben.sommer@stadt-a.example") == [
        TOO_SHORT,
        EMAIL_PART,
        COMMON,
    ]


def test_the_e_mail_is_split_at_dots_hyphens_underscores_and_plus() -> None:
    parts = email_parts("Anna_Maria.von-Adler+portal@kreis-nord.stadt.example")
    assert {"anna", "maria", "von", "adler", "portal", "kreis", "nord", "stadt"} <= set(parts)
    assert "example" not in parts  # the top-level domain is no part of the person's address


def test_the_shipped_list_holds_thousands_of_passwords_with_german_ones() -> None:
    common = common_passwords()
    assert len(common) > 10_000
    assert {"passwort", "sommer", "hallo123", "schalke04", "123456"} <= common
    assert not any(entry.startswith("#") for entry in common)
