"""A report typed into a form, read through the same schema check and extraction as in a file.

A form's fields are named by the paths the findings give as `Feld`: ``MeldungsId``,
``Abrechnungsstelle``, ``Person/RVNR``, ``Beginn``, ``Abschnitt[2]/Betrag``, ``Gesamtbetrag``.
:func:`read_form` builds the report's element with lxml exactly as it stands in a file (the
file's namespace, the schema's element order, an optional element left out when its field is
empty), validates it with :func:`~ingest.validating.schema.validate_element` and reads it with
:func:`~ingest.validating.extract.report`. Formats are thus the schema's: a finding's `Feld` is a
form field (:func:`form_field`), and a value is element text, never XML (``<x>&`` stays data).

Which fields a kind has comes from the element sequences ``extract`` reads by position (a test
holds those equal to the XSD); they are the one mapping between form fields and elements.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cache

from lxml import etree

from ingest.resources import schema_path
from ingest.validating import extract
from ingest.validating.findings import Catalogue, Finding, Findings, load_catalogue
from ingest.validating.reader import NS, REPORT_LIMITS
from ingest.validating.records import REPORT_KINDS, ReportData, ReportKind
from ingest.validating.schema import FILE_SCHEMA, validate_element

PERSON, PERIOD = "Person", "Abschnitt"
SATZ = 1  # a report sent alone is the first and only report of its delivery
# The most Abschnitte a report can hold within the reader's bound on a report's elements (the
# report, its head, Person and the rest take 15; an Abschnitt up to 7).
MAX_PERIODS = (REPORT_LIMITS.elements - 15) // (len(extract.ABSCHNITT_CHILDREN) + 1)
_FIELD = re.compile(
    r"(?:(?P<group>Person|Abschnitt\[(?P<index>[1-9][0-9]{0,5})\])/)?(?P<name>[A-Za-z]+)"
)
_P = f"{{{NS}}}"
_XS = "{http://www.w3.org/2001/XMLSchema}"
_GERMAN_DATE = re.compile(r"(?P<day>[0-9]{2})\.(?P<month>[0-9]{2})\.(?P<year>[0-9]{4})")


def _layout(kind: ReportKind) -> tuple[str, ...]:
    """The children of a report of ``kind``, in the schema's order (``Abschnitt`` repeats)."""
    return extract.MELDUNG_KOPF + extract.REPORT_CHILDREN[kind]


def _group_children(group: str) -> tuple[str, ...]:
    return extract.PERSON_CHILDREN if group == PERSON else extract.ABSCHNITT_CHILDREN


def field_names(kind: ReportKind, periods: int = 0) -> tuple[str, ...]:
    """Every form field of a report of ``kind`` with ``periods`` Abschnitte, in schema order."""
    names: list[str] = []
    for child in _layout(kind):
        if child == PERSON:
            names += (f"{PERSON}/{name}" for name in extract.PERSON_CHILDREN)
        elif child == PERIOD:
            for index in range(1, periods + 1):
                names += (f"{PERIOD}[{index}]/{name}" for name in extract.ABSCHNITT_CHILDREN)
        else:
            names.append(child)
    return tuple(names)


@dataclass(frozen=True, slots=True)
class _Place:
    """Where a form field stands in the report: a child, or a child of Person or of the
    ``index``-th Abschnitt."""

    group: str | None
    index: int
    name: str


def _place(kind: ReportKind, field: str) -> _Place:
    """The place of ``field`` in a report of ``kind``; ValueError when it has none there."""
    match = _FIELD.fullmatch(field)
    if match is not None:
        group, name = match.group("group"), match.group("name")
        layout = _layout(kind)
        if group is None:
            if name in layout and name not in (PERSON, PERIOD):
                return _Place(None, 0, name)
        else:
            index = int(match.group("index") or 1)
            parent = PERIOD if match.group("index") else PERSON
            if parent in layout and name in _group_children(parent):
                if index > MAX_PERIODS:
                    raise ValueError(f"{kind}: at most {MAX_PERIODS} Abschnitte, not {index}")
                return _Place(parent, index, name)
    raise ValueError(f"{kind} has no field {field!r}")


