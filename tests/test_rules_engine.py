"""The stateless rules run on the engine directly: a report built in memory, checked in a
submission context, with no file, no home and no database. Each test names the code it checks;
the same rules on files and homes: ``test_report_codes.py``, ``test_period_codes.py``."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from ingest.settings import ChecksSettings
from ingest.validating.booking_keys import load_booking_keys
from ingest.validating.findings import Finding, load_catalogue
from ingest.validating.frame_rules import check_header, check_trailer
from ingest.validating.records import Header, PeriodData, PersonData, ReportData, StatementData
from ingest.validating.report_rules import CheckContext, check_report
from ingest.validating.rules_trailer import Totals
from ingest.validating.submission import Channel, Submission

RECEIVED = datetime(2026, 11, 3, 9, 0, tzinfo=UTC)
RVNR = "65170839J003"  # born 17.08.39
BORN = date(1939, 8, 17)


def context(
    file_kind: str | None = "Jahresmeldung", period: str | None = "2026", test: bool = False
) -> CheckContext:
    submission = Submission(
        received_at=RECEIVED, test=test, channel=Channel.PORTAL, file_kind=file_kind, period=period
    )
    return CheckContext(load_catalogue(), load_booking_keys(), ChecksSettings(), submission)


def person(**changes: object) -> PersonData:
    fields: dict[str, object] = {
        "versicherungsnummer": "1234567897",
        "rvnr": RVNR,
        "family_name": "Muster",
        "first_name": "Erika",
        "birth_name": None,
        "birth_date": BORN,
        "gender": "W",
        "personnel_number": None,
    }
    fields.update(changes)
    return PersonData(**fields)  # type: ignore[arg-type]


def period(
    position: int = 1,
    begin: date = date(2026, 1, 1),
    end: date = date(2026, 12, 31),
    key: str = "011011",
    pay: str = "30000.00",
    amount: str = "480.00",
) -> PeriodData:
    return PeriodData(position, begin, end, key, Decimal(pay), Decimal(amount), None)


def annual(*periods: PeriodData, who: PersonData | None = None) -> ReportData:
    return ReportData(
        "Jahresmeldung",
        7,
        42,
        "JM-1",
        "100001",
        "001",
        who if who is not None else person(),
        periods=periods or (period(),),
    )


def where(findings: list[Finding]) -> list[tuple[str, str | None]]:
    return [(f.code, f.field) for f in findings]


def test_a_clean_report_has_no_finding() -> None:
    """The nearest valid report: no rule finds anything."""
    assert check_report(annual(), context()) == []


def test_findings_are_bound_to_the_report() -> None:
    """A finding carries the report's Satz, MeldungsId and line (ZVVA010)."""
    (finding,) = check_report(
        annual(period(begin=date(2026, 5, 1), end=date(2026, 4, 1))), context()
    )
    assert (finding.code, finding.satz, finding.meldungs_id, finding.line, finding.field) == (
        "ZVVA010",
        7,
        "JM-1",
        42,
        "Abschnitt[1]/Beginn",
    )


def test_kind_is_asked_of_the_submission() -> None:
    """ZVDA020 follows the submission's Dateiart, not a file header; unknown kind: no finding."""
    report = annual()
    assert where(check_report(report, context("Monatsmeldung", "2026-10"))) == [("ZVDA020", None)]
    assert check_report(report, context(None, None)) == []


def test_year_is_asked_of_the_submission() -> None:
    """ZVVA020: an Abschnitt outside the submission's year; no year known, no finding."""
    report = annual(period(begin=date(2025, 1, 1), end=date(2025, 12, 31), amount="480.00"))
    assert where(check_report(report, context(period="2026"))) == [
        ("ZVVA020", "Abschnitt[1]/Beginn")
    ]
    assert check_report(report, context(period="2025")) == []
    assert check_report(report, context(file_kind=None, period=None)) == []


def test_month_is_asked_of_the_submission() -> None:
    """ZVMA020: the Monat of a Monatsabrechnung against the submission's Zeitraum."""
    figures = [Decimal(x) for x in ("100000.00", "1600.00", "4860.00", "0.00", "6460.00")]
    report = ReportData(
        "Monatsabrechnung",
        1,
        None,
        "MA-1",
        "100001",
        "001",
        statement=StatementData("2026-09", 24, *figures),
    )
    assert where(check_report(report, context("Monatsmeldung", "2026-10"))) == [
        ("ZVMA020", "Monat")
    ]
    assert check_report(report, context("Monatsmeldung", "2026-09")) == []


def test_versicherungsnummer_check_digit_is_stateless() -> None:
    """ZVME096, its check-digit part: found without a database."""
    report = annual(who=person(versicherungsnummer="1234567890"))
    assert where(check_report(report, context())) == [("ZVME096", "Person/Versicherungsnummer")]


