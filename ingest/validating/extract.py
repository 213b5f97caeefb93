"""Turn schema-valid elements into typed records (and read what can be read of invalid ones)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from lxml import etree

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

BERLIN = ZoneInfo("Europe/Berlin")
_P = f"{{{NS}}}"
# The element names of a report file, by their namespaced tag (saves string work per element).
_LOCAL_NAMES = {
    f"{_P}{name}": name
    for name in (
        *("MeldungsId", "Mitgliedsnummer", "Abrechnungsstelle", "Person", "Beginn", "Ende"),
        *("Abmeldegrund", "Abschnitt", "Bezug", "Monat", "AnzahlVersicherte", "Entgelt"),
        *("Umlage", "Zusatzbeitrag", "Sanierungsgeld", "Gesamtbetrag", "Versicherungsnummer"),
        *("RVNR", "Familienname", "Vorname", "Geburtsname", "Geburtsdatum", "Geschlecht"),
        *("Personalnummer", "Buchungsschluessel", "Betrag", "Kinderzahl"),
    )
}


def _children(element: etree._Element) -> dict[str, etree._Element]:
    found: dict[str, etree._Element] = {}
    local = _LOCAL_NAMES
    for child in element:
        name = local.get(child.tag)
        if name is None:
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


def _date(value: str) -> date:
    return date.fromisoformat(value)


def parse_created(value: str) -> datetime:
    """`Erstellt`: local time in Europe/Berlin unless the value carries an offset."""
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=BERLIN)


def header(element: etree._Element) -> Header:
    f = _children(element)
    test = (_text(f, "Test") or "false") in ("true", "1")
    return Header(
        sender=_req(f, "Absender"),
        file_number=int(_req(f, "Dateifolgenummer")),
        created=parse_created(_req(f, "Erstellt")),
        file_kind=_req(f, "Dateiart"),
        period=_req(f, "Zeitraum"),
        test=test,
        software=_text(f, "Software"),
        line=element.sourceline,
    )


def trailer(element: etree._Element) -> Trailer:
    f = _children(element)
    return Trailer(
        count=int(_req(f, "AnzahlMeldungen")),
        sum_pay=Decimal(_req(f, "SummeEntgelt")),
        sum_amount=Decimal(_req(f, "SummeBetrag")),
        line=element.sourceline,
    )


def _raw(element: etree._Element) -> dict[str, str | None]:
    """The text of each child element (the first of a name), by local name, unstripped."""
    found: dict[str, str | None] = {}
    local = _LOCAL_NAMES
    for child in element:
        name = local.get(child.tag)
        if name is not None and name not in found:
            found[name] = child.text
    return found


def _s(values: dict[str, str | None], name: str) -> str:
    text = values.get(name)
    if text is None:
        raise ValueError(f"{name} missing")
    return text.strip()


def _opt(values: dict[str, str | None], name: str) -> str | None:
    text = values.get(name)
    return None if text is None else text.strip()


def _person(element: etree._Element) -> PersonData:
    v = _raw(element)
    return PersonData(
        versicherungsnummer=_opt(v, "Versicherungsnummer"),
        rvnr=_opt(v, "RVNR"),
        family_name=v.get("Familienname") or "",
        first_name=v.get("Vorname") or "",
        birth_name=(v["Geburtsname"] or "") if "Geburtsname" in v else None,
        birth_date=date.fromisoformat(_s(v, "Geburtsdatum")),
        gender=_s(v, "Geschlecht"),
        personnel_number=_opt(v, "Personalnummer"),
    )


def _period(position: int, element: etree._Element) -> PeriodData:
    v = _raw(element)
    children = _opt(v, "Kinderzahl")
    return PeriodData(
        position=position,
        begin=date.fromisoformat(_s(v, "Beginn")),
        end=date.fromisoformat(_s(v, "Ende")),
        booking_key=_s(v, "Buchungsschluessel"),
        pay=Decimal(_s(v, "Entgelt")),
        amount=Decimal(_s(v, "Betrag")),
        children=int(children) if children is not None else None,
    )


def report(element: etree._Element, kind: ReportKind, satz: int) -> ReportData:
    """A schema-valid report element as a record."""
    f = _children(element)
    periods = (
        tuple(
            _period(i, child)
            for i, child in enumerate(element.iterchildren(f"{_P}Abschnitt"), start=1)
        )
        if "Abschnitt" in f
        else ()
    )
    statement = None
    if kind == "Monatsabrechnung":
        statement = StatementData(
            month=_req(f, "Monat"),
            insured_count=int(_req(f, "AnzahlVersicherte")),
            pay=Decimal(_req(f, "Entgelt")),
            levy=Decimal(_req(f, "Umlage")),
            additional=Decimal(_req(f, "Zusatzbeitrag")),
            restructuring=Decimal(_req(f, "Sanierungsgeld")),
            total=Decimal(_req(f, "Gesamtbetrag")),
        )
    begin = _text(f, "Beginn")
    end = _text(f, "Ende")
    return ReportData(
        kind=kind,
        satz=satz,
        line=element.sourceline,
        meldungs_id=_req(f, "MeldungsId"),
        member=_req(f, "Mitgliedsnummer"),
        office=_req(f, "Abrechnungsstelle"),
        person=_person(f["Person"]) if "Person" in f else None,
        begin=_date(begin) if begin else None,
        end=_date(end) if end else None,
        reason=_text(f, "Abmeldegrund"),
        periods=periods,
        statement=statement,
        reference=_text(f, "Bezug"),
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
    pay = sum((p.pay for p in report.periods), Decimal(0))
    amount = sum((p.amount for p in report.periods), Decimal(0))
    if report.statement is not None:
        pay += report.statement.pay
        amount += report.statement.total
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
