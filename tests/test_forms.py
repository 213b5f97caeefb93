"""A report typed into a form gets the findings the same report gets inside a file.

The form side reads a dictionary of form fields (``ingest.validating.forms``) and checks the
report alone (``ingest.validating.single``); the file side writes the same values with the
sample builder into a Meldedatei and runs ``zvk check``'s engine over it. Both must give the
same findings (code, severity, Feld, message); lines, columns and the Satz belong to a file.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from form_helpers import PERSON_KINDS, VALID, WRONG_RVNR, head, period, same_both_ways
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from lxml import etree

from ingest.samples.builder import make_rvnr
from ingest.settings import Settings, load_settings
from ingest.validating.forms import (
    MAX_PERIODS,
    date_elements,
    entered_dates,
    field_names,
    form_field,
    read_form,
    report_fields,
)
from ingest.validating.reader import NS
from ingest.validating.records import ReportKind
from ingest.validating.single import check_form
from ingest.validating.submission import Channel, Submission


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return load_settings(tmp_path_factory.mktemp("forms") / "no-home")


@pytest.mark.parametrize("kind", list(VALID))
def test_a_valid_report_has_no_findings_either_way(
    kind: ReportKind, settings: Settings, tmp_path: Path
) -> None:
    assert same_both_ways(kind, VALID[kind][1], settings, tmp_path) == []


@pytest.mark.parametrize("kind", PERSON_KINDS)
def test_a_wrong_rvnr_check_digit(kind: ReportKind, settings: Settings, tmp_path: Path) -> None:
    fields = {**VALID[kind][1], "Person/RVNR": WRONG_RVNR}
    found = same_both_ways(kind, fields, settings, tmp_path)
    assert [(code, feld) for code, _, feld, _ in found] == [("ZVME088", "Person/RVNR")]


@pytest.mark.parametrize(
    ("kind", "field", "value"),
    [
        ("Anmeldung", "Person/Geburtsdatum", "1990-02-30"),
        ("Anmeldung", "Beginn", "01.10.2026"),
        ("Abmeldung", "Ende", "2026-10-32"),
        ("Jahresmeldung", "Abschnitt[2]/Beginn", "2026-7-1"),
        ("Monatsabrechnung", "Monat", "2026-13"),
        ("Storno", "Bezug", "AN 0"),
        ("Storno", "MeldungsId", " ST-1"),  # a value is taken as typed, spaces included
    ],
)
def test_a_value_the_schema_refuses_is_a_zvda010_at_the_same_field(
    kind: ReportKind, field: str, value: str, settings: Settings, tmp_path: Path
) -> None:
    found = same_both_ways(kind, {**VALID[kind][1], field: value}, settings, tmp_path)
    assert [(code, feld) for code, _, feld, _ in found] == [("ZVDA010", field)]
    assert f"„{value}“" in found[0][3]
    assert form_field(found[0][2]) == field


@pytest.mark.parametrize(
    ("kind", "changes", "code", "field"),
    [
        ("Anmeldung", {"Beginn": "2000-10-01"}, "ZVME120", "Beginn"),
        ("Abmeldung", {"Abschnitt[1]/Beginn": "2026-11-01"}, "ZVVA010", "Abschnitt[1]/Beginn"),
        ("Abmeldung", {"Abmeldegrund": "99"}, "ZVME110", "Abmeldegrund"),
        ("Jahresmeldung", {"Abschnitt[2]/Betrag": "300.00"}, "ZVVA080", "Abschnitt[2]/Betrag"),
        (
            "Jahresmeldung",
            {"Abschnitt[1]/Beginn": "2025-01-01", "Abschnitt[1]/Ende": "2025-06-30"},
            "ZVVA020",
            "Abschnitt[1]/Beginn",
        ),
        ("Monatsabrechnung", {"Gesamtbetrag": "1900.00"}, "ZVMA010", "Gesamtbetrag"),
        ("Monatsabrechnung", {"Sanierungsgeld": "-1.00"}, "ZVVA100", "Sanierungsgeld"),
    ],
)
def test_a_rule_finding_is_the_same_both_ways(
    kind: ReportKind,
    changes: dict[str, str],
    code: str,
    field: str,
    settings: Settings,
    tmp_path: Path,
) -> None:
    found = same_both_ways(kind, {**VALID[kind][1], **changes}, settings, tmp_path)
    assert (code, field) in [(c, feld) for c, _, feld, _ in found]
    assert form_field(field) == field


@pytest.mark.parametrize("kind", PERSON_KINDS)
@pytest.mark.parametrize("name", ["Er1ka", "  "])
def test_a_name_with_a_digit_or_only_spaces(
    kind: ReportKind, name: str, settings: Settings, tmp_path: Path
) -> None:
    fields = {**VALID[kind][1], "Person/Vorname": name}
    found = same_both_ways(kind, fields, settings, tmp_path)
    assert [(code, feld) for code, _, feld, _ in found] == [("ZVME170", "Person/Vorname")]


@pytest.mark.parametrize("kind", PERSON_KINDS)
def test_an_empty_required_field_is_missing_at_its_field(
    kind: ReportKind, settings: Settings, tmp_path: Path
) -> None:
    fields = {**VALID[kind][1], "Person/Familienname": ""}
    found = same_both_ways(kind, fields, settings, tmp_path)
    assert [(code, feld) for code, _, feld, _ in found] == [("ZVDA010", "Person/Familienname")]
    assert "Pflichtfeld Familienname fehlt" in found[0][3]


def test_an_empty_abschnitt_between_two_is_named_at_its_position(
    settings: Settings, tmp_path: Path
) -> None:
    """Abschnitt[2] left empty between [1] and [3]: the schema misses its first field there."""
    fields = {
        **VALID["Jahresmeldung"][1],
        **period(3, "2026-11-01", "2026-11-30", "100.00", "1.60"),
    }
    fields = {k: ("" if k.startswith("Abschnitt[2]/") else v) for k, v in fields.items()}
    found = same_both_ways("Jahresmeldung", fields, settings, tmp_path)
    assert [(code, feld) for code, _, feld, _ in found] == [("ZVDA010", "Abschnitt[2]/Beginn")]


def test_a_jahresmeldung_outside_its_year_and_a_storno_of_either_kind(
    settings: Settings, tmp_path: Path
) -> None:
    """The form's year is the file's Zeitraum; a Storno stands in a file of either kind."""
    found = same_both_ways("Jahresmeldung", VALID["Jahresmeldung"][1], settings, tmp_path, "2027")
    assert {(code, feld) for code, _, feld, _ in found} == {
        ("ZVVA020", "Abschnitt[1]/Beginn"),
        ("ZVVA020", "Abschnitt[2]/Beginn"),
    }
    assert same_both_ways("Storno", VALID["Storno"][1], settings, tmp_path, "2026") == []


# -- the form's own guarantees ------------------------------------------------------------------
def test_xml_special_characters_stay_data() -> None:
    value = "<x>&amp;\"'</x>"
    reading = read_form("Anmeldung", {**VALID["Anmeldung"][1], "Person/Personalnummer": value})
    assert reading.report is not None and reading.report.person is not None
    assert reading.report.person.personnel_number == value
    written = etree.tostring(reading.element)
    assert b"&lt;x&gt;&amp;amp;" in written
    assert etree.fromstring(written).findtext(f"{{{NS}}}Person/{{{NS}}}Personalnummer") == value


def test_a_value_xml_cannot_hold_is_a_finding_at_its_field() -> None:
    fields = {**VALID["Anmeldung"][1], "Person/Vorname": "Er\x01ka", "Beginn": "2026-13-01"}
    reading = read_form("Anmeldung", fields)
    assert reading.report is None
    assert [(f.code, f.field) for f in reading.findings] == [
        ("ZVDA010", "Person/Vorname"),
        ("ZVDA010", "Beginn"),
    ]
    assert "U+0001" in reading.findings[0].message


@pytest.mark.parametrize(
    "name",
    [
        "Vorname",  # a Person field without its group
        "Person/Beginn",
        "Abschnitt/Beginn",  # an Abschnitt needs its number
        "Abschnitt[0]/Beginn",
        "Abschnitt[01]/Beginn",
        "Abschnitt[1]/Geschlecht",
        "Monat",  # a field of another kind
        "Person",
        "Beginn ",
        f"Abschnitt[{MAX_PERIODS + 1}]/Beginn",
    ],
)
def test_an_unknown_field_is_refused(name: str) -> None:
    with pytest.raises(ValueError, match=r"has no field|at most \d+ Abschnitte"):
        read_form("Abmeldung", {**VALID["Abmeldung"][1], name: "x"})


def test_an_unknown_kind_and_a_value_that_is_no_text_are_refused() -> None:
    with pytest.raises(ValueError, match="kind"):
        read_form("Meldung", {})  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="text"):
        read_form("Storno", {"Bezug": 5})  # type: ignore[dict-item]


def test_field_names_and_form_field() -> None:
    names = field_names("Abmeldung", periods=1)
    assert names[:4] == (
        "MeldungsId",
        "Mitgliedsnummer",
        "Abrechnungsstelle",
        "Person/Versicherungsnummer",
    )
    assert names[-6:-4] == ("Abschnitt[1]/Beginn", "Abschnitt[1]/Ende")
    assert "Person/RVNR" in names and "Ende" in names and "Abmeldegrund" in names
    assert all(form_field(name) == name for kind in VALID for name in field_names(kind, 2))
    for feld in (None, "", "Abschnitt", "Person", "Vorlauf/Absender", "Abschnitt[2]", "Nichts"):
        assert form_field(feld) is None


def test_dates_entered_the_german_way() -> None:
    """TT.MM.JJJJ becomes the schema's date in the fields the schema types as dates; anything
    else is left to the schema."""
    assert date_elements() == {"Beginn", "Ende", "Geburtsdatum"}
    typed = {
        "Beginn": "01.10.2026",
        "Abschnitt[1]/Ende": "31.12.2026",
        "Person/Geburtsdatum": "1990-05-17",
        "Person/Familienname": "01.10.2026",
        "Ende": "1.10.2026",
        "Monat": None,
    }
    assert entered_dates(typed) == {
        **typed,
        "Beginn": "2026-10-01",
        "Abschnitt[1]/Ende": "2026-12-31",
    }
    fields = entered_dates({**VALID["Anmeldung"][1], "Person/Geburtsdatum": "30.02.1990"})
    reading = read_form("Anmeldung", fields)
    assert [(f.code, f.field) for f in reading.findings] == [("ZVDA010", "Person/Geburtsdatum")]


@pytest.mark.parametrize("kind", list(VALID))
def test_a_report_back_into_its_fields(kind: ReportKind) -> None:
    fields = VALID[kind][1]
    reading = read_form(kind, fields)
    assert reading.report is not None
    assert report_fields(reading.report) == fields


def test_the_submission_a_form_implies() -> None:
    now = datetime(2026, 10, 31, 23, 30, tzinfo=UTC)  # already November in Berlin
    anmeldung = Submission.of_report("Anmeldung", received_at=now)
    assert (anmeldung.file_kind, anmeldung.period, anmeldung.channel) == (
        "Monatsmeldung",
        "2026-11",
        Channel.PORTAL,
    )
    annual = Submission.of_report("Jahresmeldung", received_at=now, year=2025)
    assert (annual.file_kind, annual.period, annual.year) == ("Jahresmeldung", "2025", 2025)
    storno = Submission.of_report("Storno", received_at=now, year=2025)
    assert storno.file_kind == "Jahresmeldung"
    with pytest.raises(ValueError, match="year"):
        Submission.of_report("Jahresmeldung", received_at=now)


def test_a_monatsabrechnung_is_checked_in_its_own_month(settings: Settings) -> None:
    checked = check_form(
        "Monatsabrechnung",
        {**VALID["Monatsabrechnung"][1], "Monat": "2026-08"},
        settings,
        received_at=datetime(2026, 12, 2, tzinfo=UTC),
    )
    assert checked.findings == []
    assert (checked.submission.file_kind, checked.submission.period) == ("Monatsmeldung", "2026-08")


# -- random field values ------------------------------------------------------------------------
_NAME = st.text(
    st.characters(
        codec="utf-8",
        exclude_categories=("Cs", "Cc", "Cn"),
    )
    | st.sampled_from("0<>&'\"\x85\x7f \t"),
    max_size=50,
) | st.sampled_from(["", " ", " Erika", "Muster "])
_DAY = st.one_of(
    st.dates(date(2026, 1, 1), date(2026, 12, 31)), st.dates(date(1899, 6, 1), date(2031, 12, 31))
).map(date.isoformat)
_AMOUNT = st.decimals(Decimal("-50"), Decimal("60000"), places=2).map(str)


@st.composite
def annual_fields(draw: st.DrawFn) -> dict[str, str]:
    born = draw(st.dates(date(1930, 1, 1), date(2012, 12, 31)))
    fields = {
        **head(draw(st.from_regex(r"[A-Za-z0-9._-]{1,36}", fullmatch=True))),
        "Person/RVNR": draw(
            st.sampled_from([make_rvnr("65", born, "M", 52), WRONG_RVNR, "6517083XJ003"])
        ),
        "Person/Familienname": draw(_NAME),
        "Person/Vorname": draw(_NAME),
        "Person/Geburtsname": draw(_NAME),
        "Person/Geburtsdatum": born.isoformat(),
        "Person/Geschlecht": draw(st.sampled_from("MWDXQ")),
    }
    for index in range(1, draw(st.integers(1, 3)) + 1):
        where = f"Abschnitt[{index}]"
        fields[f"{where}/Beginn"] = draw(_DAY)
        fields[f"{where}/Ende"] = draw(_DAY)
        keys = ["011011", "011001", "012811", "012800", "031511", "019999"]
        fields[f"{where}/Buchungsschluessel"] = draw(st.sampled_from(keys))
        fields[f"{where}/Entgelt"] = draw(_AMOUNT)
        fields[f"{where}/Betrag"] = draw(_AMOUNT)
        fields[f"{where}/Kinderzahl"] = draw(st.sampled_from(["", "0", "2"]))
    return fields


@hsettings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fields=annual_fields())
def test_random_field_values_give_the_same_findings_both_ways(
    fields: dict[str, str], settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> None:
    folder = tmp_path_factory.mktemp("random", numbered=True)
    same_both_ways("Jahresmeldung", fields, settings, folder, "2026")
