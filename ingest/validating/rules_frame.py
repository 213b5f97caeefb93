"""Rules of the file as a whole (scope FRAME): size, first bytes, XML, the schema of the frame.

Each rule gives one code at the stage of reading where it can be known; the first problem
found ends the file:

* ZVDA005 before anything is read, from the size alone;
* ZVDA006, ZVDA004, ZVDA003 from the first 64 KiB (:func:`sniff`);
* ZVDA001 from the parser's error (:class:`~ingest.validating.reader.Reader` calls
  :func:`well_formed`);
* ZVDA002 from the schema of the Vorlauf and Nachlauf (:func:`frame_schema`); the reader gives
  the same code for a frame it cannot read on (wrong root, order, or an element beyond its bound).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from lxml import etree

from ingest.validating.findings import Catalogue, Finding, Findings
from ingest.validating.registry import Scope, rule
from ingest.validating.schema import SchemaError, validate_element
from ingest.validating.xml_messages import syntax_message

if TYPE_CHECKING:
    from ingest.validating.reader import Item

ALLOWED_ENCODINGS = frozenset({"utf-8", "utf8", "iso-8859-1", "latin1", "latin-1", "iso-8859-15"})
_DECLARATION = re.compile(rb"^<\?xml\s[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._-]+)[\"']")
_PROLOG_NOISE = re.compile(rb"<\?.*?\?>|<!--.*?-->|\s+", re.DOTALL)
_SNIFF_BYTES = 64 * 1024
_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True, slots=True)
class FrameProblem:
    """A problem of the file as a whole, found while reading (codes ZVDA001 to ZVDA006)."""

    code: str
    detail: str
    line: int | None = None
    column: int | None = None

    def add_to(self, out: Findings) -> None:
        """Add this problem as the file's finding."""
        out.add(self.code, self.detail, line=self.line, column=self.column)


@rule("ZVDA005", Scope.FRAME)
def within_size(size: int, limit: int) -> FrameProblem | None:
    """The file is no larger than the configured limit (`intake.max_file_bytes`)."""
    if size > limit:
        return FrameProblem("ZVDA005", f"{size} Bytes, erlaubt {limit}")
    return None


@rule("ZVDA006", Scope.FRAME)
def not_empty(head: bytes) -> FrameProblem | None:
    """The file has content (intake gives the same code to a transfer that broke off)."""
    if not head.strip():
        return FrameProblem("ZVDA006", "die Datei ist leer")
    return None


@rule("ZVDA004", Scope.FRAME)
def encoding_allowed(head: bytes) -> FrameProblem | None:
    """The file is in UTF-8, ISO-8859-1 or ISO-8859-15 (byte-order mark and declaration)."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in head[:4]:
        return FrameProblem("ZVDA004", "UTF-16 oder UTF-32")
    declared = _DECLARATION.match(head.removeprefix(_BOM))
    if declared and declared.group(1).decode("ascii").lower() not in ALLOWED_ENCODINGS:
        return FrameProblem("ZVDA004", f"deklariert: {declared.group(1).decode('ascii')}", 1)
    return None


@rule("ZVDA003", Scope.FRAME)
def no_doctype(head: bytes) -> FrameProblem | None:
    """The prolog has no DOCTYPE (the reader refuses one found later with the same code)."""
    body = head.removeprefix(_BOM)
    position = 0
    while True:
        noise = _PROLOG_NOISE.match(body, position)
        if not noise or noise.end() == position:
            break
        position = noise.end()
    if body[position : position + 9].upper() == b"<!DOCTYPE":
        return FrameProblem("ZVDA003", "DOCTYPE im Prolog")
    return None


_HEAD_RULES = (not_empty, encoding_allowed, no_doctype)


def sniff(path: Path) -> FrameProblem | None:
    """The first problem the rules on the first bytes find: empty file, encoding, DOCTYPE."""
    with path.open("rb") as fh:
        head = fh.read(_SNIFF_BYTES)
    for check in _HEAD_RULES:
        problem = check(head)
        if problem is not None:
            return problem
    return None


@rule("ZVDA001", Scope.FRAME)
def well_formed(error: etree.XMLSyntaxError) -> FrameProblem:
    """The file is well-formed XML: the parser's first error, in German, at its position."""
    line, column = error.position if error.position else (None, None)
    return FrameProblem("ZVDA001", syntax_message(str(error.msg or error)), line, column)


@rule("ZVDA002", Scope.FRAME)
def frame_schema(item: Item, catalogue: Catalogue) -> list[Finding] | None:
    """The Vorlauf and the Nachlauf follow the schema; their findings, None when they do."""
    errors = validate_element(item.element)
    if not errors:
        return None
    out = Findings(catalogue, prefix=_FRAME_PARTS[item.kind])
    add_schema_errors(item, errors, "ZVDA002", out)
    return out.items


_FRAME_PARTS = {"header": "Vorlauf", "trailer": "Nachlauf"}


def add_schema_errors(item: Item, errors: list[SchemaError], code: str, out: Findings) -> None:
    """A finding ``code`` for each schema error of ``item``, at its field and position."""
    for error in errors:
        line, column = item.at(error.line, error.column)
        out.add(code, error.message, error.field, line=line, column=column)
