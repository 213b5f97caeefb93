"""The corpus of hostile and broken files, with the code each must get.

``python tests/hostile.py`` rewrites ``tests/corpus/`` from this module; the tests use the
committed files. Files too big to commit (3 GB) are made at test time as sparse files.
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


def write(folder: Path = CORPUS) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, (content, _code) in corpus().items():
        if len(content) < 1_000_000:  # the big ones are made at test time
            (folder / name).write_bytes(content)


if __name__ == "__main__":
    write(Path(sys.argv[1]) if len(sys.argv) > 1 else CORPUS)
