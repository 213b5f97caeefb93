"""Reading bank statements: ISO 20022 camt.053 (versions 001.02 to 001.08) and the simple CSV.

camt.053 is read by namespace, whatever version of the listed ones the bank sends; only booked
entries (status ``BOOK``) count. An entry that carries several transactions (a batch booking with
one ``TxDtls`` each) becomes one :class:`BankEntry` per transaction, in the currency its own
amount names. The CSV has the columns ``buchungsdatum;betrag;verwendungszweck;auftraggeber``
(UTF-8, ``;``, dates as ``YYYY-MM-DD`` or ``DD.MM.YYYY``, amounts in EUR as :func:`csv_amount`
reads them).

Numbers and dates are read from ASCII digits only, in exactly the documented forms; anything
else refuses the file with the CSV line or camt element, never a guess.

An entry's identity is (account, bank reference, booking date, amount). The bank reference is
``AcctSvcrRef``, else ``NtryRef``; where a source has none (the CSV, some entries), a reference is
derived from the booking date, the amount, the remittance text and the entry's occurrence among
equal entries of the file (never from the payer), so the same file read twice gives the same
identities, a corrected payer name does not make a new entry, and two equal lines stay two.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from lxml import etree

CAMT_NAMESPACE = re.compile(r"urn:iso:std:iso:20022:tech:xsd:camt\.053\.001\.0([2-8])")
CSV_COLUMNS = ("buchungsdatum", "betrag", "verwendungszweck", "auftraggeber")
CSV_ACCOUNT = "CSV"
EUR = "EUR"
_CSV_AMOUNT = re.compile(
    r"-?(?:[0-9]+(?:\.[0-9]{1,2})?|[0-9]+,[0-9]{1,2}|[0-9]{1,3}(?:\.[0-9]{3})+,[0-9]{1,2})"
)
_CAMT_AMOUNT = re.compile(r"[0-9]{1,18}(?:\.[0-9]{1,5})?")
_CURRENCY = re.compile(r"[A-Z]{3}")
_ISO_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_GERMAN_DATE = re.compile(r"([0-9]{2})\.([0-9]{2})\.([0-9]{4})")
CENT = Decimal("0.01")
# Booking dates are taken from 1 January 2000 up to this many days after today (Europe/Berlin);
# a date outside is a typo (2062 for 2026) and refuses the file.
EARLIEST_BOOKING = date(2000, 1, 1)
LATEST_BOOKING_DAYS = 31
_IBAN = re.compile(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}")
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
    # references an earlier version derived for the same entry (CSV: the payer was hashed too);
    # an entry booked under one of them is not booked again
    former_references: tuple[str, ...] = ()


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
        raise StatementError("camt.053: DOCTYPE und Entity-Deklarationen werden nicht angenommen")
    parser = etree.XMLParser(**_PARSER_OPTIONS)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise StatementError(f"camt.053: kein wohlgeformtes XML: {exc}") from None
    namespace = etree.QName(root).namespace or ""
    version = CAMT_NAMESPACE.fullmatch(namespace)
    if version is None:
        raise StatementError(
            f"kein Kontoauszug camt.053 der Versionen 001.02 bis 001.08: {namespace!r}"
        )
    ns = {"c": namespace}
    entries: list[BankEntry] = []
    seen: Counter[str] = Counter()
    statements = root.findall("c:BkToCstmrStmt/c:Stmt", ns)
    if not statements:
        raise StatementError("camt.053: kein Element Stmt")
    for stmt in statements:
        account = _text(stmt, "c:Acct/c:Id/c:IBAN", ns) or _text(
            stmt, "c:Acct/c:Id/c:Othr/c:Id", ns
        )
        if not account:
            raise StatementError("camt.053: Auszug ohne Konto (Acct/Id)")
        iban = _text(stmt, "c:Acct/c:Id/c:IBAN", ns)
        if iban is not None and not iban_valid(iban.replace(" ", "")):
            raise StatementError(f"camt.053: Acct/Id/IBAN {iban[:40]!r} ist keine gültige IBAN")
        for entry in stmt.findall("c:Ntry", ns):
            entries.extend(_entries(entry, account.replace(" ", ""), ns, seen))
    return Statement(file_format=f"camt.053.001.0{version.group(1)}", entries=entries)


def iban_valid(iban: str) -> bool:
    """ISO 13616: country, two check digits, 11 to 30 letters or digits, remainder 1 mod 97."""
    if not _IBAN.fullmatch(iban):
        return False
    digits = "".join(str(int(ch, 36)) for ch in iban[4:] + iban[:4])
    return int(digits) % 97 == 1


def _in_window(day: date, where: str) -> date:
    """``day``, if it lies in the window of booking dates taken."""
    latest = datetime.now(ZoneInfo("Europe/Berlin")).date() + timedelta(days=LATEST_BOOKING_DAYS)
    if not EARLIEST_BOOKING <= day <= latest:
        raise StatementError(
            f"{where}: Datum {day.isoformat()} liegt außerhalb von "
            f"{EARLIEST_BOOKING.isoformat()} bis {latest.isoformat()} "
            f"(heute + {LATEST_BOOKING_DAYS} Tage)"
        )
    return day


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
    amount, currency = _amount(amount_node, "Ntry/Amt")
    sign = _sign(_text(entry, "c:CdtDbtInd", ns))
    booked = _text(entry, "c:BookgDt/c:Dt", ns) or (_text(entry, "c:BookgDt/c:DtTm", ns) or "")[:10]
    booking_date = _iso_date(booked, "camt.053: Ntry/BookgDt")
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
        tx_amount, tx_currency = _amount(tx_amount_node, "TxDtls/Amt")
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
                tx_currency,
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
    raise StatementError(f"camt.053: CdtDbtInd {indicator!r} ist weder CRDT noch DBIT")


def _amount(node: etree._Element | None, where: str) -> tuple[Decimal, str]:
    """An ISO 20022 amount (ASCII digits, at most five decimals) and its currency code.

    A currency other than EUR is read as it stands (rounded to cents for storing); such an
    entry is never matched, so its amount is never counted. A EUR amount with a fraction of a
    cent is refused, not rounded.
    """
    text = node.text if node is not None else None
    value = (text or "").strip()
    if not _CAMT_AMOUNT.fullmatch(value):
        raise StatementError(f"camt.053: {where}: Betrag {text!r} ist keine Dezimalzahl")
    currency = node.get("Ccy", "").strip() if node is not None else ""
    if not _CURRENCY.fullmatch(currency):
        raise StatementError(f"camt.053: {where}: Währung {currency!r} ist kein ISO-4217-Code")
    amount = Decimal(value)
    if currency == EUR and amount != amount.quantize(CENT):
        raise StatementError(f"camt.053: {where}: Betrag {text!r} hat Bruchteile eines Cents")
    return amount.quantize(CENT), currency


def _iso_date(text: str | None, where: str) -> date:
    found = _ISO_DATE.fullmatch((text or "").strip())
    try:
        if found:
            return _in_window(date(int(found[1]), int(found[2]), int(found[3])), where)
    except StatementError:
        raise
    except ValueError:
        pass
    raise StatementError(f"{where}: Datum {text!r} ist kein Tag der Form JJJJ-MM-TT")


def _csv_date(text: str, where: str) -> date:
    """``YYYY-MM-DD`` or ``DD.MM.YYYY``, ASCII digits, a day of the calendar."""
    iso, german = _ISO_DATE.fullmatch(text), _GERMAN_DATE.fullmatch(text)
    try:
        if iso:
            return _in_window(date(int(iso[1]), int(iso[2]), int(iso[3])), where)
        if german:
            return _in_window(date(int(german[3]), int(german[2]), int(german[1])), where)
    except StatementError:
        raise
    except ValueError:
        pass
    raise StatementError(
        f"{where}: Datum {text!r} ist kein Tag der Form JJJJ-MM-TT oder TT.MM.JJJJ"
    )


def _derived(kind: str, booked: str, amount: Decimal, text: str, seen: Counter[str]) -> str:
    """A reference for an entry without one: its content plus its occurrence in the file."""
    digest = hashlib.sha256(f"{booked}|{amount}|{text}".encode()).hexdigest()[:20]
    seen[digest] += 1
    return f"{kind}:{digest}:{seen[digest]}"


# -- CSV --------------------------------------------------------------------------------------


def read_csv(data: bytes) -> Statement:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise StatementError(
            f"CSV Zeile {line}, Byte {exc.start + 1}: kein UTF-8 (Byte 0x{data[exc.start]:02x}); "
            'bitte als "CSV UTF-8" speichern (einfaches "CSV" aus Excel ist Windows-1252)'
        ) from None
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=";")
    try:
        # (line in the file where the record starts, record); blank lines are skipped
        rows: list[tuple[int, list[str]]] = []
        start = 1
        for row in reader:
            if any(cell.strip() for cell in row):
                rows.append((start, row))
            start = reader.line_num + 1
    except csv.Error as exc:
        raise StatementError(f"CSV Zeile {reader.line_num}: {exc}") from None
    if not rows:
        raise StatementError("CSV: leere Datei")
    header = tuple(cell.strip().lower() for cell in rows[0][1])
    if header[: len(CSV_COLUMNS)] != CSV_COLUMNS:
        columns = ";".join(CSV_COLUMNS)
        raise StatementError(f"CSV: die erste Zeile muss die Spalten {columns} nennen")
    entries = []
    seen: Counter[str] = Counter()
    seen_before: Counter[str] = Counter()
    for number, row in rows[1:]:
        if len(row) < len(CSV_COLUMNS):
            raise StatementError(
                f"CSV Zeile {number}: {len(row)} Spalten, erwartet {len(CSV_COLUMNS)}"
            )
        if len(row) > len(header):
            raise StatementError(
                f"CSV Zeile {number}: {len(row)} Spalten, die erste Zeile nennt {len(header)} "
                "(ein ';' in einem Text gehört in doppelte Anführungszeichen)"
            )
        if any("\x00" in cell for cell in row):
            raise StatementError(f"CSV Zeile {number}: Steuerzeichen NUL im Text")
        booked, amount_text, remittance, payer = (cell.strip() for cell in row[:4])
        booking_date = _csv_date(booked, f"CSV Zeile {number}")
        amount = csv_amount(amount_text, number)
        day = booking_date.isoformat()
        ref = _derived("csv", day, amount, remittance, seen)
        former = _derived("csv", day, amount, f"{remittance}|{payer}", seen_before)
        entries.append(
            BankEntry(
                CSV_ACCOUNT, ref, booking_date, amount, EUR, remittance, payer or None, (former,)
            )
        )
    return Statement(file_format="csv", entries=entries)


def csv_amount(text: str, line: int) -> Decimal:
    """An amount of the CSV in EUR; only forms that can be read one way only are taken.

    Accepted (ASCII digits, an optional leading ``-``): ``1234`` (whole euros), ``1234.5`` and
    ``1234.56`` (decimal point), ``1234,5`` and ``1234,56`` (decimal comma), ``1.234,56``
    (thousands dots, only together with a decimal comma). Refused: a mark followed by three
    digits without the other mark (``1.000``, ``1,000``: thousands or decimals?), both marks
    the English way round (``1,000.50``), thousands dots without a decimal comma, more than two
    decimals, spaces, ``+``, currency signs, any digit that is not ASCII.
    """
    if not _CSV_AMOUNT.fullmatch(text):
        raise StatementError(
            f"CSV Zeile {line}: Betrag {text!r} ist kein Betrag der Form 1234.56, "
            "1234,56 oder 1.234,56"
        )
    if "," in text:
        text = text.replace(".", "").replace(",", ".")
    return Decimal(text).quantize(CENT)
