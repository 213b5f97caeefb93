"""A builder for report files (``Meldedatei``), valid by default and easy to corrupt.

Reports are small trees of :class:`Node`; ``set`` and ``drop`` change one field by path
(``Person/RVNR``, ``Abschnitt[2]/Betrag``) and keep the element order the schema demands, so a
test can say exactly which single field it breaks. Files are written with lxml's incremental
writer, so a file of a million reports never sits in memory as a whole.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import IO, Self

from lxml import etree

from ingest.validating.identifiers import rvnr_check_digit
from ingest.validating.reader import NS

ORDER: dict[str, list[str]] = {
    "Vorlauf": [
        "Absender",
        "Dateifolgenummer",
        "Erstellt",
        "Dateiart",
        "Zeitraum",
        "Test",
        "Software",
    ],
    "Person": [
        "Versicherungsnummer",
        "RVNR",
        "Familienname",
        "Vorname",
        "Geburtsname",
        "Geburtsdatum",
        "Geschlecht",
        "Personalnummer",
    ],
    "Abschnitt": ["Beginn", "Ende", "Buchungsschluessel", "Entgelt", "Betrag", "Kinderzahl"],
}
SENDER = "66667777"
MEMBER = "100001"
OFFICE = "001"
_FAMILY = ["Muster", "Schmidt", "Müller", "Schneider", "Fischer", "Weber", "Meyer", "Wagner"]
_GIVEN_F = ["Erika", "Anna", "Maria", "Sophie", "Lena", "Jana", "Petra", "Ute"]
_GIVEN_M = ["Max", "Paul", "Jonas", "Lukas", "Peter", "Uwe", "Jörg", "Sven"]
_AREAS = ["65", "15", "12", "38", "53", "04", "24", "42"]


class Node:
    """An element with text or children; children keep their order."""

    __slots__ = ("children", "name", "text")

    def __init__(self, name: str, text: str | None = None, children: Iterable[Node] = ()) -> None:
        self.name = name
        self.text = text
        self.children = list(children)

    def _step(self, step: str, create: bool) -> Node | None:
        name, _, rest = step.partition("[")
        index = int(rest[:-1]) if rest else 1
        matches = [c for c in self.children if c.name == name]
        if len(matches) >= index:
            return matches[index - 1]
        if not create:
            return None
        node = Node(name)
        order = ORDER.get(self.name, [])
        position = len(self.children)
        if name in order:
            later = set(order[order.index(name) + 1 :])
            position = next(
                (i for i, c in enumerate(self.children) if c.name in later), len(self.children)
            )
        self.children.insert(position, node)
        return node

    def find(self, path: str) -> Node | None:
        node: Node | None = self
        for step in path.split("/"):
            if node is None:
                return None
            node = node._step(step, create=False)
        return node

    def get(self, path: str) -> str | None:
        node = self.find(path)
        return node.text if node else None

    def set(self, path: str, text: str | int | Decimal | date) -> Self:
        """Set a field, creating it at its schema position when it is missing."""
        node: Node = self
        for step in path.split("/"):
            found = node._step(step, create=True)
            assert found is not None
            node = found
        node.text = str(text)
        return self

    def drop(self, path: str) -> Self:
        parent_path, _, last = path.rpartition("/")
        parent = self.find(parent_path) if parent_path else self
        if parent is not None:
            target = parent._step(last, create=False)
            if target is not None:
                parent.children.remove(target)
        return self

    def add(self, child: Node) -> Self:
        self.children.append(child)
        return self

    def write(self, xf: etree._IncrementalFileWriter) -> None:
        element = etree.Element(f"{{{NS}}}{self.name}", nsmap={None: NS})
        self._fill(element)
        xf.write("\n  ")
        xf.write(element)

    def _fill(self, element: etree._Element) -> None:
        if self.text is not None:
            element.text = self.text
        for child in self.children:
            sub = etree.SubElement(element, f"{{{NS}}}{child.name}")
            child._fill(sub)


def make_rvnr(area: str, born: date, letter: str, serial: int) -> str:
    """A valid RVNR for the given parts (serial 00-49 male, 50-99 female)."""
    first = f"{area}{born:%d%m%y}{letter}{serial:02d}"
    return first + str(rvnr_check_digit(first))


@dataclass(frozen=True)
class PersonSeed:
    """A valid, reproducible person for index ``n``."""

    n: int

    @property
    def female(self) -> bool:
        return self.n % 2 == 0

    @property
    def birth_date(self) -> date:
        return date(1966 + self.n % 30, 1 + self.n % 12, 1 + self.n % 28)

    @property
    def family_name(self) -> str:
        return _FAMILY[self.n % len(_FAMILY)]

    @property
    def first_name(self) -> str:
        names = _GIVEN_F if self.female else _GIVEN_M
        return names[(self.n // 2) % len(names)]

    @property
    def rvnr(self) -> str:
        serial = (self.n // 64) % 50 + (50 if self.female else 0)
        letter = self.family_name[0].upper().replace("Ü", "U")
        return make_rvnr(_AREAS[(self.n // 2) % len(_AREAS)], self.birth_date, letter, serial)


def person_node(seed: PersonSeed | int, *, with_rvnr: bool = True) -> Node:
    p = seed if isinstance(seed, PersonSeed) else PersonSeed(seed)
    node = Node("Person")
    if with_rvnr:
        node.set("RVNR", p.rvnr)
    node.set("Familienname", p.family_name).set("Vorname", p.first_name)
    node.set("Geburtsdatum", p.birth_date.isoformat()).set("Geschlecht", "W" if p.female else "M")
    return node


def period_node(
    begin: date,
    end: date,
    key: str = "011011",
    pay: Decimal | str = "30000.00",
    amount: Decimal | str | None = None,
    children: int | None = None,
) -> Node:
    pay_d = Decimal(pay)
    if amount is None:
        merkmal = key[2:4]
        rate = {"10": Decimal("1.60"), "20": Decimal("4.86")}.get(merkmal, Decimal(0))
        amount = (pay_d * rate / 100).quantize(Decimal("0.01"))
    node = Node("Abschnitt")
    node.set("Beginn", begin.isoformat()).set("Ende", end.isoformat())
    node.set("Buchungsschluessel", key).set("Entgelt", f"{pay_d:.2f}")
    node.set("Betrag", f"{Decimal(amount):.2f}")
    if children is not None:
        node.set("Kinderzahl", children)
    return node


class FileBuilder:
    """A Meldedatei under construction; ``to_bytes`` or ``write`` produce the file."""

    def __init__(
        self,
        *,
        sender: str = SENDER,
        file_number: int = 1,
        kind: str = "Monatsmeldung",
        period: str = "2026-10",
        created: datetime | None = None,
        test: bool | None = None,
        software: str | None = "zvk-ingest Beispieldaten 1.0",
        member: str = MEMBER,
        office: str = OFFICE,
    ) -> None:
        self.header = Node("Vorlauf")
        self.header.set("Absender", sender).set("Dateifolgenummer", file_number)
        stamp = created or datetime(2026, 11, 2, 9, 30)
        self.header.set("Erstellt", stamp.isoformat(timespec="seconds"))
        self.header.set("Dateiart", kind).set("Zeitraum", period)
        if test is not None:
            self.header.set("Test", "true" if test else "false")
        if software:
            self.header.set("Software", software)
        self.member, self.office = member, office
        self.reports: list[Node] = []
        self.trailer_overrides: dict[str, str] = {}
        self._next_id = 1

    # -- reports --------------------------------------------------------------------------
    def _start(
        self, kind: str, meldungs_id: str | None, member: str | None, office: str | None
    ) -> Node:
        if meldungs_id is None:
            meldungs_id = f"M{self.header.get('Dateifolgenummer')}-{self._next_id:06d}"
        self._next_id += 1
        node = Node(kind)
        node.set("MeldungsId", meldungs_id)
        node.set("Mitgliedsnummer", member or self.member)
        node.set("Abrechnungsstelle", office or self.office)
        self.reports.append(node)
        return node

    def anmeldung(
        self,
        person: PersonSeed | int = 1,
        begin: date = date(2026, 10, 1),
        *,
        meldungs_id: str | None = None,
        member: str | None = None,
        office: str | None = None,
        with_rvnr: bool = True,
    ) -> Node:
        node = self._start("Anmeldung", meldungs_id, member, office)
        node.add(person_node(person, with_rvnr=with_rvnr))
        return node.set("Beginn", begin.isoformat())

    def abmeldung(
        self,
        person: PersonSeed | int = 1,
        end: date = date(2026, 10, 31),
        reason: str = "13",
        *,
        periods: Iterable[Node] = (),
        meldungs_id: str | None = None,
        member: str | None = None,
        office: str | None = None,
    ) -> Node:
        node = self._start("Abmeldung", meldungs_id, member, office)
        node.add(person_node(person)).set("Ende", end.isoformat()).set("Abmeldegrund", reason)
        for period in periods:
            node.add(period)
        return node

    def jahresmeldung(
        self,
        person: PersonSeed | int = 1,
        periods: Iterable[Node] | None = None,
        *,
        meldungs_id: str | None = None,
        member: str | None = None,
        office: str | None = None,
    ) -> Node:
        year = int(str(self.header.get("Zeitraum"))[:4])
        node = self._start("Jahresmeldung", meldungs_id, member, office)
        node.add(person_node(person))
        for period in (
            periods if periods is not None else [period_node(date(year, 1, 1), date(year, 12, 31))]
        ):
            node.add(period)
        return node

    def monatsabrechnung(
        self,
        month: str | None = None,
        insured: int = 0,
        pay: str = "30000.00",
        levy: str = "480.00",
        additional: str = "1458.00",
        restructuring: str = "0.00",
        total: str | None = None,
        *,
        meldungs_id: str | None = None,
        member: str | None = None,
        office: str | None = None,
    ) -> Node:
        node = self._start("Monatsabrechnung", meldungs_id, member, office)
        node.set("Monat", month or str(self.header.get("Zeitraum")))
        node.set("AnzahlVersicherte", insured).set("Entgelt", pay).set("Umlage", levy)
        node.set("Zusatzbeitrag", additional).set("Sanierungsgeld", restructuring)
        computed = Decimal(levy) + Decimal(additional) + Decimal(restructuring)
        return node.set("Gesamtbetrag", total if total is not None else f"{computed:.2f}")

    def storno(
        self,
        reference: str,
        *,
        meldungs_id: str | None = None,
        member: str | None = None,
        office: str | None = None,
    ) -> Node:
        return self._start("Storno", meldungs_id, member, office).set("Bezug", reference)

    # -- output ---------------------------------------------------------------------------
    def trailer(self) -> Node:
        pay = Decimal(0)
        amount = Decimal(0)
        for report in self.reports:
            for child in report.children:
                if child.name == "Abschnitt":
                    pay += Decimal(child.get("Entgelt") or 0)
                    amount += Decimal(child.get("Betrag") or 0)
            if report.name == "Monatsabrechnung":
                pay += Decimal(report.get("Entgelt") or 0)
                amount += Decimal(report.get("Gesamtbetrag") or 0)
        node = Node("Nachlauf")
        node.set(
            "AnzahlMeldungen", self.trailer_overrides.get("AnzahlMeldungen", len(self.reports))
        )
        node.set("SummeEntgelt", self.trailer_overrides.get("SummeEntgelt", f"{pay:.2f}"))
        node.set("SummeBetrag", self.trailer_overrides.get("SummeBetrag", f"{amount:.2f}"))
        return node

    def write_to(self, stream: IO[bytes], encoding: str = "UTF-8") -> None:
        with etree.xmlfile(stream, encoding=encoding) as xf:
            xf.write_declaration()
            with xf.element(f"{{{NS}}}Meldedatei", nsmap={None: NS}, Version="1"):
                self.header.write(xf)
                for report in self.reports:
                    report.write(xf)
                self.trailer().write(xf)
                xf.write("\n")

    def to_bytes(self, encoding: str = "UTF-8") -> bytes:
        buffer = io.BytesIO()
        self.write_to(buffer, encoding)
        return buffer.getvalue()

    def write(self, path: Path, encoding: str = "UTF-8") -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as fh:
            self.write_to(fh, encoding)
        return path
