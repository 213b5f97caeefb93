"""The Verarbeitungsprotokoll: what every delivery gets back, as XML and as German text."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import IO
from zoneinfo import ZoneInfo

import jinja2
from lxml import etree

from ingest.pipeline.results import Result
from ingest.validating.findings import Finding
from ingest.validating.schema import PROTOCOL_SCHEMA, compiled

NS = "urn:zvk-ingest:protokoll:1"
RESULT_SENTENCES = {
    Result.FEHLERFREI: "Alle Meldungen wurden fehlerfrei angenommen.",
    Result.HINWEISE: "Alle Meldungen wurden angenommen; bitte beachten Sie die Hinweise.",
    Result.TEILWEISE_ABGEWIESEN: (
        "Ein Teil der Meldungen wurde abgewiesen; die übrigen wurden angenommen."
    ),
    Result.ABGEWIESEN: "Die Lieferung wurde abgewiesen; keine Meldung wurde übernommen.",
    Result.DOPPELT: "Diese Datei wurde bereits verarbeitet; nichts wurde übernommen.",
}
# The schema needs eight digits: `zvk check` of a file whose Vorlauf cannot be read
UNKNOWN_SENDER = "00000000"
TEST_SENTENCE = "Testlieferung: geprüft wie eine echte Lieferung, nichts wurde übernommen."


@dataclass(frozen=True, slots=True)
class Assigned:
    satz: int
    meldungs_id: str
    versicherungsnummer: str


@dataclass
class Verdict:
    """Everything the protocol of one delivery says."""

    delivery_id: str
    sender: str
    filename: str
    sha256: str
    received_at: datetime
    processed_at: datetime
    test: bool
    ruleset: str
    result: Result
    total: int = 0
    accepted: int = 0
    rejected: int = 0
    file_number: int | None = None
    file_kind: str | None = None
    duplicate_of: str | None = None
    # Plain lists, or rows read from the ledger as they are written (see ``Ledger.verdict``).
    findings: Sequence[Finding] = field(default_factory=list)
    assignments: Sequence[Assigned] = field(default_factory=list)
    # The delivery was checked again (zvk reprocess); an earlier protocol stays beside this one.
    rerun: bool = False


def _q(name: str) -> str:
    return f"{{{NS}}}{name}"


BERLIN = ZoneInfo("Europe/Berlin")
# Characters XML 1.0 cannot carry (and undecodable bytes of a file name, kept as surrogates).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")
MAX_NAME = 255


def printable(text: str, limit: int = MAX_NAME) -> str:
    """A sender-supplied name as it can appear in the protocol (XML-safe, bounded)."""
    cleaned = _NOT_XML.sub("?", text).replace("\n", "?").replace("\r", "?").replace("\t", " ")
    return cleaned[:limit] or "?"


def _stamp(moment: datetime) -> str:
    """Times in the protocol are the fund's local time, with their offset."""
    return moment.astimezone(BERLIN).isoformat(timespec="seconds")


def _child(name: str, text: str | None = None, **attributes: str) -> bytes:
    """One child of the root, serialised by lxml without a namespace of its own.

    It is written inside the root's default-namespace declaration, so a reader finds it in the
    protocol's namespace; serialising element by element keeps memory flat for a protocol with
    a million `Rueckmeldung` elements.
    """
    element = etree.Element(name, attributes)
    element.text = text
    return bytes(etree.tostring(element, encoding="UTF-8", xml_declaration=False))


def write_xml(verdict: Verdict, out: IO[bytes]) -> None:
    """The protocol as UTF-8 XML, valid against ``protokoll-1.xsd``, written as a stream."""
    out.write(b"<?xml version='1.0' encoding='UTF-8'?>\n")
    out.write(f'<Verarbeitungsprotokoll xmlns="{NS}" Version="1">\n'.encode())

    def line(chunk: bytes) -> None:
        out.write(b"  " + chunk + b"\n")

    def text(name: str, value: str) -> None:
        line(_child(name, value))

    text("LieferungsId", verdict.delivery_id)
    text("Absender", verdict.sender or UNKNOWN_SENDER)
    text("Dateiname", printable(verdict.filename))
    text("SHA256", verdict.sha256)
    if verdict.file_number is not None:
        text("Dateifolgenummer", str(verdict.file_number))
    if verdict.file_kind is not None:
        text("Dateiart", verdict.file_kind)
    text("Eingang", _stamp(verdict.received_at))
    text("Verarbeitet", _stamp(verdict.processed_at))
    text("Test", "true" if verdict.test else "false")
    text("Regelwerk", verdict.ruleset)
    text("Ergebnis", verdict.result.value)
    if verdict.duplicate_of is not None:
        text("Bezug", verdict.duplicate_of)
    line(
        _child(
            "Meldungen",
            Gesamt=str(verdict.total),
            Angenommen=str(verdict.accepted),
            Abgewiesen=str(verdict.rejected),
        )
    )
    for finding in verdict.findings:
        attributes = {"Code": finding.code, "Schwere": finding.severity}
        for attribute, value in (
            ("Satz", finding.satz),
            ("MeldungsId", finding.meldungs_id),
            ("Zeile", finding.line),
            ("Spalte", finding.column),
            ("Feld", finding.field),
        ):
            if value is not None:
                attributes[attribute] = str(value)
        line(_child("Befund", finding.message, **attributes))
    # One element for every Rueckmeldung, its attributes set anew each time: a protocol may
    # carry a million of them, and reusing one is cheaper than making each (docs/benchmarks.md).
    entry = etree.Element("Rueckmeldung", Satz="", MeldungsId="", Versicherungsnummer="")
    for assigned in verdict.assignments:
        entry.set("Satz", str(assigned.satz))
        entry.set("MeldungsId", assigned.meldungs_id)
        entry.set("Versicherungsnummer", assigned.versicherungsnummer)
        line(etree.tostring(entry, encoding="UTF-8", xml_declaration=False))
    out.write(b"</Verarbeitungsprotokoll>\n")


def to_xml(verdict: Verdict) -> bytes:
    """:func:`write_xml` into memory (for small protocols and ``zvk check``)."""
    buffer = io.BytesIO()
    write_xml(verdict, buffer)
    return buffer.getvalue()


def validate_xml(document: bytes) -> list[str]:
    """Schema errors of a protocol document (an empty list when it is valid)."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    schema = compiled(PROTOCOL_SCHEMA)
    tree = etree.fromstring(document, parser)
    if schema.validate(tree):
        return []
    return [f"{e.line}:{e.column} {e.message}" for e in schema.error_log]


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=False,  # plain text for people, never HTML  # noqa: S701
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _text_chunks(verdict: Verdict) -> Iterator[str]:
    template = _environment().get_template("protokoll.txt.j2")
    return template.generate(
        v=verdict,
        filename=printable(verdict.filename),
        sentence=RESULT_SENTENCES[verdict.result],
        test_sentence=TEST_SENTENCE,
        stamp=_stamp,
    )


def write_text(verdict: Verdict, out: IO[bytes]) -> None:
    """The protocol in German for a person, UTF-8, written as a stream."""
    for chunk in _text_chunks(verdict):
        out.write(chunk.encode("utf-8"))


def to_text(verdict: Verdict) -> str:
    """The protocol in German for a person."""
    return "".join(_text_chunks(verdict))
