"""Secure, streaming reading of a report file.

The file is never loaded whole: ``lxml.etree.iterparse`` hands over one top-level element at a
time, and every element is cleared and dropped once it has been checked. The parser resolves no
entities, loads no DTD and touches no network; a DOCTYPE is refused before parsing starts.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Literal

from lxml import etree

from ingest.validating.xml_messages import root_problem, syntax_message

NS = "urn:zvk-ingest:meldedatei:1"
ROOT = f"{{{NS}}}Meldedatei"
HEADER = f"{{{NS}}}Vorlauf"
TRAILER = f"{{{NS}}}Nachlauf"
REPORT_TAGS = {
    f"{{{NS}}}{name}": name
    for name in ("Anmeldung", "Abmeldung", "Jahresmeldung", "Monatsabrechnung", "Storno")
}
ALLOWED_ENCODINGS = frozenset({"utf-8", "utf8", "iso-8859-1", "latin1", "latin-1", "iso-8859-15"})
_DECLARATION = re.compile(rb"^<\?xml\s[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._-]+)[\"']")
_PROLOG_NOISE = re.compile(rb"<\?.*?\?>|<!--.*?-->|\s+", re.DOTALL)
_SNIFF_BYTES = 64 * 1024


@dataclass(frozen=True, slots=True)
class FrameProblem:
    """A problem of the file as a whole, found while reading (codes ZVDA001 to ZVDA006)."""

    code: str
    detail: str
    line: int | None = None
    column: int | None = None


def sniff(path: Path) -> FrameProblem | None:
    """Look at the first bytes: empty file, encoding, DOCTYPE."""
    with path.open("rb") as fh:
        head = fh.read(_SNIFF_BYTES)
    if not head.strip():
        return FrameProblem("ZVDA006", "die Datei ist leer")
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in head[:4]:
        return FrameProblem("ZVDA004", "UTF-16 oder UTF-32")
    body = head[3:] if head.startswith(b"\xef\xbb\xbf") else head
    declared = _DECLARATION.match(body)
    if declared:
        name = declared.group(1).decode("ascii").lower()
        if name not in ALLOWED_ENCODINGS:
            return FrameProblem("ZVDA004", f"deklariert: {declared.group(1).decode('ascii')}", 1)
    if _has_doctype(body):
        return FrameProblem("ZVDA003", "DOCTYPE im Prolog")
    return None


def _has_doctype(head: bytes) -> bool:
    position = 0
    while True:
        noise = _PROLOG_NOISE.match(head, position)
        if not noise or noise.end() == position:
            break
        position = noise.end()
    return head[position : position + 9].upper() == b"<!DOCTYPE"


ItemKind = Literal["header", "report", "trailer"]


@dataclass(slots=True)
class Item:
    """A top-level element of the file, with its report number when it is a report."""

    kind: ItemKind
    element: etree._Element
    satz: int = 0
    report_kind: str = ""


class Reader:
    """Iterates over the top-level elements and records the first frame problem."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream
        self.problem: FrameProblem | None = None
        self.reports = 0
        self.saw_header = False
        self.saw_trailer = False
        self._last: etree._Element | None = None

    def _fail(self, code: str, detail: str, line: int | None, column: int | None = None) -> None:
        if self.problem is None:
            self.problem = FrameProblem(code, detail, line, column)

    def items(self) -> Iterator[Item]:
        tags = [HEADER, TRAILER, *REPORT_TAGS]
        context = etree.iterparse(
            self._stream,
            events=("end",),
            tag=tags,
            resolve_entities=False,
            load_dtd=False,
            no_network=True,
            huge_tree=False,
            remove_blank_text=False,
            # Comments and processing instructions carry nothing for us (the schema ignores
            # them); without them in the tree the children of an element are elements only,
            # and a field's text is its whole text even where a comment stood inside it.
            remove_comments=True,
            remove_pis=True,
            recover=False,
        )
        root: etree._Element | None = None
        try:
            for _event, element in context:
                parent = element.getparent()
                if parent is None or parent.getparent() is not None:
                    continue  # nested where it does not belong: the report's schema check says so
                if root is None:
                    root = parent
                    if not self._root_ok(root):
                        return
                    if root.getroottree().docinfo.doctype:
                        self._fail("ZVDA003", "DOCTYPE", 1)
                        return
                if not self._siblings_ok(element, parent):
                    return
                item = self._classify(element)
                if item is None:
                    return
                yield item
                element.clear(keep_tail=True)
                while element.getprevious() is not None:
                    del parent[0]
                self._last = element
        except etree.XMLSyntaxError as exc:
            line, column = exc.position if exc.position else (None, None)
            self._fail("ZVDA001", _syntax_message(exc), line, column)
            return
        final_root = root if root is not None else context.root
        if final_root is None:
            self._fail("ZVDA001", "kein Wurzelelement", None)
            return
        if root is None and not self._root_ok(final_root):
            return
        if not self._siblings_ok(None, final_root):
            return
        if not self.saw_header:
            self._fail("ZVDA002", "Vorlauf fehlt", final_root.sourceline)
        elif not self.saw_trailer:
            self._fail("ZVDA002", "Nachlauf fehlt", final_root.sourceline)

    def _root_ok(self, root: etree._Element) -> bool:
        if root.tag != ROOT:
            self._fail("ZVDA002", root_problem(str(root.tag)), root.sourceline)
            return False
        extra = set(root.attrib) - {"Version"}
        if root.get("Version") != "1" or extra:
            self._fail("ZVDA002", 'Meldedatei braucht genau das Attribut Version="1"', 1)
            return False
        if (root.text or "").strip():
            self._fail("ZVDA002", "Text in Meldedatei", root.sourceline)
            return False
        return True

    def _siblings_ok(self, element: etree._Element | None, parent: etree._Element) -> bool:
        """Between the last checked element and ``element`` only comments and blanks may stand."""
        node = self._last if self._last is not None else None
        if node is not None and (node.tail or "").strip():
            self._fail("ZVDA002", "Text zwischen den Elementen", node.sourceline)
            return False
        node = node.getnext() if node is not None else (parent[0] if len(parent) else None)
        while node is not None and node is not element:
            if isinstance(node.tag, str):
                self._fail("ZVDA002", f"unerwartetes Element {_local(node.tag)}", node.sourceline)
                return False
            if (node.tail or "").strip():
                self._fail("ZVDA002", "Text zwischen den Elementen", node.sourceline)
                return False
            node = node.getnext()
        return True

    def _classify(self, element: etree._Element) -> Item | None:
        tag = element.tag
        line = element.sourceline
        if self.saw_trailer:
            self._fail("ZVDA002", f"{_local(tag)} nach dem Nachlauf", line)
            return None
        if tag == HEADER:
            if self.saw_header or self.reports:
                self._fail("ZVDA002", "Vorlauf nicht am Anfang oder doppelt", line)
                return None
            self.saw_header = True
            return Item("header", element)
        if not self.saw_header:
            self._fail("ZVDA002", "Vorlauf fehlt am Anfang", line)
            return None
        if tag == TRAILER:
            self.saw_trailer = True
            return Item("trailer", element)
        self.reports += 1
        return Item("report", element, self.reports, REPORT_TAGS[tag])


def _local(tag: object) -> str:
    text = str(tag)
    return text.rsplit("}", 1)[-1]


def _syntax_message(exc: etree.XMLSyntaxError) -> str:
    return syntax_message(str(exc.msg or exc))  # in German, without libxml2's position
