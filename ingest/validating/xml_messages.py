"""German details for the findings about the file as a whole: the parser's syntax errors
(ZVDA001) and a wrong root element (ZVDA002)."""

from __future__ import annotations

import re

NS = "urn:zvk-ingest:meldedatei:1"
_LIBXML_POSITION = re.compile(r",\s*line \d+, column \d+$")
_MISMATCH = re.compile(r"Opening and ending tag mismatch: (\S+) line (\d+) and (\S+)")
_PREMATURE = re.compile(r"Premature end of data in tag (\S+) line (\d+)")
_SYNTAX = (
    (
        re.compile(r"Invalid bytes in character encoding|not proper UTF-8|invalid character in"),
        "Die Datei enthält Bytes, die in ihrer deklarierten Zeichenkodierung ungültig sind (ohne "
        "Angabe in der XML-Deklaration gilt UTF-8); eine Datei in ISO-8859-1 oder ISO-8859-15 "
        'muss das angeben: <?xml version="1.0" encoding="ISO-8859-1"?>',
    ),
    (
        re.compile(r"EntityRef|xmlParseEntityRef|Entity '.*' not defined"),
        "ein „&“ im Text muss als &amp; geschrieben werden",
    ),
    (re.compile(r"Extra content at the end of the document"), "Inhalt nach dem Ende der Datei"),
    (
        re.compile(r"StartTag: invalid element name|EndTag: '</' not found|Premature end"),
        "die Datei endet mitten in einem Element (unvollständig übertragen?)",
    ),
    (
        re.compile(r"error parsing attribute name|attributes construct error|Couldn't find end"),
        "ein „<“ im Text muss als &lt; geschrieben werden, oder ein Element ist nicht geschlossen",
    ),
    (re.compile(r"AttValue: \" or ' expected"), "Attributwert ohne Anführungszeichen"),
    (re.compile(r"Document is empty"), "die Datei enthält kein XML"),
)


def syntax_message(message: str) -> str:
    """The parser's message as a German detail of ZVDA001 (the position is in the finding's
    own attributes); an unusual one keeps the parser's words after a German lead-in."""
    text = _LIBXML_POSITION.sub("", message.strip())
    match = _MISMATCH.search(text)
    if match:
        opened, line, closed = match.groups()
        return f"<{opened}> aus Zeile {line} wird mit </{closed}> geschlossen"
    match = _PREMATURE.search(text)
    if match:
        return f"die Datei endet im Element {match.group(1)} aus Zeile {match.group(2)}"
    for pattern, german in _SYNTAX:
        if pattern.search(text):
            return german
    return f"XML-Syntaxfehler (Parser: {text})"


def root_problem(tag: str) -> str:
    """Why ``tag`` (in Clark notation, ``{namespace}name``) is not the root of a report file,
    naming the expected root and namespace."""
    namespace, _, name = tag[1:].partition("}") if tag.startswith("{") else ("", "", tag)
    expected = f'Meldedatei im Namensraum „{NS}“ (xmlns="{NS}")'
    if name == "Meldedatei" and not namespace:
        return f"Wurzelelement Meldedatei ohne Namensraum; erwartet {expected}"
    if name == "Meldedatei":
        return f"Wurzelelement Meldedatei im Namensraum „{namespace}“; erwartet {expected}"
    return f"Wurzelelement {name} statt {expected}"
