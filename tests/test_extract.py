"""Records from schema-valid elements: the positions the extraction relies on come from the XSD."""

from __future__ import annotations

import io
import itertools
from datetime import date
from decimal import Decimal

import pytest
from lxml import etree

from ingest.resources import schema_path
from ingest.samples.builder import FileBuilder, period_node
from ingest.validating import extract
from ingest.validating.reader import NS, Reader
from ingest.validating.records import ReportData
from ingest.validating.schema import validate_element

XS = "{http://www.w3.org/2001/XMLSchema}"


def sequence_of(type_name: str) -> list[tuple[str, bool]]:
    """The elements of a complex type's sequence in the published XSD: (name, optional)."""
    tree = etree.parse(str(schema_path("meldedatei-1.xsd")))
    (sequence,) = tree.findall(f"{XS}complexType[@name='{type_name}']/{XS}sequence")
    return [
        (str(element.get("name")), element.get("minOccurs") == "0")
        for element in sequence.iterchildren(f"{XS}element")
    ]


def test_an_abschnitt_is_read_in_the_order_of_the_xsd() -> None:
    sequence = sequence_of("AbschnittTyp")
    assert tuple(name for name, _ in sequence) == extract.ABSCHNITT_CHILDREN
    assert [optional for _, optional in sequence] == [False] * 5 + [True]


def report_element(data: bytes) -> etree._Element:
    root = etree.fromstring(data)
    (element,) = root.iterchildren(f"{{{NS}}}Jahresmeldung")
    return element


def read_as_the_pass_does(data: bytes) -> ReportData:
    """The file's one report, parsed as the reading pass parses (without comments and
    processing instructions), validated and turned into a record."""
    for item in Reader(io.BytesIO(data)).items():
        if item.kind == "report":
            assert validate_element(item.element) == []
            return extract.report(item.element, "Jahresmeldung", item.satz)
    raise AssertionError("no report read")


def test_comments_and_instructions_between_the_children_change_nothing() -> None:
    b = FileBuilder(kind="Jahresmeldung", period="2026")
    b.jahresmeldung(
        1,
        [
            period_node(date(2026, 1, 1), date(2026, 6, 30), pay="1166.40"),
            period_node(date(2026, 7, 1), date(2026, 12, 31), "012801", "0.00", "0.00", 2),
        ],
    )
    plain = b.to_bytes()
    noisy = (
        plain.replace(b"<Beginn>", b"<!-- Anfang --><Beginn>")
        .replace(b"</Entgelt>", b"</Entgelt><?note x?>")
        .replace(b"<Kinderzahl>", b"<!-- Kinder --><Kinderzahl>")
        # inside a field: the schema reads the text around the comment as one
        .replace(b"1166.40</Entgelt>", b"1166<!-- Cent: -->.40</Entgelt>")
    )
    assert noisy.count(b"<!--") == 4 and b"<?note" in noisy and b"1166<!--" in noisy
    records = [read_as_the_pass_does(data) for data in (plain, noisy)]
    assert records[0] == records[1]
    first, second = records[1].periods
    assert (first.begin, first.end, first.pay, first.children) == (
        date(2026, 1, 1),
        date(2026, 6, 30),
        Decimal("1166.40"),
        None,
    )
    assert (second.booking_key, second.amount, second.children) == ("012801", Decimal("0.00"), 2)


def group_and_elements(type_name: str) -> tuple[list[str], list[tuple[str, bool, bool]]]:
    """A report type's sequence: the groups it refers to, and (name, optional, repeats)."""
    tree = etree.parse(str(schema_path("meldedatei-1.xsd")))
    (sequence,) = tree.findall(f"{XS}complexType[@name='{type_name}']/{XS}sequence")
    groups = [str(g.get("ref")) for g in sequence.iterchildren(f"{XS}group")]
    elements = [
        (
            str(e.get("name")),
            e.get("minOccurs") == "0",
            e.get("maxOccurs") == "unbounded",
        )
        for e in sequence.iterchildren(f"{XS}element")
    ]
    return groups, elements


def test_the_report_and_person_layouts_are_the_xsds() -> None:
    tree = etree.parse(str(schema_path("meldedatei-1.xsd")))
    (kopf,) = tree.findall(f"{XS}group[@name='MeldungKopf']/{XS}sequence")
    assert tuple(e.get("name") for e in kopf.iterchildren(f"{XS}element")) == (extract.MELDUNG_KOPF)
    for kind, names in extract.REPORT_CHILDREN.items():
        groups, elements = group_and_elements(f"{kind}Typ")
        assert groups == ["MeldungKopf"], kind
        assert tuple(name for name, _, _ in elements) == names, kind
        for index, (name, optional, repeats) in enumerate(elements):
            if name == "Abschnitt":  # may repeat, so it must come last
                assert repeats and index == len(elements) - 1, kind
            else:
                assert not optional and not repeats, (kind, name)
    person = sequence_of("PersonTyp")
    assert tuple(name for name, _ in person) == extract.PERSON_CHILDREN
    assert {name for name, optional in person if optional} == extract.PERSON_OPTIONAL


