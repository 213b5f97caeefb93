"""A realistic year of one fund, for tests and demonstrations: report files and a bank statement.

Every billing office gets a few hundred persons; most are insured all year, some join during the
year, some leave (an Abmeldung reports their periods), some take parental leave in the second
half. Twelve Monatsmeldung files per sender (registrations, deregistrations and one
Monatsabrechnung per office and month) and one Jahresmeldung file follow, all consistent: the
Monatsabrechnungen add up to the Jahresmeldungen to the cent (pays are multiples of 50 EUR, so
1.60 % and 4.86 % of them are exact). :meth:`SampleYear.camt053` writes the bank statement of
the year's payments, with the anomalies a test plants.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from lxml import etree

from ingest.samples.builder import FileBuilder, Node, period_node

LEVY, ADDITIONAL = Decimal("0.016"), Decimal("0.0486")
ACCOUNT = "DE02120300000000202051"
Key = tuple[str, str, str]  # (Mitgliedsnummer, Abrechnungsstelle, YYYY-MM)


@dataclass(frozen=True, slots=True)
class OfficePlan:
    sender: str
    member: str
    office: str
    persons: int
    first_seed: int


@dataclass(frozen=True, slots=True)
class PlannedPerson:
    seed: int
    plan: OfficePlan
    begin_month: int
    end_month: int | None  # leaves at the end of this month
    parental_from: int | None  # parental leave (one child) from this month to December
    monthly_pay: Decimal

    def insured(self, month: int) -> bool:
        return self.begin_month <= month and (self.end_month is None or month <= self.end_month)

    def pay(self, month: int) -> Decimal:
        if not self.insured(month) or (self.parental_from and month >= self.parental_from):
            return Decimal(0)
        return self.monthly_pay


def _cents(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"))


@dataclass(frozen=True, slots=True)
class Figures:
    insured: int
    pay: Decimal
    levy: Decimal
    additional: Decimal

    @property
    def total(self) -> Decimal:
        return self.levy + self.additional


class SampleYear:
    """The reports and payments of one year for the given offices."""

    def __init__(self, year: int, offices: list[OfficePlan]) -> None:
        self.year = year
        self.offices = offices
        self.persons = [self._plan(plan, i) for plan in offices for i in range(plan.persons)]

    @staticmethod
    def _plan(plan: OfficePlan, i: int) -> PlannedPerson:
        begin, end, parental = 1, None, None
        if i % 17 == 5:
            begin = 2 + i % 11
        elif i % 19 == 7:
            end = 1 + i % 11
        elif i % 23 == 3:
            parental = 7
        pay = Decimal(2000 + 50 * (i % 40))
        return PlannedPerson(plan.first_seed + i, plan, begin, end, parental, pay)

    # -- figures --------------------------------------------------------------------------
    def figures(self, plan: OfficePlan, month: int) -> Figures:
        people = [p for p in self.persons if p.plan == plan and p.insured(month)]
        pay = sum((p.pay(month) for p in people), Decimal(0))
        return Figures(
            insured=len(people),
            pay=pay,
            levy=sum((_cents(p.pay(month) * LEVY) for p in people), Decimal(0)),
            additional=sum((_cents(p.pay(month) * ADDITIONAL) for p in people), Decimal(0)),
        )

    def totals(self) -> dict[Key, Decimal]:
        """What each office owes for each month (the Gesamtbetrag)."""
        return {
            (plan.member, plan.office, f"{self.year}-{m:02d}"): self.figures(plan, m).total
            for plan in self.offices
            for m in range(1, 13)
        }

    # -- report files ---------------------------------------------------------------------
    def senders(self) -> list[str]:
        return list(dict.fromkeys(plan.sender for plan in self.offices))

    def files(self) -> list[tuple[str, FileBuilder]]:
        """Every file in delivery order: (sender, file); per sender twelve months, then the year."""
        return [
            (sender, builder)
            for sender in self.senders()
            for builder in [
                *(self.monthly_file(sender, m) for m in range(1, 13)),
                self.annual_file(sender),
            ]
        ]

    def person(self, plan_index: int, i: int) -> PlannedPerson:
        """The ``i``-th person of the ``plan_index``-th office."""
        plan = self.offices[plan_index]
        return next(p for p in self.persons if p.plan == plan and p.seed == plan.first_seed + i)

    def monthly_file(self, sender: str, month: int) -> FileBuilder:
        following = date(self.year + month // 12, month % 12 + 1, 3)
        b = FileBuilder(
            sender=sender,
            file_number=month,
            period=f"{self.year}-{month:02d}",
            created=datetime.combine(following, datetime.min.time()) + timedelta(hours=9),
        )
        for p in self.persons:
            if p.plan.sender != sender:
                continue
            member, office = p.plan.member, p.plan.office
            if p.begin_month == month:
                b.anmeldung(p.seed, date(self.year, month, 1), member=member, office=office)
            if p.end_month == month:
                end, periods = self._last_day(month), self._periods(p)
                b.abmeldung(p.seed, end, "13", periods=periods, member=member, office=office)
        for plan in self.offices:
            if plan.sender == sender:
                f = self.figures(plan, month)
                b.monatsabrechnung(
                    f"{self.year}-{month:02d}",
                    insured=f.insured,
                    pay=f"{f.pay:.2f}",
                    levy=f"{f.levy:.2f}",
                    additional=f"{f.additional:.2f}",
                    member=plan.member,
                    office=plan.office,
                )
        return b

    def annual_file(self, sender: str, file_number: int = 13) -> FileBuilder:
        b = FileBuilder(
            sender=sender,
            file_number=file_number,
            kind="Jahresmeldung",
            period=str(self.year),
            created=datetime(self.year + 1, 1, 20, 9, 30),
        )
        for p in self.persons:
            if p.plan.sender == sender and p.end_month is None:
                b.jahresmeldung(
                    p.seed, self._periods(p), member=p.plan.member, office=p.plan.office
                )
        return b

    def _last_day(self, month: int) -> date:
        return date(self.year + month // 12, month % 12 + 1, 1) - timedelta(days=1)

    def _periods(self, p: PlannedPerson) -> list[Node]:
        last_paid = (p.parental_from - 1) if p.parental_from else (p.end_month or 12)
        begin, end = date(self.year, p.begin_month, 1), self._last_day(last_paid)
        pay = sum((p.pay(m) for m in range(1, 13)), Decimal(0))
        periods = [
            period_node(begin, end, "011011", f"{pay:.2f}", f"{_cents(pay * LEVY):.2f}"),
            period_node(begin, end, "012001", f"{pay:.2f}", f"{_cents(pay * ADDITIONAL):.2f}"),
        ]
        if p.parental_from:
            leave = date(self.year, p.parental_from, 1)
            periods.append(period_node(leave, self._last_day(12), "012800", "0", "0", children=1))
        return periods

    # -- the bank statement ---------------------------------------------------------------
    def camt053(
        self,
        *,
        missing: frozenset[Key] = frozenset(),
        short: dict[Key, Decimal] | None = None,
        unmatched: list[tuple[date, Decimal, str]] | None = None,
        version: str = "08",
    ) -> bytes:
        """The year's credits, one per office and month, booked on the 10th of the next month."""
        entries: list[StatementLine] = []
        for n, ((member, office, month), total) in enumerate(sorted(self.totals().items())):
            if (member, office, month) in missing or total == 0:
                continue
            year, mm = int(month[:4]), int(month[5:])
            booked = date(year + mm // 12, mm % 12 + 1, 10)
            text = f"ZVK {member}/{office} {month} Umlage und Zusatzbeitrag"
            if n % 3 == 1:
                text = f"Überweisung zvk {member}/{office} {month}"
            amount = total - (short or {}).get((member, office, month), Decimal(0))
            entries.append(StatementLine(booked, amount, text, f"Mitglied {member}", f"R{n:06d}"))
        for i, (booked, amount, text) in enumerate(unmatched or []):
            entries.append(StatementLine(booked, amount, text, "Unbekannt", f"U{i:06d}"))
        entries.sort(key=lambda e: (e.booked, e.reference))
        return write_camt053(entries, version=version, account=ACCOUNT)


@dataclass(frozen=True, slots=True)
class StatementLine:
    booked: date
    amount: Decimal  # negative for a debit
    text: str
    payer: str
    reference: str | None
    currency: str = "EUR"


def write_camt053(
    lines: list[StatementLine], *, version: str = "08", account: str = ACCOUNT
) -> bytes:
    """A camt.053.001.<version> statement with one entry per line (versions 02 to 08)."""
    ns = f"urn:iso:std:iso:20022:tech:xsd:camt.053.001.{version}"
    number = int(version)

    def el(
        parent: etree._Element, name: str, text: str | None = None, **attrs: str
    ) -> etree._Element:
        node = etree.SubElement(parent, f"{{{ns}}}{name}", **attrs)
        if text is not None:
            node.text = text
        return node

    root = etree.Element(f"{{{ns}}}Document", nsmap={None: ns})
    body = el(root, "BkToCstmrStmt")
    header = el(body, "GrpHdr")
    el(header, "MsgId", "ZVK-STMT-1")
    el(header, "CreDtTm", "2026-02-01T06:00:00")
    stmt = el(body, "Stmt")
    el(stmt, "Id", "STMT-1")
    el(stmt, "CreDtTm", "2026-02-01T06:00:00")
    el(el(el(stmt, "Acct"), "Id"), "IBAN", account)
    for line in lines:
        entry = el(stmt, "Ntry")
        if line.reference and number % 2:
            el(entry, "NtryRef", line.reference)
        el(entry, "Amt", f"{abs(line.amount):.2f}", Ccy=line.currency)
        el(entry, "CdtDbtInd", "CRDT" if line.amount > 0 else "DBIT")
        status = el(entry, "Sts")
        if number >= 7:
            el(status, "Cd", "BOOK")
        else:
            status.text = "BOOK"
        el(el(entry, "BookgDt"), "Dt", line.booked.isoformat())
        el(el(entry, "ValDt"), "Dt", line.booked.isoformat())
        if line.reference and not number % 2:
            el(entry, "AcctSvcrRef", line.reference)
        tx = el(el(entry, "NtryDtls"), "TxDtls")
        el(el(tx, "Refs"), "EndToEndId", "NOTPROVIDED")
        if number >= 4:
            el(tx, "Amt", f"{abs(line.amount):.2f}", Ccy="EUR")
        party = el(el(tx, "RltdPties"), "Dbtr")
        el(el(party, "Pty") if number >= 8 else party, "Nm", line.payer)
        el(el(tx, "RmtInf"), "Ustrd", line.text)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)  # type: ignore[no-any-return]
