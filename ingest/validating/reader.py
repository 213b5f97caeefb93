"""Secure, streaming reading of a report file.

The file is never loaded whole: ``lxml.etree.iterparse`` hands over one top-level element at a
time, and every element is cleared and dropped once it has been checked. The parser resolves no
entities, loads no DTD and touches no network; a DOCTYPE is refused before parsing starts.

What one element may build is bounded before it is built: between two reads of the file (32 KiB
each) the reader compares the open top-level element with what its kind may hold (elements,
attributes, bytes; ``HEADER_LIMITS``, ``REPORT_LIMITS``, and ``BETWEEN_BYTES`` for what stands
outside them). A header or trailer beyond its bound rejects the file at once (ZVDA002), as does a
tag or comment of more than ``TAG_BYTES`` that libxml2 would build in one piece. A report beyond its
bound is rejected on its own (ZVDA010): from then on its finished parts are dropped as the parser
goes on, so the rest of the file is read as usual.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO, Literal

from lxml import etree

from ingest.validating.feed import Feed
from ingest.validating.rules_frame import FrameProblem, well_formed
from ingest.validating.xml_messages import root_problem

NS = "urn:zvk-ingest:meldedatei:1"
ROOT = f"{{{NS}}}Meldedatei"
HEADER = f"{{{NS}}}Vorlauf"
TRAILER = f"{{{NS}}}Nachlauf"
REPORT_TAGS = {
    f"{{{NS}}}{name}": name
    for name in ("Anmeldung", "Abmeldung", "Jahresmeldung", "Monatsabrechnung", "Storno")
}


@dataclass(frozen=True, slots=True)
class Limits:
    """What one top-level element may hold: elements (itself included), attributes, bytes."""

    elements: int
    attributes: int
    bytes: int


# A schema-valid header has 8 elements, a trailer 4; a report about 20 plus 7 per Abschnitt, so a
# report may hold some 290 Abschnitte, far more than the periods of one person in a year or two.
# The schema allows no attributes there. Bytes include whitespace (each run at most 4 KiB).
HEADER_LIMITS = Limits(elements=64, attributes=64, bytes=64 * 1024)
REPORT_LIMITS = Limits(elements=2048, attributes=256, bytes=16 * 1024 * 1024)
SMALL_BYTES = 16 * 1024  # an element this small is within every limit: not counted
BETWEEN_BYTES = 1024 * 1024  # outside the elements: comments, what should not be there
TAG_BYTES = 1024 * 1024  # one tag, comment or instruction, which libxml2 builds in one piece
_MOST_CHILDREN = 64  # more than any element inside a report has, by the schema


ItemKind = Literal["header", "report", "trailer"]


Position = tuple[int | None, int | None]


def _same(line: int | None, column: int | None) -> Position:
    return line, column


@dataclass(slots=True)
class Item:
    """A top-level element of the file, with its report number when it is a report.

    ``line`` is where it starts in the file; ``at`` turns a position the parser or the schema
    reports inside it into a position in the file. An ``oversized`` report is not whole (its
    parts were dropped while it was read); ``meldungs_id`` is its MeldungsId as far as read.
    """

    kind: ItemKind
    element: etree._Element
    satz: int = 0
    report_kind: str = ""
    line: int | None = None
    at: Callable[[int | None, int | None], Position] = _same
    oversized: bool = False
    meldungs_id: str | None = None


class _Stop(Exception):
    """Raised from the feed to end the parse once a frame problem is recorded."""


class Reader:
    """Iterates over the top-level elements and records the first frame problem."""

    def __init__(
        self,
        stream: IO[bytes],
        shed: Callable[[etree._Element, etree._Element], None] | None = None,
    ) -> None:
        """``shed(report, last)`` is called before the children of an oversized report but its
        last one are dropped."""
        self._feed = Feed(stream, self._between_reads)
        self._shed = shed
        self.problem: FrameProblem | None = None
        self.reports = 0
        self.saw_header = False
        self.saw_trailer = False
        self._last: etree._Element | None = None
        self._open: etree._Element | None = None  # the top-level element being read
        self._open_at = 0  # bytes fed when it started
        self._outside_at = 0  # bytes fed when the last one ended
        self._oversized = False
        self._meldungs_id: str | None = None

    def position(self, line: int | None, column: int | None = None) -> Position:
        """A position reported by the parser as a position in the file."""
        return self._feed.original(line, column)

    def _fail(self, code: str, detail: str, line: int | None, column: int | None = None) -> None:
        if self.problem is None:
            line, column = self.position(line, column)
            self.problem = FrameProblem(code, detail, line, column)

    def items(self) -> Iterator[Item]:
        try:
            yield from self._items()
        except _Stop:
            return

    def _items(self) -> Iterator[Item]:
        tags = [HEADER, TRAILER, *REPORT_TAGS]
        context = etree.iterparse(
            self._feed,
            events=("start", "end"),
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
            for event, element in context:
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
                if event == "start":
                    self._open, self._open_at = element, self._feed.fed
                    continue
                self._open, self._outside_at = None, self._feed.fed
                if not self._siblings_ok(element, parent):
                    return
                item = self._classify(element)
                if item is None:
                    return
                yield item
                self._oversized, self._meldungs_id = False, None
                element.clear(keep_tail=True)
                while element.getprevious() is not None:
                    del parent[0]
                self._last = element
        except etree.XMLSyntaxError as exc:
            problem = well_formed(exc)
            self._fail(problem.code, problem.detail, problem.line, problem.column)
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
            return self._item("header", element)
        if not self.saw_header:
            self._fail("ZVDA002", "Vorlauf fehlt am Anfang", line)
            return None
        if tag == TRAILER:
            self.saw_trailer = True
            return self._item("trailer", element)
        self.reports += 1
        return self._item("report", element, self.reports, REPORT_TAGS[tag])

    def _item(self, kind: ItemKind, element: etree._Element, satz: int = 0, name: str = "") -> Item:
        item = Item(kind, element, satz, name, self._feed.line(element.sourceline), self.position)
        if self._oversized:
            item.oversized, item.meldungs_id = True, self._meldungs_id
        return item

    # -- bounds, checked between two reads of the file ------------------------------------
    def _between_reads(self) -> None:
        """Compare the open element (or what stands outside the elements) with its bound;
        raises :class:`_Stop` once the file is rejected."""
        feed = self._feed
        element = self._open
        if feed.open_tag > TAG_BYTES:
            where = f" in {_local(element.tag)}" if element is not None else ""
            self._fail(
                "ZVDA002",
                f"ein Tag oder Kommentar{where} von mehr als {TAG_BYTES // 1024**2} MiB "
                "(zum Beispiel Tausende von Attributen)",
                element.sourceline if element is not None else feed.fed_line,
            )
            raise _Stop
        if element is None:
            if feed.fed - self._outside_at > BETWEEN_BYTES:
                self._fail(
                    "ZVDA002",
                    f"mehr als {BETWEEN_BYTES // 1024**2} MiB Inhalt außerhalb von Vorlauf, "
                    "Meldungen und Nachlauf",
                    feed.fed_line,
                )
                raise _Stop
            return
        if self._oversized:
            self._prune(element)
            return
        size = feed.fed - self._open_at
        if size <= SMALL_BYTES:
            return
        report = element.tag in REPORT_TAGS
        limits = REPORT_LIMITS if report else HEADER_LIMITS
        elements = attributes = 0
        for node in element.iter():
            elements += 1
            attributes += len(node.attrib)
        beyond = elements > limits.elements or attributes > limits.attributes or size > limits.bytes
        if not beyond:
            return
        if report:
            self._oversized = True
            found = element.findtext(f"{{{NS}}}MeldungsId")
            self._meldungs_id = (found.strip()[:36] or None) if found else None
            self._prune(element)
            return
        self._fail(
            "ZVDA002",
            f"{_local(element.tag)} hält mehr, als das Schema zulässt (mehr als "
            f"{limits.elements} Elemente, {limits.attributes} Attribute oder "
            f"{limits.bytes // 1024} KiB)",
            element.sourceline,
        )
        raise _Stop

    def _prune(self, report: etree._Element) -> None:
        """Drop the finished parts of an oversized report: every child but the last (which may
        still be open); below it, the same where an element has more children than any element
        of a report has (so that an Abschnitt stays whole until it is dropped with its sums)."""
        node = report
        while len(node):
            if len(node) > (1 if node is report else _MOST_CHILDREN):
                if node is report and self._shed is not None:
                    self._shed(report, node[-1])
                del node[:-1]
            node = node[-1]


def _local(tag: object) -> str:
    text = str(tag)
    return text.rsplit("}", 1)[-1]
