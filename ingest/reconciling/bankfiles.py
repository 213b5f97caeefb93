"""Reading bank statements: ISO 20022 camt.053 (versions 001.02 to 001.08) and the simple CSV.

camt.053 is read by namespace, whatever version of the listed ones the bank sends; only booked
entries (status ``BOOK``) count. An entry that carries several transactions (a batch booking with
one ``TxDtls`` each) becomes one :class:`BankEntry` per transaction. The CSV has the columns
``buchungsdatum;betrag;verwendungszweck;auftraggeber`` (UTF-8, ``;``, German decimal comma
allowed, dates as ``YYYY-MM-DD`` or ``DD.MM.YYYY``).

An entry's identity is (account, bank reference, booking date, amount). The bank reference is
``AcctSvcrRef``, else ``NtryRef``; where a source has none (the CSV, some entries), a reference is
derived from the entry's content and its occurrence in the file, so the same file read twice
gives the same identities.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from lxml import etree

CAMT_NAMESPACE = re.compile(r"urn:iso:std:iso:20022:tech:xsd:camt\.053\.001\.0([2-8])")
CSV_COLUMNS = ("buchungsdatum", "betrag", "verwendungszweck", "auftraggeber")
CSV_ACCOUNT = "CSV"
_PARSER_OPTIONS = {
    "resolve_entities": False,
    "no_network": True,
    "load_dtd": False,
    "huge_tree": False,
    "remove_comments": True,
}


class StatementError(ValueError):
    """The file is not a statement this service can read; the message says why."""


@dataclass(frozen=True, slots=True)
class BankEntry:
    """One booked transaction of a statement (debits have a negative amount)."""

    account: str
    bank_reference: str
    booking_date: date
    amount: Decimal
    currency: str
    remittance: str
    payer: str | None


@dataclass(frozen=True, slots=True)
class Statement:
    file_format: str  # "camt.053.001.08" or "csv"
    entries: list[BankEntry]


def read_statement(data: bytes) -> Statement:
    """Read a camt.053 or CSV statement; the content decides which, not the file name."""
    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if head == b"<":
        return read_camt053(data)
    return read_csv(data)


# -- camt.053 -------------------------------------------------------------------------------


def read_camt053(data: bytes) -> Statement:
    if re.search(rb"<!DOCTYPE|<!ENTITY", data[:4096], re.IGNORECASE):
        raise StatementError("camt.053: DOCTYPE and entity declarations are not accepted")
    parser = etree.XMLParser(**_PARSER_OPTIONS)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise StatementError(f"camt.053: not well-formed XML: {exc}") from None
    namespace = etree.QName(root).namespace or ""
    version = CAMT_NAMESPACE.fullmatch(namespace)
    if version is None:
        raise StatementError(f"not a camt.053 statement of version 001.02 to 001.08: {namespace!r}")
    ns = {"c": namespace}
    entries: list[BankEntry] = []
    seen: Counter[str] = Counter()
    statements = root.findall("c:BkToCstmrStmt/c:Stmt", ns)
    if not statements:
        raise StatementError("camt.053: no Stmt element")
    for stmt in statements:
        account = _text(stmt, "c:Acct/c:Id/c:IBAN", ns) or _text(
            stmt, "c:Acct/c:Id/c:Othr/c:Id", ns
        )
        if not account:
            raise StatementError("camt.053: statement without account (Acct/Id)")
        for entry in stmt.findall("c:Ntry", ns):
            entries.extend(_entries(entry, account.replace(" ", ""), ns, seen))
    return Statement(file_format=f"camt.053.001.0{version.group(1)}", entries=entries)


def _text(node: etree._Element, path: str, ns: dict[str, str]) -> str | None:
    found = node.find(path, ns)
    if found is None or found.text is None:
        return None
    return found.text.strip() or None


def _entries(
    entry: etree._Element, account: str, ns: dict[str, str], seen: Counter[str]
) -> list[BankEntry]:
    status = _text(entry, "c:Sts/c:Cd", ns) or _text(entry, "c:Sts", ns)
    if status != "BOOK":
        return []
    amount_node = entry.find("c:Amt", ns)
    amount = _amount(amount_node.text if amount_node is not None else None, "Ntry/Amt")
    currency = amount_node.get("Ccy", "EUR") if amount_node is not None else "EUR"
    sign = _sign(_text(entry, "c:CdtDbtInd", ns))
    booked = _text(entry, "c:BookgDt/c:Dt", ns) or (_text(entry, "c:BookgDt/c:DtTm", ns) or "")[:10]
    booking_date = _date(booked, "Ntry/BookgDt")
    entry_ref = _text(entry, "c:AcctSvcrRef", ns) or _text(entry, "c:NtryRef", ns)
    details = entry.findall("c:NtryDtls/c:TxDtls", ns)
    if len(details) <= 1:
        tx = details[0] if details else None
        remittance = _remittance(tx if tx is not None else entry, ns)
        if not remittance:
            remittance = _text(entry, "c:AddtlNtryInf", ns) or ""
        payer = _payer(tx, ns) if tx is not None else None
        ref = entry_ref or _derived("camt", booked, amount, remittance, seen)
        return [BankEntry(account, ref, booking_date, sign * amount, currency, remittance, payer)]
    out = []
    for index, tx in enumerate(details, start=1):
        tx_amount_node = tx.find("c:Amt", ns)
        if tx_amount_node is None:
            tx_amount_node = tx.find("c:AmtDtls/c:TxAmt/c:Amt", ns)
        tx_amount = _amount(
            tx_amount_node.text if tx_amount_node is not None else None, "TxDtls/Amt"
        )
        tx_sign = _sign(_text(tx, "c:CdtDbtInd", ns) or _text(entry, "c:CdtDbtInd", ns))
        remittance = _remittance(tx, ns)
        tx_ref = _text(tx, "c:Refs/c:AcctSvcrRef", ns)
        if tx_ref is None:
            tx_ref = f"{entry_ref}/{index}" if entry_ref else None
        ref = tx_ref or _derived("camt", booked, tx_amount, remittance, seen)
        out.append(
            BankEntry(
                account,
                ref,
                booking_date,
                tx_sign * tx_amount,
                currency,
                remittance,
                _payer(tx, ns),
            )
        )
    return out


def _remittance(node: etree._Element, ns: dict[str, str]) -> str:
    parts = [e.text.strip() for e in node.iterfind(".//c:RmtInf/c:Ustrd", ns) if e.text]
    return " ".join(p for p in parts if p)


def _payer(tx: etree._Element, ns: dict[str, str]) -> str | None:
    for path in ("c:RltdPties/c:Dbtr/c:Pty/c:Nm", "c:RltdPties/c:Dbtr/c:Nm"):
        name = _text(tx, path, ns)
        if name:
            return name[:140]
    return None


def _sign(indicator: str | None) -> Decimal:
    if indicator == "CRDT":
        return Decimal(1)
    if indicator == "DBIT":
        return Decimal(-1)
    raise StatementError(f"camt.053: CdtDbtInd {indicator!r} is neither CRDT nor DBIT")


# camt.053 amounts: digits 0-9 and a decimal point (Decimal() also reads other scripts' digits).
_CAMT_AMOUNT = re.compile(r"[0-9]+(\.[0-9]+)?")


def _amount(text: str | None, where: str) -> Decimal:
    if not _CAMT_AMOUNT.fullmatch((text or "").strip()):
        raise StatementError(f"{where}: amount {text!r} is not a number (digits 0-9)")
    try:
        value = Decimal((text or "").strip())
    except InvalidOperation:
        raise StatementError(f"{where}: amount {text!r} is not a number") from None
    if not value.is_finite() or value < 0:
        raise StatementError(f"{where}: amount {text!r} is not a positive number")
    return value.quantize(Decimal("0.01"))


def _date(text: str | None, where: str) -> date:
    value = (text or "").strip()
    for pattern in ("%Y-%m-%d", "%d.%m.%Y"):
        try:
            return datetime.strptime(value, pattern).date()
        except ValueError:
            continue
    raise StatementError(f"{where}: date {text!r} is neither YYYY-MM-DD nor DD.MM.YYYY")


def _derived(kind: str, booked: str, amount: Decimal, text: str, seen: Counter[str]) -> str:
    """A reference for an entry without one: its content plus its occurrence in the file."""
    digest = hashlib.sha256(f"{booked}|{amount}|{text}".encode()).hexdigest()[:20]
    seen[digest] += 1
    return f"{kind}:{digest}:{seen[digest]}"


# -- CSV --------------------------------------------------------------------------------------


def read_csv(data: bytes) -> Statement:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise StatementError("CSV: not UTF-8") from None
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=";")
    rows = [row for row in reader if any(cell.strip() for cell in row)]
    if not rows:
        raise StatementError("CSV: empty file")
    header = tuple(cell.strip().lower() for cell in rows[0])
    if header[: len(CSV_COLUMNS)] != CSV_COLUMNS:
        raise StatementError(f"CSV: the first line must name the columns {';'.join(CSV_COLUMNS)}")
    entries = []
    seen: Counter[str] = Counter()
    for number, row in enumerate(rows[1:], start=2):
        if len(row) < len(CSV_COLUMNS):
            raise StatementError(f"CSV line {number}: expected {len(CSV_COLUMNS)} columns")
        booked, amount_text, remittance, payer = (cell.strip() for cell in row[:4])
        booking_date = _date(booked, f"CSV line {number}")
        amount = _csv_amount(amount_text, number)
        ref = _derived("csv", booking_date.isoformat(), amount, f"{remittance}|{payer}", seen)
        entries.append(
            BankEntry(CSV_ACCOUNT, ref, booking_date, amount, "EUR", remittance, payer or None)
        )
    return Statement(file_format="csv", entries=entries)


def _csv_amount(text: str, line: int) -> Decimal:
    """``1234.56``, ``1.234,56``, ``-12,50``: a comma, when present, is the decimal mark."""
    cleaned = text.replace(" ", "").replace("€", "")
    if "," in cleaned:
        cleaned = cleaned.replace(".", "").replace(",", ".")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise StatementError(f"CSV line {line}: betrag {text!r} is not a number") from None
    if not value.is_finite():
        raise StatementError(f"CSV line {line}: betrag {text!r} is not a number")
    return value.quantize(Decimal("0.01"))
