"""Records from schema-valid elements: the positions the extraction relies on come from the XSD."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from lxml import etree

from ingest.resources import schema_path
from ingest.samples.builder import FileBuilder, period_node
from ingest.validating import extract
from ingest.validating.reader import NS
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
    )
    assert noisy.count(b"<!--") == 3 and b"<?note" in noisy
    records = []
    for data in (plain, noisy):
        element = report_element(data)
        assert validate_element(element) == []
        records.append(extract.report(element, "Jahresmeldung", 1))
    assert records[0] == records[1]
    first, second = records[1].periods
    assert (first.begin, first.end, first.pay, first.children) == (
        date(2026, 1, 1),
        date(2026, 6, 30),
        Decimal("1166.40"),
        None,
    )
    assert (second.booking_key, second.amount, second.children) == ("012801", Decimal("0.00"), 2)