def test_rvnr_gives_its_first_problem_only() -> None:
    """A wrong check digit is ZVME088 alone (no ZVME095 beside it); a valid RVNR with another
    birth date is the hint ZVME095; a published test RVNR is ZVME089 unless the submission is a
    test."""
    wrong_digit = annual(who=person(rvnr="65170839J004"))
    assert where(check_report(wrong_digit, context())) == [("ZVME088", "Person/RVNR")]
    other_birthday = annual(who=person(birth_date=date(1939, 8, 18)))
    assert where(check_report(other_birthday, context())) == [("ZVME095", "Person/Geburtsdatum")]
    test_number = annual(who=person(rvnr="12140421E115", birth_date=date(1921, 4, 14)))
    assert where(check_report(test_number, context())) == [("ZVME089", "Person/RVNR")]
    assert check_report(test_number, context(test=True)) == []


def test_names_double_encoded_and_bad() -> None:
    """ZVME171 for a name in UTF-8 read as Latin-1, ZVME170 for a digit in another."""
    report = annual(who=person(family_name="MÃ¼ller", first_name="Er1ka"))
    assert where(check_report(report, context())) == [
        ("ZVME171", "Person/Familienname"),
        ("ZVME170", "Person/Vorname"),
    ]


@pytest.mark.parametrize(
    "invisible", ["\u202e", "\u202a", "\u2066", "\u200b", "\u200d", "\u00ad", "\ufeff"]
)
def test_invisible_format_characters_in_a_name(invisible: str) -> None:
    """A name with a zero-width or bidirectional control character is refused (ZVME170): it
    would be shown as another name than it is."""
    report = annual(who=person(family_name=f"Wei\u00df{invisible}evil"))
    assert where(check_report(report, context())) == [("ZVME170", "Person/Familienname")]


def test_names_with_umlauts_and_accents_pass() -> None:
    report = annual(who=person(family_name="Ölçer-Lefèvre", first_name="Zoë Marie"))
    assert where(check_report(report, context())) == []


@pytest.mark.parametrize(
    ("begin", "code"), [(date(1956, 8, 16), "ZVME120"), (date(2002, 8, 17), "ZVME121")]
)
def test_age_at_begin_of_an_anmeldung(begin: date, code: str) -> None:
    """ZVME120 (younger than 17), ZVME121 (older than 62): only for an Anmeldung."""
    report = ReportData("Anmeldung", 1, None, "AN-1", "100001", "001", person(), begin=begin)
    assert where(check_report(report, context("Monatsmeldung", "2026-10"))) == [(code, "Beginn")]


def test_order_of_findings_is_stable() -> None:
    """Report rules, then each Abschnitt's rules in file order, then the overlap (ZVVA070)."""
    report = annual(
        period(1, key="011011", pay="0.00", amount="0.00"),
        period(2, key="019999"),
        period(3, begin=date(2026, 3, 1), end=date(2026, 3, 31), pay="1000.00", amount="16.00"),
        who=person(birth_date=date(2027, 1, 1), rvnr=None),
    )
    assert [f.code for f in check_report(report, context())] == [
        "ZVME092",
        "ZVME180",
        "ZVVA040",
        "ZVVA030",
        "ZVVA070",
    ]


def test_negative_amounts() -> None:
    """ZVVA100 at each negative amount of an Abschnitt; ZVVA080 still compares the Betrag."""
    report = annual(period(pay="-100.00", amount="-1.60"))
    assert where(check_report(report, context())) == [
        ("ZVVA100", "Abschnitt[1]/Entgelt"),
        ("ZVVA100", "Abschnitt[1]/Betrag"),
    ]


def test_header_rules() -> None:
    """ZVVO020 (check digit of the Absender), ZVVO030 (Zeitraum ahead), ZVVO054 (Erstellt after
    receipt), each at its Vorlauf field."""
    header = Header(
        sender="66667778",
        file_number=1,
        created=datetime(2026, 11, 4, tzinfo=UTC),
        file_kind="Jahresmeldung",
        period="2027",
        test=False,
        software=None,
        line=3,
    )
    findings = check_header(header, context())
    assert where(findings) == [
        ("ZVVO020", "Vorlauf/Absender"),
        ("ZVVO030", "Vorlauf/Zeitraum"),
        ("ZVVO054", "Vorlauf/Erstellt"),
    ]
    assert {f.line for f in findings} == {3}


def test_trailer_rules() -> None:
    """ZVNC010 and ZVNC020; a sum that an unreadable amount keeps from being checked is not
    compared."""
    from ingest.validating.records import Trailer

    trailer = Trailer(count=2, sum_pay=Decimal("10.00"), sum_amount=Decimal("1.00"), line=9)
    totals = Totals(1, Decimal("10.00"), Decimal("2.00"))
    assert where(check_trailer(trailer, load_catalogue(), totals)) == [
        ("ZVNC010", "Nachlauf/AnzahlMeldungen"),
        ("ZVNC020", "Nachlauf/SummeBetrag"),
    ]
    unreadable = Totals(2, Decimal("10.00"), Decimal("2.00"), frozenset({"SummeBetrag"}))
    assert check_trailer(trailer, load_catalogue(), unreadable) == []