def by_tag(element: etree._Element) -> dict[str, str]:
    """The text of each child element by local name: the slow way, as a reference."""
    return {etree.QName(child).localname: str(child.text) for child in element}


@pytest.mark.parametrize("present", list(itertools.product((False, True), repeat=4)))
def test_every_combination_of_the_persons_optional_elements(
    present: tuple[bool, bool, bool, bool],
) -> None:
    number, rvnr, birth_name, personnel = present
    b = FileBuilder(kind="Jahresmeldung", period="2026")
    node = b.jahresmeldung(7)
    person = node.find("Person")
    assert person is not None
    if not rvnr:
        person.drop("RVNR")
    if number:
        person.set("Versicherungsnummer", "1234567897")
    if birth_name:
        person.set("Geburtsname", "Altname")
    if personnel:
        person.set("Personalnummer", "P-4711")
    element = report_element(b.to_bytes())
    assert validate_element(element) == []
    record = extract.report(element, "Jahresmeldung", 1)
    expected = by_tag(element.find(f"{{{NS}}}Person"))
    assert record.person is not None
    assert record.person.versicherungsnummer == expected.get("Versicherungsnummer")
    assert record.person.rvnr == expected.get("RVNR")
    assert record.person.family_name == expected["Familienname"]
    assert record.person.first_name == expected["Vorname"]
    assert record.person.birth_name == expected.get("Geburtsname")
    assert record.person.birth_date == date.fromisoformat(expected["Geburtsdatum"])
    assert record.person.gender == expected["Geschlecht"]
    assert record.person.personnel_number == expected.get("Personalnummer")
    assert [record.person.versicherungsnummer is not None, record.person.rvnr is not None] == [
        number,
        rvnr,
    ]


def test_each_kind_is_read_by_position() -> None:
    b = FileBuilder(kind="Monatsmeldung", period="2026-10")
    b.anmeldung(1, date(2026, 10, 1), meldungs_id="A-1")
    b.abmeldung(2, date(2026, 10, 31), "13", meldungs_id="B-1")
    b.abmeldung(
        3,
        date(2026, 10, 31),
        "11",
        periods=[
            period_node(date(2026, 1, 1), date(2026, 5, 31)),
            period_node(date(2026, 6, 1), date(2026, 10, 31), "012801", "0.00", "0.00", 1),
        ],
        meldungs_id="B-2",
    )
    b.monatsabrechnung("2026-10", 3, "9000.00", "144.00", "437.40", "12.00", meldungs_id="M-1")
    b.storno("A-0", meldungs_id="S-1")
    root = etree.fromstring(b.to_bytes())
    kinds = [etree.QName(e).localname for e in root][1:-1]
    records = []
    for element, kind in zip(list(root)[1:-1], kinds, strict=True):
        assert validate_element(element) == []
        records.append(extract.report(element, kind, 1))  # type: ignore[arg-type]
    anmeldung, abmeldung, death, statement, storno = records
    assert (anmeldung.meldungs_id, anmeldung.begin, anmeldung.end) == (
        "A-1",
        date(2026, 10, 1),
        None,
    )
    assert (abmeldung.end, abmeldung.reason, abmeldung.periods) == (date(2026, 10, 31), "13", ())
    assert death.reason == "11" and [p.position for p in death.periods] == [1, 2]
    assert death.periods[1].children == 1 and death.periods[0].end == date(2026, 5, 31)
    assert statement.statement is not None and statement.person is None
    assert (statement.statement.month, statement.statement.insured_count) == ("2026-10", 3)
    assert (statement.statement.pay, statement.statement.total) == (
        Decimal("9000.00"),
        Decimal("593.40"),
    )
    assert (storno.reference, storno.person, storno.periods) == ("A-0", None, ())
    for record in records:
        assert (record.member, record.office) == (b.member, b.office)


def test_an_element_that_is_not_schema_valid_is_refused_not_misread() -> None:
    b = FileBuilder(kind="Jahresmeldung", period="2026")
    b.jahresmeldung(1)
    b.storno("X-1")
    root = etree.fromstring(b.to_bytes())
    jahresmeldung, storno = list(root)[1:-1]
    with pytest.raises(ValueError, match="incomplete"):
        extract.report(storno, "Jahresmeldung", 1)  # too few children for the kind
    with pytest.raises(ValueError, match="incomplete"):
        extract.report(jahresmeldung, "Storno", 1)  # more children than a Storno has
