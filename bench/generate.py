"""Realistic report files for the ingest benchmark, written in one streaming pass.

An *annual* file (`Dateiart` Jahresmeldung) holds one `Jahresmeldung` per person with two
insurance periods over the whole year (levy 10 and additional contribution 20); a *monthly* file
(`Dateiart` Monatsmeldung, January of the year) holds the `Anmeldung` of every person from
1 January, which is what an annual file of the same persons rests on. Person ``i`` is the same
person in both kinds, with an RVNR unique up to 13 million persons; the reports are spread over
the billing offices ``001`` … ``--offices`` of one member.

``--faulty-share`` of the reports carry one fault each, in turn: a schema error (ZVDA010), a
wrong RVNR check digit (ZVME088), an unknown booking key (ZVVA030), a MeldungsId already used
earlier in the file (ZVME061) and, in an annual file, a person the fund does not know (ZVME141)
or, in a monthly file, a person too young to be insured (ZVME120).

The file is written with lxml's incremental writer through the sample builder, one report at a
time, so a file of a million reports never sits in memory.

    .venv/bin/python bench/generate.py --reports 100000 --kind annual --output bench/out/jm.xml
"""

from __future__ import annotations

import argparse
import random
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from lxml import etree

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from ingest.samples.builder import (  # noqa: E402  (the repository root is put on the path first)
    FileBuilder,
    Node,
    make_rvnr,
    period_node,
)
from ingest.validating.reader import NS  # noqa: E402

SENDER = "66667777"
MEMBER = "100001"
FAMILY = (
    "Becker",
    "Fischer",
    "Hoffmann",
    "Jung",
    "Koch",
    "Lange",
    "Müller",
    "Neumann",
    "Richter",
    "Schmidt",
    "Wagner",
    "Zimmermann",
)
GIVEN_F = ("Anna", "Erika", "Jana", "Lena", "Maria", "Petra", "Sophie", "Ute")
GIVEN_M = ("Jonas", "Jörg", "Lukas", "Max", "Paul", "Peter", "Sven", "Uwe")
AREAS = ("12", "15", "24", "38", "42", "53", "65", "04")
BIRTH_DAYS = 10950  # 30 years of birth dates, from 1 January 1966
FAULTS = ("schema", "check_digit", "booking_key", "duplicate_id", "state")


