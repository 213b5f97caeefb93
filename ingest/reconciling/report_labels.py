"""German words for the people who read the reports: column headings, kinds of finding, values.

Every column and every kind of finding the evaluations produce has a label here
(tests/test_report_html.py checks it), so no ``snake_case`` name reaches a page.
"""

from __future__ import annotations

COLUMNS: dict[str, str] = {
    "mitgliedsnummer": "Mitglied",
    "abrechnungsstelle": "Abrechnungsstelle",
    "zeitraum": "Zeitraum",
    "art": "Befund",
    "soll": "Soll (EUR)",
    "ist": "Ist (EUR)",
    "differenz": "Differenz (EUR)",
    "bestandteil": "Bestandteil",
    "versicherungsnummer": "Versicherungsnummer",
    "bezug": "Bezug",
    "hinweis": "Hinweis",
    "stichtag": "Stichtag",
    "lauf": "Lauf",
    "monat": "Monat",
    "status": "Status",
    "altersband": "Altersband",
    "geschlecht": "Geschlecht",
    "anzahl": "Anzahl",
    "jahr": "Jahr",
    "familienname": "Familienname",
    "vorname": "Vorname",
    "alter": "Alter",
    "altersfaktor": "Altersfaktor",
    "entgelt": "ZV-Entgelt (EUR)",
    "elternzeit_kindmonate": "Elternzeit (Kindmonate)",
    "versorgungspunkte": "Versorgungspunkte",
}

KINDS: dict[str, str] = {
    "monatsabrechnung_fehlt": "Monatsabrechnung fehlt",
    "zahlung_fehlt": "Zahlung fehlt",
    "zahlung_zu_niedrig": "Zahlung zu niedrig",
    "zahlung_zu_hoch": "Zahlung zu hoch",
    "zahlung_unzugeordnet": "Zahlung nicht zugeordnet",
    "jahresmeldung_fehlt": "Jahresmeldung fehlt",
    "jahressumme_abweichend": "Jahressumme weicht ab",
    "archivdatei_fehlt": "Archivdatei fehlt",
    "archivdatei_abweichend": "Archivdatei weicht ab",
    "archivdatei_unbekannt": "Unbekannte Datei im Archiv",
    "protokoll_fehlt": "Protokoll fehlt",
    "meldungsanzahl_abweichend": "Anzahl der Meldungen weicht ab",
    "lieferung_unerledigt": "Lieferung nicht abgeschlossen",
}

COMPONENTS: dict[str, str] = {
    "umlage": "Umlage",
    "zusatzbeitrag": "Zusatzbeitrag",
    "sanierungsgeld": "Sanierungsgeld",
}

GENDERS: dict[str, str] = {"W": "weiblich", "M": "männlich", "D": "divers", "X": "ohne Angabe"}

# Column → the words its values are shown with on the page.
VALUES: dict[str, dict[str, str]] = {
    "art": KINDS,
    "bestandteil": COMPONENTS,
    "geschlecht": GENDERS,
}


def column(name: str) -> str:
    return COLUMNS.get(name, name.replace("_", " ").capitalize())


def value(name: str, text: str) -> str:
    return VALUES.get(name, {}).get(text, text)
