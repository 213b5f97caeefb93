"""ZVME171: a UTF-8 file declared ISO-8859-1 (or a name encoded twice by the sender's software)
must not store `MÃ¼ller` for Müller. The report is rejected, the others are committed, and a
correctly declared file with the same names passes."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

from code_helpers import committed_satz, only
from conftest import codes
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select
from zvk_inprocess import zvk_in

from ingest.samples.builder import FileBuilder
from ingest.storing.models import Person
from ingest.validating.mojibake import double_encoding


def names_file() -> FileBuilder:
    """Three Anmeldungen: Müller, Jörg Ärger (born Straße), and an ASCII name."""
    b = FileBuilder()
    b.anmeldung(1, date(2026, 10, 1)).set("Person/Familienname", "Müller")
    second = b.anmeldung(2, date(2026, 10, 1))
    second.set("Person/Familienname", "Ärger").set("Person/Vorname", "Jörg")
    second.set("Person/Geburtsname", "Straße")
    b.anmeldung(3, date(2026, 10, 1)).set("Person/Familienname", "Muster")
    return b


def declared_latin1(b: FileBuilder) -> bytes:
    """The builder's UTF-8 bytes under a declaration that says ISO-8859-1."""
    data = b.to_bytes("UTF-8")
    declaration = data[: data.index(b"?>") + 2]
    assert b"UTF-8" in declaration
    return data.replace(declaration, b"<?xml version='1.0' encoding='ISO-8859-1'?>", 1)


def test_utf8_declared_latin1_is_rejected_per_report(deliver, service) -> None:
    """Reports whose names arrive double-encoded are rejected with ZVME171 at each such name;
    the ASCII-only report is committed, and no double-encoded name is stored."""
    verdict = deliver(declared_latin1(names_file()))
    found = [(f.code, f.satz, f.field) for f in verdict.findings]
    assert found == [
        ("ZVME171", 1, "Person/Familienname"),
        ("ZVME171", 2, "Person/Familienname"),
        ("ZVME171", 2, "Person/Vorname"),
        ("ZVME171", 2, "Person/Geburtsname"),
    ], codes(verdict)
    assert verdict.result == "teilweise_abgewiesen"
    assert committed_satz(service, verdict) == {3}
    first = verdict.findings[0]
    assert (first.severity, first.scope) == ("F", "Meldung")
    assert first.message.endswith(": „Ã¼“ steht für „ü“."), first.message
    # Ä is C3 84: read as ISO-8859-1 the second byte is a control character. The finding is
    # the double encoding, not ZVME170 (which would send the sender looking for a control key).
    assert "„Ã\x84“ steht für „Ä“" in verdict.findings[1].message
    with service.sessions() as session:
        stored = list(session.scalars(select(Person.family_name)))
    assert stored == ["Muster"]


def test_correctly_declared_files_pass(deliver, service) -> None:
    """The same names in UTF-8 and in ISO-8859-1, each declared as what it is: no finding."""
    assert deliver(names_file()).result == "fehlerfrei"
    latin = FileBuilder(file_number=2)
    latin.anmeldung(4, date(2026, 10, 1)).set("Person/Familienname", "Müller-Lüdenscheidt")
    verdict = deliver(latin.to_bytes("ISO-8859-1"))
    assert verdict.result == "fehlerfrei", codes(verdict)


def test_name_encoded_twice_by_the_software(deliver, service) -> None:
    """A UTF-8 file whose software wrote the name already double-encoded (Windows-1252 misread,
    `StraÃŸe`): ZVME171 as well."""
    b = FileBuilder()
    b.anmeldung(1, date(2026, 10, 1)).set("Person/Familienname", "StraÃŸe")
    b.anmeldung(2, date(2026, 10, 1))
    verdict = deliver(b)
    f = only(verdict, "ZVME171")
    assert (f.satz, f.field) == (1, "Person/Familienname")
    assert f.message.endswith(": „ÃŸ“ steht für „ß“."), f.message


def test_zvk_check_finds_it(tmp_path: Path) -> None:
    """`zvk check` (no database) gives ZVME171 for the misdeclared file."""
    path = tmp_path / "falsch-deklariert.xml"
    path.write_bytes(declared_latin1(names_file()))
    done = zvk_in(None, "check", str(path))
    assert done.returncode == 1, done.stderr
    assert done.stdout.count("ZVME171") == 4


LOWER = "abcdefghijklmnopqrstuvwxyzäöüßéèêáàâíìîóòôúùûçñÿãõåæøœšžłńśźżčřěůýđ"
CAPITALS = "ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÜÉÅØÆÇÑŁŚŽČŘ"
# What is mistakable (see mojibake.py): a letter from Â to ô directly followed by š, ž or œ
# (and, for à to ô, by another of them). No name is known to have such a cluster; one of them
# after such a letter alone (Hášek) is no UTF-8 sequence.
MISTAKABLE = re.compile("[\u00c2-\u00df][šžœ]|[\u00e0-\u00f4][šžœ]{2}")
WORDS = st.builds(
    lambda capital, rest: capital + rest,
    st.sampled_from(CAPITALS),
    st.text(st.sampled_from(LOWER), max_size=12),
).filter(lambda word: MISTAKABLE.search(word) is None)
NAMES = st.lists(WORDS, min_size=1, max_size=3).flatmap(
    lambda words: st.sampled_from([" ", "-"]).map(lambda sep: sep.join(words))
)
REAL_NAMES = [
    *("Müller-Lüdenscheidt", "Öztürk", "Übel", "Ärger", "Çelik", "Ørsted", "Åsa", "Éva"),
    *("Łucja", "Šimek", "Žižek", "Čapek", "João", "Nuñez", "Dvořák", "Strauß", "Zoë"),
    *("Ἀθηνᾶ", "Иван", "Ævar", "Þóra", "Œuvray", "Ÿvonne", "Đorđević", "Nguyễn", "Hášek"),
]


@given(st.one_of(NAMES, st.sampled_from(REAL_NAMES)))
def test_genuine_names_are_not_double_encoded(name: str) -> None:
    """Names as they occur (a capital, then small letters; European scripts) are never taken
    for a double encoding; misread from UTF-8 as ISO-8859-1 they always are, and the repair
    gives the name back."""
    assert double_encoding(name) is None
    misread = name.encode("utf-8").decode("latin-1")
    found = double_encoding(misread)
    if name.isascii():
        assert found is None
    else:
        assert found is not None and found.repaired == name