@dataclass(frozen=True, slots=True)
class BenchPerson:
    """Person ``n`` of the benchmark population; its RVNR is unique for n < 13,140,000."""

    n: int

    @property
    def _rest(self) -> int:
        return self.n // BIRTH_DAYS

    @property
    def female(self) -> bool:
        return self._rest % 2 == 0

    @property
    def birth_date(self) -> date:
        return date(1966, 1, 1) + timedelta(days=self.n % BIRTH_DAYS)

    @property
    def family_name(self) -> str:
        return FAMILY[(self._rest // 100) % len(FAMILY)]

    @property
    def first_name(self) -> str:
        names = GIVEN_F if self.female else GIVEN_M
        return names[self.n % len(names)]

    @property
    def rvnr(self) -> str:
        serial = (self._rest // 2) % 50 + (50 if self.female else 0)
        letter = self.family_name[0].replace("Ü", "U")
        return make_rvnr(AREAS[self.n % len(AREAS)], self.birth_date, letter, serial)

    def node(self) -> Node:
        node = Node("Person").set("RVNR", self.rvnr)
        node.set("Familienname", self.family_name).set("Vorname", self.first_name)
        node.set("Geburtsdatum", self.birth_date.isoformat())
        return node.set("Geschlecht", "W" if self.female else "M")


@dataclass(frozen=True)
class Plan:
    """What to generate."""

    reports: int
    kind: str  # "annual" or "monthly"
    year: int
    faulty_share: float = 0.01
    seed: int = 1
    file_number: int = 1
    offices: int = 10
    sender: str = SENDER
    member: str = MEMBER
    first_person: int = 0  # person index of the first report


def faulty_indices(plan: Plan) -> set[int]:
    """The reports that carry a fault (the same for the same seed)."""
    count = round(plan.reports * plan.faulty_share)
    return set(random.Random(plan.seed).sample(range(plan.reports), count))


def _report(builder: FileBuilder, plan: Plan, i: int, fault: str | None) -> Node:
    n = plan.first_person + i
    person = BenchPerson(plan.first_person + plan.reports + i if fault == "state" else n).node()
    meldungs_id = f"B{plan.file_number}-{i - 1 if fault == 'duplicate_id' and i else i:07d}"
    office = f"{1 + n % plan.offices:03d}"
    year = plan.year
    if plan.kind == "annual":  # fault "state": a person the fund does not know (ZVME141)
        pay = Decimal(24000 + (n % 400) * 100)
        periods = [
            period_node(date(year, 1, 1), date(year, 12, 31), "011001", pay),
            period_node(date(year, 1, 1), date(year, 12, 31), "012001", pay),
        ]
        node = builder.jahresmeldung(periods=periods, meldungs_id=meldungs_id, office=office)
    else:
        node = builder.anmeldung(begin=date(year, 1, 1), meldungs_id=meldungs_id, office=office)
        if fault == "state":  # younger than 17 at Beginn (ZVME120)
            person = _young(date(year - 15, 6, 1))
    builder.reports.clear()
    node.children = [person if c.name == "Person" else c for c in node.children]
    _break(node, fault)
    return node


def _young(born: date) -> Node:
    rvnr = make_rvnr("65", born, "B", 1)
    node = Node("Person").set("RVNR", rvnr).set("Familienname", "Becker")
    node.set("Vorname", "Max").set("Geburtsdatum", born.isoformat())
    return node.set("Geschlecht", "M")


def _break(node: Node, fault: str | None) -> None:
    if fault == "schema":
        node.set("Person/Geschlecht", "Q")
    elif fault == "check_digit":
        rvnr = str(node.get("Person/RVNR"))
        node.set("Person/RVNR", rvnr[:11] + str((int(rvnr[11]) + 1) % 10))
    elif fault == "booking_key" and node.find("Abschnitt") is not None:
        node.set("Abschnitt[1]/Buchungsschluessel", "019901")
    elif fault == "booking_key":
        node.set("Person/RVNR", "77" + str(node.get("Person/RVNR"))[2:])  # interim: ZVME090


def reports(plan: Plan, builder: FileBuilder) -> Iterator[Node]:
    """The report nodes in file order, one at a time."""
    faulty = faulty_indices(plan)
    fault_no = 0
    for i in range(plan.reports):
        fault = None
        if i in faulty:
            fault = FAULTS[fault_no % len(FAULTS)]
            fault_no += 1
        yield _report(builder, plan, i, fault)


def _sums(node: Node) -> tuple[Decimal, Decimal]:
    pay = amount = Decimal(0)
    for child in node.children:
        if child.name == "Abschnitt":
            pay += Decimal(child.get("Entgelt") or 0)
            amount += Decimal(child.get("Betrag") or 0)
    return pay, amount


def generate(plan: Plan, path: Path) -> Path:
    """Write the file of ``plan`` to ``path`` in one streaming pass."""
    kind = "Jahresmeldung" if plan.kind == "annual" else "Monatsmeldung"
    period = str(plan.year) if plan.kind == "annual" else f"{plan.year}-01"
    builder = FileBuilder(
        sender=plan.sender,
        file_number=plan.file_number,
        kind=kind,
        period=period,
        created=datetime.now(UTC).replace(tzinfo=None) - timedelta(hours=1),
        software="zvk-ingest bench/generate.py",
        member=plan.member,
    )
    total_pay = total_amount = Decimal(0)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fh, etree.xmlfile(fh, encoding="UTF-8", buffered=True) as xf:
        xf.write_declaration()
        with xf.element(f"{{{NS}}}Meldedatei", nsmap={None: NS}, Version="1"):
            builder.header.write(xf)
            for node in reports(plan, builder):
                pay, amount = _sums(node)
                total_pay += pay
                total_amount += amount
                node.write(xf)
            trailer = Node("Nachlauf").set("AnzahlMeldungen", plan.reports)
            trailer.set("SummeEntgelt", f"{total_pay:.2f}")
            trailer.set("SummeBetrag", f"{total_amount:.2f}").write(xf)
            xf.write("\n")
    return path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reports", type=int, required=True, help="number of reports")
    parser.add_argument("--kind", choices=("annual", "monthly"), default="annual")
    parser.add_argument("--faulty-share", type=float, default=0.01, help="e.g. 0.01 for 1 %%")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--year", type=int, default=datetime.now(UTC).year - 1)
    parser.add_argument("--file-number", type=int, default=1, help="Dateifolgenummer")
    parser.add_argument("--offices", type=int, default=10, help="billing offices 001 …")
    parser.add_argument("--first-person", type=int, default=0, help="person of the 1st report")
    parser.add_argument("--output", type=Path, required=True)
    args = parser.parse_args(argv)
    plan = Plan(
        reports=args.reports,
        kind=args.kind,
        year=args.year,
        faulty_share=args.faulty_share,
        seed=args.seed,
        file_number=args.file_number,
        offices=args.offices,
        first_person=args.first_person,
    )
    generate(plan, args.output)
    print(f"{args.output}: {plan.reports} reports, {args.output.stat().st_size} bytes")


if __name__ == "__main__":
    main()