def form_field(feld: str | None) -> str | None:
    """The form field a finding's `Feld` names, or None when it names no single field: the
    report as a whole, a group (``Person``, ``Abschnitt``) or a part of the file (``Vorlauf/…``).
    """
    if not feld:
        return None
    match = _FIELD.fullmatch(feld)
    if match is None:
        return None
    group, name = match.group("group"), match.group("name")
    if group is None:
        known = any(name in _layout(k) for k in REPORT_KINDS) and name not in (PERSON, PERIOD)
    else:
        known = name in _group_children(PERIOD if match.group("index") else PERSON)
    return feld if known else None


@cache
def date_elements() -> frozenset[str]:
    """The elements the schema types as a date (``DatumTyp``)."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    tree = etree.parse(str(schema_path(FILE_SCHEMA)), parser)
    return frozenset(
        str(e.get("name")) for e in tree.iter(f"{_XS}element") if e.get("type") == "DatumTyp"
    )


def entered_dates(fields: Mapping[str, str | None]) -> dict[str, str | None]:
    """``fields`` with each date field entered as ``TT.MM.JJJJ`` written as the schema's
    ``JJJJ-MM-TT`` (people type German dates); every other value stays as typed, for the
    schema to judge."""
    dates = date_elements()
    converted: dict[str, str | None] = {}
    for field, value in fields.items():
        match = _GERMAN_DATE.fullmatch(value) if value else None
        if match is not None and field.rsplit("/", 1)[-1] in dates:
            value = f"{match['year']}-{match['month']}-{match['day']}"
        converted[field] = value
    return converted


@dataclass(frozen=True, slots=True)
class FormReading:
    """A form read as a report: ``report`` when the schema accepts it, else ``findings`` (the
    ZVDA010 a file's report would get, at the same `Feld`). ``element`` is the report as it
    would stand in a file."""

    element: etree._Element
    report: ReportData | None
    findings: tuple[Finding, ...]


def read_form(
    kind: ReportKind, fields: Mapping[str, str | None], catalogue: Catalogue | None = None
) -> FormReading:
    """Read the form ``fields`` of a report of ``kind`` as a file's report is read.

    An empty value (``""`` or ``None``) leaves its element out. A field name that the kind does
    not have raises ValueError: it is refused, never ignored. A value that XML cannot hold (a
    control character) is a ZVDA010 at its field.
    """
    if kind not in REPORT_KINDS:
        raise ValueError(f"no report kind {kind!r}")
    catalogue = catalogue if catalogue is not None else load_catalogue()
    element, unwritable = _element(kind, fields)
    found = Findings(catalogue, satz=SATZ, meldungs_id=extract.meldungs_id(element))
    for field, detail in unwritable.items():
        found.add("ZVDA010", detail, field)
    for error in validate_element(element):
        if error.field not in unwritable:
            found.add("ZVDA010", error.message, error.field)
    if found.items:
        return FormReading(element, None, tuple(found.items))
    return FormReading(element, extract.report(element, kind, SATZ), ())


def _element(
    kind: ReportKind, fields: Mapping[str, str | None]
) -> tuple[etree._Element, dict[str, str]]:
    """The report's element, and the fields whose values XML cannot hold (with why)."""
    values: dict[tuple[str | None, int], dict[str, tuple[str, str]]] = {}
    periods = 0
    for field, value in fields.items():
        if value is not None and not isinstance(value, str):
            raise TypeError(f"{field}: a form value is text, not {type(value).__name__}")
        place = _place(kind, field)
        if not value:
            continue
        values.setdefault((place.group, place.index), {})[place.name] = (field, value)
        if place.group == PERIOD:
            periods = max(periods, place.index)
    unwritable: dict[str, str] = {}
    element = etree.Element(f"{_P}{kind}", nsmap={None: NS})
    own = values.get((None, 0), {})
    for child in _layout(kind):
        if child == PERSON:
            group = etree.SubElement(element, f"{_P}{PERSON}")
            _fill(group, extract.PERSON_CHILDREN, values.get((PERSON, 1), {}), unwritable)
        elif child == PERIOD:
            # an Abschnitt left empty between filled ones stays, empty: the schema names its
            # missing fields at its own position
            for index in range(1, periods + 1):
                group = etree.SubElement(element, f"{_P}{PERIOD}")
                chosen = values.get((PERIOD, index), {})
                _fill(group, extract.ABSCHNITT_CHILDREN, chosen, unwritable)
        else:
            _fill(element, (child,), own, unwritable)
    return element, unwritable


def _fill(
    parent: etree._Element,
    names: tuple[str, ...],
    given: dict[str, tuple[str, str]],
    unwritable: dict[str, str],
) -> None:
    for name in names:
        if name not in given:
            continue
        field, value = given[name]
        child = etree.SubElement(parent, f"{_P}{name}")
        try:
            child.text = value
        except ValueError:  # lxml refuses what XML 1.0 cannot hold; the element stays, empty
            bad = next((c for c in value if not _xml_char(c)), None)
            what = "ein Zeichen" if bad is None else f"das Zeichen U+{ord(bad):04X}"
            unwritable[field] = f"{field}: {what} kann in einer Meldung nicht stehen"


def _xml_char(char: str) -> bool:
    """Whether XML 1.0 allows the character in text."""
    code = ord(char)
    return (
        code in (0x9, 0xA, 0xD)
        or 0x20 <= code <= 0xD7FF
        or 0xE000 <= code <= 0xFFFD
        or 0x10000 <= code <= 0x10FFFF
    )


# -- a report back into form fields ("Berichtigen") -------------------------------------------
# The record's attribute behind each element of the report, its Person and its Abschnitt: the
# reverse of what ``extract`` reads (a test holds both directions equal).
_REPORT_ATTRIBUTES = {
    "MeldungsId": "meldungs_id",
    "Mitgliedsnummer": "member",
    "Abrechnungsstelle": "office",
    "Beginn": "begin",
    "Ende": "end",
    "Abmeldegrund": "reason",
    "Bezug": "reference",
}
_STATEMENT_ATTRIBUTES = {
    "Monat": "month",
    "AnzahlVersicherte": "insured_count",
    "Entgelt": "pay",
    "Umlage": "levy",
    "Zusatzbeitrag": "additional",
    "Sanierungsgeld": "restructuring",
    "Gesamtbetrag": "total",
}
_PERSON_ATTRIBUTES = {
    "Versicherungsnummer": "versicherungsnummer",
    "RVNR": "rvnr",
    "Familienname": "family_name",
    "Vorname": "first_name",
    "Geburtsname": "birth_name",
    "Geburtsdatum": "birth_date",
    "Geschlecht": "gender",
    "Personalnummer": "personnel_number",
}
_PERIOD_ATTRIBUTES = {
    "Beginn": "begin",
    "Ende": "end",
    "Buchungsschluessel": "booking_key",
    "Entgelt": "pay",
    "Betrag": "amount",
    "Kinderzahl": "children",
}


def report_fields(report: ReportData) -> dict[str, str]:
    """The form fields of a report (those with a value), as :func:`read_form` takes them: the
    text each element has in a file."""
    return dict(_report_values(report))


def _report_values(report: ReportData) -> Iterator[tuple[str, str]]:
    for child in _layout(report.kind):
        if child == PERSON and report.person is not None:
            for name in extract.PERSON_CHILDREN:
                value = getattr(report.person, _PERSON_ATTRIBUTES[name])
                if value is not None:
                    yield f"{PERSON}/{name}", _text(value)
        elif child == PERIOD:
            for period in report.periods:
                for name in extract.ABSCHNITT_CHILDREN:
                    value = getattr(period, _PERIOD_ATTRIBUTES[name])
                    if value is not None:
                        yield f"{period.where}/{name}", _text(value)
        elif child in _STATEMENT_ATTRIBUTES and report.statement is not None:
            yield child, _text(getattr(report.statement, _STATEMENT_ATTRIBUTES[child]))
        elif child in _REPORT_ATTRIBUTES:
            value = getattr(report, _REPORT_ATTRIBUTES[child])
            if value is not None:
                yield child, _text(value)


def _text(value: str | int | date | Decimal) -> str:
    return value.isoformat() if isinstance(value, date) else str(value)
