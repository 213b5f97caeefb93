"""Turn schema-valid elements into typed records (and read what can be read of invalid ones)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation

from lxml import etree

from ingest.validating.moments import parse_created
from ingest.validating.reader import NS
from ingest.validating.records import (
    Header,
    PeriodData,
    PersonData,
    ReportData,
    ReportKind,
    StatementData,
    Trailer,
)

_P = f"{{{NS}}}"
_ZERO = Decimal(0)
_ABSCHNITT, _ENTGELT, _GESAMT = f"{_P}Abschnitt", f"{_P}Entgelt", f"{_P}Gesamtbetrag"


def _children(element: etree._Element) -> dict[str, etree._Element]:
    found: dict[str, etree._Element] = {}
    for child in element:
        tag = child.tag
        if not (isinstance(tag, str) and tag.startswith(_P)):
            continue
        name = tag[len(_P) :]
        if name not in found:
            found[name] = child
    return found


def _text(fields: dict[str, etree._Element], name: str) -> str | None:
    child = fields.get(name)
    if child is None or child.text is None:
        return None
    return str(child.text).strip()


def _req(fields: dict[str, etree._Element], name: str) -> str:
    value = _text(fields, name)
    if value is None:
        raise ValueError(f"{name} missing")
    return value


def header(element: etree._Element, line: int | None = None) -> Header:
    """The Vorlauf as a record; ``line``: where it starts in the file (else its parsed line)."""
    f = _children(element)
    test = (_text(f, "Test") or "false") in ("true", "1")
    created = _req(f, "Erstellt")
    return Header(
        sender=_req(f, "Absender"),
        file_number=int(_req(f, "Dateifolgenummer")),
        created=parse_created(created).value,
        created_text=created,
        file_kind=_req(f, "Dateiart"),
        period=_req(f, "Zeitraum"),
        test=test,
        software=_text(f, "Software"),
        line=element.sourceline if line is None else line,
    )


def trailer(element: etree._Element, line: int | None = None) -> Trailer:
    f = _children(element)
    return Trailer(
        count=int(_req(f, "AnzahlMeldungen")),
        sum_pay=Decimal(_req(f, "SummeEntgelt")),
        sum_amount=Decimal(_req(f, "SummeBetrag")),
        line=element.sourceline if line is None else line,
    )


_VERSICHERUNGSNUMMER = f"{_P}Versicherungsnummer"
_RVNR = f"{_P}RVNR"
_GEBURTSNAME = f"{_P}Geburtsname"


def _s(values: dict[str, str | None], name: str) -> str:
    text = values.get(name)
    if text is None:
        raise ValueError(f"{name} missing")
    return text.strip()


def _opt(values: dict[str, str | None], name: str) -> str | None:
    text = values.get(name)
    return None if text is None else text.strip()


def _elements(element: etree._Element) -> list[etree._Element]:
    """The children of an element of a report file: elements only, as the reader parses
    without comments and processing instructions (so a plain slice is enough)."""
    children: list[etree._Element] = element[:]
    return children


# The reading below relies on the order of the XSD's sequences (a test reads them from the XSD):
# a schema-valid element has its children in that order, so most of them are found by position
# and no tag has to be built for them (building a tag string costs more than reading the text).
PERSON_CHILDREN = (
    *("Versicherungsnummer", "RVNR", "Familienname", "Vorname", "Geburtsname"),
    *("Geburtsdatum", "Geschlecht", "Personalnummer"),
)
PERSON_OPTIONAL = frozenset({"Versicherungsnummer", "RVNR", "Geburtsname", "Personalnummer"})


def _person(element: etree._Element) -> PersonData:
    """A `Person` of a schema-valid report.

    Four of its elements are optional; a tag is read only where one of them may stand (at most
    three tags, instead of one per child).
    """
    kids = _elements(element)
    count = len(kids)
    if count < 4:
        raise ValueError("Person incomplete")
    at = 0
    number = rvnr = birth_name = personnel = None
    tag = kids[0].tag
    if tag == _VERSICHERUNGSNUMMER:
        number = kids[0].text
        at = 1
        tag = kids[1].tag
    if tag == _RVNR:
        rvnr = kids[at].text
        at += 1
    if count < at + 4:
        raise ValueError("Person incomplete")
    family, first = kids[at].text, kids[at + 1].text
    at += 2
    if kids[at].tag == _GEBURTSNAME:
        birth_name = kids[at].text or ""
        at += 1
    if count < at + 2:
        raise ValueError("Person incomplete")
    born, gender = kids[at].text, kids[at + 1].text
    if count > at + 2:
        personnel = kids[at + 2].text
    if born is None or gender is None:
        raise ValueError("Person incomplete")
    return PersonData(
        number.strip() if number is not None else None,
        rvnr.strip() if rvnr is not None else None,
        family or "",
        first or "",
        birth_name,
        date.fromisoformat(born.strip()),
        gender.strip(),
        personnel.strip() if personnel is not None else None,
    )


# The element children of an `Abschnitt`, in the order of its type's sequence in the XSD
# (`AbschnittTyp`); only the last is optional.
ABSCHNITT_CHILDREN = ("Beginn", "Ende", "Buchungsschluessel", "Entgelt", "Betrag", "Kinderzahl")


def _period(position: int, element: etree._Element) -> PeriodData:
    """An `Abschnitt` of a schema-valid report, its children read by position (the schema
    fixes their order, so no child's tag needs to be built or looked up)."""
    kids = _elements(element)
    if not 5 <= len(kids) <= 6:
        raise ValueError(f"Abschnitt {position} incomplete")
    begin, end, key, pay, amount = (kid.text for kid in kids[:5])
    children = kids[5].text if len(kids) == 6 else None
    if begin is None or end is None or key is None or pay is None or amount is None:
        raise ValueError(f"Abschnitt {position} incomplete")
    return PeriodData(
        position,
        date.fromisoformat(begin.strip()),
        date.fromisoformat(end.strip()),
        key.strip(),
        Decimal(pay.strip()),
        Decimal(amount.strip()),
        int(children) if children is not None else None,
    )


# Every report begins with the group `MeldungKopf`; after it, each kind has a fixed sequence of
# required elements, and `Abschnitt`, where a kind has it, comes last and repeats.
MELDUNG_KOPF = ("MeldungsId", "Mitgliedsnummer", "Abrechnungsstelle")
REPORT_CHILDREN: dict[str, tuple[str, ...]] = {
    "Anmeldung": ("Person", "Beginn"),
    "Abmeldung": ("Person", "Ende", "Abmeldegrund", "Abschnitt"),
    "Jahresmeldung": ("Person", "Abschnitt"),
    "Monatsabrechnung": (
        *("Monat", "AnzahlVersicherte", "Entgelt", "Umlage", "Zusatzbeitrag"),
        *("Sanierungsgeld", "Gesamtbetrag"),
    ),
    "Storno": ("Bezug",),
}
# For each kind: the names of the children found by position, and whether `Abschnitt`s follow.
_LAYOUT = {
    kind: (
        MELDUNG_KOPF + tuple(name for name in names if name != "Abschnitt"),
        names[-1] == "Abschnitt",
    )
    for kind, names in REPORT_CHILDREN.items()
}


def report(
    element: etree._Element, kind: ReportKind, satz: int, line: int | None = None
) -> ReportData:
    """A schema-valid report element as a record, its children read by position; ``line``:
    where it starts in the file (else its parsed line)."""
    kids = _elements(element)
    names, with_periods = _LAYOUT[kind]
    fixed = len(names)
    if len(kids) < fixed or (len(kids) > fixed and not with_periods):
        raise ValueError(f"{kind} incomplete")
    v: dict[str, str | None] = {}
    person: PersonData | None = None
    for name, kid in zip(names, kids, strict=False):
        if name == "Person":
            person = _person(kid)
        else:
            v[name] = kid.text
    periods = tuple(_period(position, kid) for position, kid in enumerate(kids[fixed:], start=1))
    statement = None
    if kind == "Monatsabrechnung":
        statement = StatementData(
            _s(v, "Monat"),
            int(_s(v, "AnzahlVersicherte")),
            Decimal(_s(v, "Entgelt")),
            Decimal(_s(v, "Umlage")),
            Decimal(_s(v, "Zusatzbeitrag")),
            Decimal(_s(v, "Sanierungsgeld")),
            Decimal(_s(v, "Gesamtbetrag")),
        )
    begin = _opt(v, "Beginn")
    end = _opt(v, "Ende")
    return ReportData(
        kind,
        satz,
        element.sourceline if line is None else line,
        _s(v, "MeldungsId"),
        _s(v, "Mitgliedsnummer"),
        _s(v, "Abrechnungsstelle"),
        person,
        date.fromisoformat(begin) if begin else None,
        date.fromisoformat(end) if end else None,
        _opt(v, "Abmeldegrund"),
        periods,
        statement,
        _opt(v, "Bezug"),
    )


def meldungs_id(element: etree._Element) -> str | None:
    """The MeldungsId of any report element, as far as it can be read."""
    value = element.findtext(f"{_P}MeldungsId")
    return value.strip()[:36] if value and value.strip() else None


def _decimal(text: str | None) -> Decimal:
    if text is None:
        return Decimal(0)
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        return Decimal(0)
    return value if value.is_finite() else Decimal(0)


def report_sums(report: ReportData) -> tuple[Decimal, Decimal]:
    """:func:`trailer_sums` of a schema-valid report, from its record."""
    pay = amount = _ZERO
    for period in report.periods:  # one loop, no generators: every report comes by here
        pay += period.pay
        amount += period.amount
    if report.statement is not None:
        pay += report.statement.pay
        amount += report.statement.total
    return pay, amount


def children_sums(report: etree._Element, last: etree._Element) -> tuple[Decimal, Decimal]:
    """The share of `SummeEntgelt` and `SummeBetrag` of a report's children before ``last``:
    its Abschnitte, and a Monatsabrechnung's Entgelt and Gesamtbetrag."""
    pay = Decimal(0)
    amount = Decimal(0)
    for child in report.iterchildren(_ABSCHNITT, _ENTGELT, _GESAMT):
        if child is last:
            break
        if child.tag == _ABSCHNITT:
            pay += _decimal(child.findtext(_ENTGELT))
            amount += _decimal(child.findtext(f"{_P}Betrag"))
        elif report.tag == f"{_P}Monatsabrechnung":
            if child.tag == _ENTGELT:
                pay += _decimal(child.text)
            else:
                amount += _decimal(child.text)
    return pay, amount


def trailer_sums(element: etree._Element) -> tuple[Decimal, Decimal]:
    """This report's share of `SummeEntgelt` and `SummeBetrag` (also for invalid reports)."""
    pay = Decimal(0)
    amount = Decimal(0)
    for period in element.iterfind(f"{_P}Abschnitt"):
        pay += _decimal(period.findtext(f"{_P}Entgelt"))
        amount += _decimal(period.findtext(f"{_P}Betrag"))
    if element.tag == f"{_P}Monatsabrechnung":
        pay += _decimal(element.findtext(f"{_P}Entgelt"))
        amount += _decimal(element.findtext(f"{_P}Gesamtbetrag"))
    return pay, amount
