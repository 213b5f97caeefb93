"""The corpus of hostile and broken files, with the code each must get.

``python tests/hostile.py`` rewrites ``tests/corpus/`` from this module; the tests use the
committed files. Files too big to commit (3 GB) are made at test time as sparse files.
``python tests/hostile.py --big FOLDER`` writes the large hostile inputs of :data:`BIG` (tens of
MB each, made in a second) for measuring memory.
"""

from __future__ import annotations

import sys
from pathlib import Path

from ingest.samples.builder import FileBuilder

CORPUS = Path(__file__).parent / "corpus"
DECL = b'<?xml version="1.0" encoding="UTF-8"?>\n'
ROOT_OPEN = b'<Meldedatei xmlns="urn:zvk-ingest:meldedatei:1" Version="1">'


def _good() -> bytes:
    b = FileBuilder()
    b.anmeldung(1)
    b.anmeldung(2)
    return b.to_bytes()


def _with_doctype(doctype: bytes, body: bytes = b"<Meldedatei>&x;</Meldedatei>") -> bytes:
    return DECL + doctype + b"\n" + body + b"\n"


def corpus() -> dict[str, tuple[bytes, str]]:
    """File name → (content, expected finding code)."""
    good = _good()
    laughs = b"".join(b'<!ENTITY l%d "%s">' % (i, (b"&l%d;" % (i - 1)) * 10) for i in range(1, 10))
    deep = ROOT_OPEN + b"<Vorlauf>" + b"<a>" * 5000 + b"</a>" * 5000 + b"</Vorlauf></Meldedatei>"
    latin1 = _good().replace(b"M\xc3\xbcller", b"M\xfcller")
    return {
        "xxe_file.xml": (
            _with_doctype(b'<!DOCTYPE m [<!ENTITY x SYSTEM "file:///etc/passwd">]>'),
            "ZVDA003",
        ),
        "xxe_network.xml": (
            _with_doctype(b'<!DOCTYPE m [<!ENTITY x SYSTEM "http://127.0.0.1:9/x">]>'),
            "ZVDA003",
        ),
        "xxe_parameter_entity.xml": (
            _with_doctype(b'<!DOCTYPE m [<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;]>'),
            "ZVDA003",
        ),
        "billion_laughs.xml": (
            _with_doctype(
                b'<!DOCTYPE m [<!ENTITY l0 "ha">' + laughs + b"]>", b"<Meldedatei>&l9;</Meldedatei>"
            ),
            "ZVDA003",
        ),
        "quadratic_blowup.xml": (
            _with_doctype(
                b'<!DOCTYPE m [<!ENTITY x "' + b"A" * 50_000 + b'">]>',
                b"<Meldedatei>" + b"&x;" * 2_000 + b"</Meldedatei>",
            ),
            "ZVDA003",
        ),
        "external_dtd.xml": (
            _with_doctype(
                b'<!DOCTYPE Meldedatei SYSTEM "http://127.0.0.1:9/m.dtd">', good.split(b"\n", 1)[1]
            ),
            "ZVDA003",
        ),
        "doctype_only.xml": (
            _with_doctype(b"<!DOCTYPE Meldedatei>", good.split(b"\n", 1)[1]),
            "ZVDA003",
        ),
        "deep_nesting.xml": (DECL + deep, "ZVDA001"),
        "truncated.xml": (good[: len(good) * 2 // 3], "ZVDA001"),
        "empty.xml": (b"", "ZVDA006"),
        "whitespace_only.xml": (b"  \n\t\n", "ZVDA006"),
        "binary_garbage.bin": (b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 16, "ZVDA001"),
        "utf16.xml": (good.decode("utf-8").replace("UTF-8", "UTF-16").encode("utf-16"), "ZVDA004"),
        "declared_windows1252.xml": (good.replace(b"UTF-8", b"windows-1252"), "ZVDA004"),
        "latin1_declared_utf8.xml": (latin1, "ZVDA001"),
        "not_xml_at_all.txt": (b"Hallo, anbei die Meldungen.\n", "ZVDA001"),
        "wrong_root.xml": (DECL + b'<Datei xmlns="urn:zvk-ingest:meldedatei:1"/>', "ZVDA002"),
        "huge_text_node.xml": (
            good.replace(
                b"<Vorname>Max</Vorname>", b"<Vorname>" + b"x" * 11_000_000 + b"</Vorname>"
            ),
            "ZVDA001",
        ),
    }


def _parts(reports: int = 2) -> tuple[bytes, list[bytes], bytes]:
    """A good file cut into its head (up to the end of the Vorlauf), its reports (each on its own
    line, with the line break before it) and its tail (the Nachlauf and the end)."""
    b = FileBuilder()
    for number in range(1, reports + 1):
        b.anmeldung(number)
    lines = b.to_bytes().split(b"\n")
    head = b"\n".join(lines[:3])
    tail = b"\n" + b"\n".join(lines[3 + reports :])
    return head, [b"\n" + line for line in lines[3 : 3 + reports]], tail


def much_whitespace(size: int) -> bytes:
    """A valid file with ``size`` bytes of whitespace between its elements: between Vorlauf and
    the first report (blanks on one line), inside the first report between two of its children
    (line breaks), and before the Nachlauf (mixed)."""
    head, (first, second), tail = _parts()
    first = first.replace(b"</Person>", b"</Person>" + b"\n" * size)
    mixed = b" \t\r\n  " * (size // 6)
    return head + b" " * size + first + second + mixed + tail


def header_of_elements(count: int) -> bytes:
    """``count`` empty elements inside the Vorlauf (4 bytes each)."""
    head, reports, tail = _parts()
    return head.replace(b"</Vorlauf>", b"<a/>" * count + b"</Vorlauf>") + b"".join(reports) + tail


def report_of_elements(size: int) -> bytes:
    """About ``size`` bytes of nested elements inside the first of two reports."""
    head, (first, second), tail = _parts()
    junk = b"<a><b/><c/></a>" * (size // 15)
    return head + first.replace(b"</Person>", b"</Person>" + junk) + second + tail


def report_of_attributes(size: int) -> bytes:
    """One element with about ``size`` bytes of attributes inside the first report."""
    head, (first, second), tail = _parts()
    attributes = b" ".join(b'a%d=""' % number for number in range(size // 8))
    junk = b"<x " + attributes + b"/>"
    return head + first.replace(b"</Person>", b"</Person>" + junk) + second + tail


def empty_reports(count: int) -> bytes:
    """``count`` empty Anmeldungen: each a schema error of its own."""
    head, _reports, tail = _parts(0)
    tail = tail.replace(b"<AnzahlMeldungen>0<", b"<AnzahlMeldungen>%d<" % count)
    return head + b"\n<Anmeldung/>" * count + tail


# name -> (content, the code the file gets): the inputs whose memory docs/benchmarks.md reports
BIG = {
    "whitespace_50mb.xml": (lambda: much_whitespace(16_700_000), "fehlerfrei"),
    "header_6m_elements.xml": (lambda: header_of_elements(6_000_000), "ZVDA002"),
    "report_12mb_elements.xml": (lambda: report_of_elements(12_000_000), "ZVDA010"),
    "report_4mb_attributes.xml": (lambda: report_of_attributes(4_300_000), "ZVDA002"),
    "empty_anmeldungen_600k.xml": (lambda: empty_reports(600_000), "ZVDA010"),
}


def write_big(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, (make, _code) in BIG.items():
        (folder / name).write_bytes(make())


def write(folder: Path = CORPUS) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, (content, _code) in corpus().items():
        if len(content) < 1_000_000:  # the big ones are made at test time
            (folder / name).write_bytes(content)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--big"]:
        write_big(Path(sys.argv[2]))
    else:
        write(Path(sys.argv[1]) if len(sys.argv) > 1 else CORPUS)
