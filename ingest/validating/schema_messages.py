"""libxml2's schema errors as German sentences for the people at a data center.

The validator speaks English and names the element where it noticed a problem, which for a
missing element is its parent or the element after the gap. Each usual error (missing,
unexpected, wrong format, value not allowed) is rewritten here with the field that is wrong;
an error of another kind keeps the validator's words after a German lead-in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lxml import etree

_MAX_VALUE = 40  # characters of a wrong value quoted in a message

_NOT_EXPECTED = re.compile(
    r"Element '(?P<el>[^']+)': This element is not expected\."
    r"(?: Expected is (?:one of )?\( (?P<expected>[^)]*) \)\.)?"
)
_MISSING = re.compile(
    r"Element '(?P<el>[^']+)': Missing child element\(s\)\. "
    r"Expected is (?:one of )?\( (?P<expected>[^)]*) \)\."
)
_ENUMERATION = re.compile(
    r"\[facet 'enumeration'\] The value '(?P<value>.*)' is not an element of the set "
    r"\{(?P<set>.*)\}\."
)
_LENGTH = re.compile(
    r"\[facet '(?P<facet>minLength|maxLength)'\] The value has a length of '(?P<length>\d+)';"
    r" this (?:exceeds|underruns) the allowed (?:maximum|minimum) length of '(?P<limit>\d+)'\."
)
_PATTERN = re.compile(r"\[facet 'pattern'\] The value '(?P<value>.*)' is not accepted by")
_ATOMIC = re.compile(
    r"^Element '[^']+': '(?P<value>.*)' is not a valid value of the atomic type '(?P<type>[^']+)'"
)
_BOUND = re.compile(
    r"\[facet '(?P<facet>minInclusive|maxInclusive)'\] The value '(?P<value>.*)' is "
    r"(?:less|greater) than the (?:minimum|maximum) value allowed \('(?P<limit>.*)'\)\."
)
_DIGITS = re.compile(
    r"\[facet '(?P<facet>totalDigits|fractionDigits)'\] The value '(?P<value>.*)' has more "
    r"(?:fractional )?digits than are allowed \('(?P<limit>\d+)'\)\."
)
_TEXT_CONTENT = re.compile(r"Character content other than whitespace is not allowed")
_ATTRIBUTE = re.compile(r"attribute '(?P<name>[^']+)': The attribute '[^']+' is not allowed\.")

AMOUNT_FORMAT = (
    "Beträge mit Punkt als Dezimaltrennzeichen, ohne Tausendertrennzeichen und mit höchstens "
    "zwei Nachkommastellen, z. B. 1234.56"
)
# The format each field of the report file asks for, in words (by element name).
FORMATS = {
    **dict.fromkeys(("Absender",), "8 Ziffern (Betriebsnummer)"),
    **dict.fromkeys(("Mitgliedsnummer",), "6 Ziffern"),
    **dict.fromkeys(("Abrechnungsstelle",), "3 Ziffern"),
    **dict.fromkeys(("Versicherungsnummer",), "10 Ziffern"),
    **dict.fromkeys(("Buchungsschluessel",), "6 Ziffern"),
    **dict.fromkeys(("Abmeldegrund",), "2 Ziffern"),
    **dict.fromkeys(("RVNR",), "12 Zeichen"),
    **dict.fromkeys(
        ("MeldungsId", "Bezug"), "1 bis 36 Zeichen aus Buchstaben A-Z, a-z, Ziffern, . _ -"
    ),
    **dict.fromkeys(("Beginn", "Ende", "Geburtsdatum"), "ein Datum JJJJ-MM-TT"),
    **dict.fromkeys(("Monat",), "JJJJ-MM mit Monat 01 bis 12"),
    **dict.fromkeys(("Zeitraum",), "JJJJ-MM (Monatsmeldung) oder JJJJ (Jahresmeldung)"),
    **dict.fromkeys(("Erstellt",), "ein Zeitpunkt JJJJ-MM-TTThh:mm:ss"),
    **dict.fromkeys(
        ("Entgelt", "Betrag", "Umlage", "Zusatzbeitrag", "Sanierungsgeld", "Gesamtbetrag"),
        AMOUNT_FORMAT,
    ),
    **dict.fromkeys(("SummeEntgelt", "SummeBetrag"), AMOUNT_FORMAT),
    **dict.fromkeys(
        ("Dateifolgenummer", "AnzahlMeldungen", "AnzahlVersicherte", "Kinderzahl"),
        "eine ganze Zahl",
    ),
    **dict.fromkeys(("Test",), "true oder false"),
}


@dataclass(frozen=True, slots=True)
class Explained:
    text: str  # German, without a final full stop
    field: str | None  # the field that is wrong, below the validated element


def _quoted(value: str) -> str:
    shown = value if len(value) <= _MAX_VALUE else value[: _MAX_VALUE - 1] + "…"
    return f"„{shown}“"


def _names(listed: str) -> list[str]:
    return [name.strip() for name in listed.split(",") if name.strip()]


def _join(parent: str | None, name: str) -> str:
    return f"{parent}/{name}" if parent else name


def _parent(field: str | None) -> str | None:
    if not field or "/" not in field:
        return None
    return field.rsplit("/", 1)[0]


def _local(field: str | None, fallback: str) -> str:
    return (field or fallback).rsplit("/", 1)[-1].split("[", 1)[0]


def explain(message: str, field: str | None, node: etree._Element | None) -> Explained:
    """A German sentence for one schema error; ``field`` is the path of the element the
    validator named (``None``: the validated element itself), ``node`` that element."""
    match = _MISSING.search(message)
    if match:
        needed = _names(match.group("expected"))[-1]  # optional ones come first
        return Explained(f"Pflichtfeld {needed} fehlt", _join(field, needed))
    match = _NOT_EXPECTED.search(message)
    if match:
        return _unexpected(match.group("el"), match.group("expected"), field, node)
    name = _local(field, message.split("'", 2)[1] if message.count("'") >= 2 else "Feld")
    where = field or name
    match = _ENUMERATION.search(message)
    if match:
        allowed = ", ".join(v.strip().strip("'") for v in match.group("set").split(","))
        text = f"{where}: Wert {_quoted(match.group('value'))} ist nicht zulässig; zulässig: "
        return Explained(text + allowed, field)
    match = _LENGTH.search(message)
    if match:
        length, limit = int(match.group("length")), int(match.group("limit"))
        if match.group("facet") == "maxLength":
            text = f"{where}: {length} Zeichen, höchstens {limit} erlaubt"
        elif length == 0:
            text = f"{where} ist leer"
        else:
            text = f"{where}: {length} Zeichen, mindestens {limit} nötig"
        return Explained(text, field)
    match = _PATTERN.search(message) or _ATOMIC.search(message)
    if match:
        return Explained(_wrong_format(where, name, match.group("value")), field)
    match = _BOUND.search(message)
    if match:
        relation = "kleiner als" if match.group("facet") == "minInclusive" else "größer als"
        text = f"{where}: Wert {_quoted(match.group('value'))} ist {relation} "
        return Explained(text + f"{match.group('limit')} (nicht zulässig)", field)
    match = _DIGITS.search(message)
    if match:
        quoted, most = _quoted(match.group("value")), match.group("limit")
        if match.group("facet") == "fractionDigits":
            text = f"{where}: {quoted} hat mehr als {most} Nachkommastellen"
        else:
            text = f"{where}: {quoted} hat mehr als {most} Ziffern"
        return Explained(text, field)
    if _TEXT_CONTENT.search(message):
        return Explained(f"{where}: Text zwischen den Feldern ist nicht erlaubt", field)
    match = _ATTRIBUTE.search(message)
    if match:
        return Explained(f"{where}: Attribut {match.group('name')} ist nicht erlaubt", field)
    return Explained(f"{where} entspricht nicht dem Schema (Prüfprogramm: {message})", field)


def _wrong_format(where: str, name: str, value: str) -> str:
    wanted = FORMATS.get(name)
    if wanted is AMOUNT_FORMAT:
        comma = " (Komma statt Punkt?)" if "," in value else ""
        return f"{where}: {_quoted(value)} ist kein gültiger Betrag{comma}; erlaubt sind {wanted}"
    if wanted is None:
        return f"{where}: {_quoted(value)} hat nicht das vorgeschriebene Format"
    return f"{where}: {_quoted(value)} ist ungültig; erwartet: {wanted}"


def _unexpected(
    element: str, expected: str | None, field: str | None, node: etree._Element | None
) -> Explained:
    parent = _parent(field)
    if expected is None:
        return Explained(f"Element {element} ist hier nicht erlaubt (doppelt oder zu viel)", field)
    names = _names(expected)
    needed = names[-1]  # optional ones come first: the last one may not be left out
    later = []
    if node is not None:
        later = [etree.QName(n).localname for n in node.itersiblings() if isinstance(n.tag, str)]
    if not _known_here(element):
        wanted = " oder ".join(names)
        return Explained(f"Element {element} ist hier nicht erlaubt; erwartet: {wanted}", field)
    if needed in later:
        return Explained(
            f"Element {element} steht vor {needed}; die Reihenfolge der Felder ist vorgeschrieben",
            field,
        )
    return Explained(f"Pflichtfeld {needed} fehlt (vor {element})", _join(parent, needed))


def _known_here(element: str) -> bool:
    """Whether ``element`` is a field of this place that merely came too early (what was
    expected is missing) rather than a name the format does not have here."""
    from ingest.validating.schema import declared_names  # the schema module imports this one

    return element in declared_names()
