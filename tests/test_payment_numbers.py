"""Amounts, dates and currencies of bank statements: read one way only, or refused with the line.

The CSV amount table lists every accepted and every refused form of the rule written down in
docs/reconciliation.md; nothing ambiguous is ever guessed.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select, update

from ingest.reconciling.bankfiles import StatementError, csv_amount, read_statement
from ingest.reconciling.checks import unmatched_payments
from ingest.reconciling.matching import FOREIGN_CURRENCY
from ingest.reconciling.models import Payment
from ingest.reconciling.payments import import_statement, rematch
from ingest.reconciling.runs import run_reconciliation
from ingest.reconciling.sample_year import StatementLine, write_camt053
from ingest.settings import Settings
from ingest.storing.db import make_engine, session_factory
from ingest.storing.models import BillingOffice

HEADER = "buchungsdatum;betrag;verwendungszweck;auftraggeber\n"

ACCEPTED = [
    ("1000.50", "1000.50"),
    ("1000.5", "1000.50"),
    ("1000,50", "1000.50"),
    ("1000,5", "1000.50"),
    ("1.000,50", "1000.50"),
    ("1.234.567,89", "1234567.89"),
    ("-1.000,00", "-1000.00"),
    ("-12,30", "-12.30"),
    ("-12.30", "-12.30"),
    ("0,05", "0.05"),
    ("0.05", "0.05"),
    ("12", "12.00"),
    ("0", "0.00"),
    ("1.00", "1.00"),  # a dot followed by two digits is a decimal point: no thousands group
]
REFUSED = [
    "1,000.50",  # English thousands comma
    "1.000",  # thousands dot or decimals? ambiguous
    "1,000",  # decimal comma with three decimals or English thousands? ambiguous
    "12,345",
    "1.000.000",  # thousands dots need the decimal comma
    "1.000.00",
    "1.00,50",  # a thousands group has three digits
    "1000.000",  # more than two decimals
    "1,005",
    "12,3,4",
    "12.3.4",
    "1 000,50",  # spaces inside
    "1\u00a0000,50",
    "1\u2009000,50",
    "",
    "-",
    "+12,30",
    "+-1",
    "--1",
    "12,30-",
    "12.",
    "12,",
    ",50",
    ".50",
    "12 €",
    "€12",
    "EUR 12",
    "1e3",
    "1_000",
    "NaN",
    "Infinity",
    "0x10",
    "١٢٣",  # Arabic-Indic digits
    "١٢٣,٤٥",
    "１２３,４５",  # full-width digits
    "१२३",  # Devanagari digits
    "12,3４",
    "½",
]


@pytest.mark.parametrize(("text", "value"), ACCEPTED)
def test_csv_amount_accepted_forms(text: str, value: str) -> None:
    assert csv_amount(text, 7) == Decimal(value)
    entries = read_statement(f"{HEADER}2026-11-10;{text};x;y\n".encode()).entries
    assert [e.amount for e in entries] == [Decimal(value)]


@pytest.mark.parametrize("text", REFUSED)
def test_csv_amount_refused_forms(text: str) -> None:
    with pytest.raises(StatementError, match=r"^CSV Zeile 7: Betrag "):
        csv_amount(text, 7)
    data = f"{HEADER}2026-11-10;1,00;x;y\n2026-11-10;{text};x;y\n".encode()
    with pytest.raises(StatementError, match=r"^CSV Zeile 3: Betrag "):
        read_statement(data)


def test_csv_error_names_the_line_of_the_file() -> None:
    """Blank lines and a text over two lines count: the message names the line in the file."""
    data = f'{HEADER}\n2026-11-10;1,00;"zwei\nZeilen";y\n\n2026-11-11;1.000;x;y\n'.encode()
    with pytest.raises(StatementError, match=r"^CSV Zeile 6: Betrag '1\.000'"):
        read_statement(data)


@pytest.mark.parametrize(
    ("text", "day"),
    [("2026-01-05", date(2026, 1, 5)), ("05.01.2026", date(2026, 1, 5))],
)
def test_csv_dates_accepted(text: str, day: date) -> None:
    [entry] = read_statement(f"{HEADER}{text};1,00;x;y\n".encode()).entries
    assert entry.booking_date == day


@pytest.mark.parametrize(
    "text",
    [
        "2026-1-5",
        "1.1.2026",
        "5.01.2026",
        "26-01-05",
        "2026-02-30",
        "31.04.2026",
        "2026-01-05T00:00",
        "2026/01/05",
        "２０２６-01-05",
        "٢٠٢٦-01-05",
        "05.01.٢٠٢٦",
        " 2026-01-05x",
        "",
    ],
)
def test_csv_dates_refused(text: str) -> None:
    with pytest.raises(StatementError, match=r"^CSV Zeile 2: Datum "):
        read_statement(f"{HEADER}{text};1,00;x;y\n".encode())


CAMT = """<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt>
<GrpHdr><MsgId>1</MsgId><CreDtTm>2026-11-12T06:00:00</CreDtTm></GrpHdr>
<Stmt><Id>S</Id><Acct><Id><IBAN>DE02120300000000202051</IBAN></Id></Acct>
<Ntry><Amt{ccy}>{amount}</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts>
  <BookgDt><Dt>{day}</Dt></BookgDt><AcctSvcrRef>R1</AcctSvcrRef>
  <NtryDtls><TxDtls><RmtInf><Ustrd>ZVK 100001/001 2026-10</Ustrd></RmtInf></TxDtls></NtryDtls>
</Ntry></Stmt></BkToCstmrStmt></Document>
"""


def camt(amount: str = "100.00", day: str = "2026-11-12", ccy: str = ' Ccy="EUR"') -> bytes:
    return CAMT.format(amount=amount, day=day, ccy=ccy).encode()


def test_camt_reads_a_plain_entry() -> None:
    [entry] = read_statement(camt("1938.5")).entries
    assert (entry.amount, entry.currency, entry.booking_date) == (
        Decimal("1938.50"),
        "EUR",
        date(2026, 11, 12),
    )


@pytest.mark.parametrize(
    "amount",
    ["1_000.00", "１００.00", "١٠٠", "1e2", "+100.00", "-100.00", "100,00", "NaN", "", "100.001"],
)
def test_camt_amounts_refused(amount: str) -> None:
    with pytest.raises(StatementError, match="Ntry/Amt: Betrag"):
        read_statement(camt(amount))


@pytest.mark.parametrize("day", ["12.11.2026", "2026-11-31", "２０２６-11-12", "2026-11-1"])
def test_camt_dates_refused(day: str) -> None:
    with pytest.raises(StatementError, match="BookgDt: Datum"):
        read_statement(camt(day=day))


@pytest.mark.parametrize("ccy", ["", ' Ccy=""', ' Ccy="eur"', ' Ccy="EURO"', ' Ccy="€"'])
def test_camt_currency_must_be_a_code(ccy: str) -> None:
    with pytest.raises(StatementError, match="Währung"):
        read_statement(camt(ccy=ccy))


def test_entry_in_another_currency_is_never_matched(settings: Settings) -> None:
    """A USD credit with a valid remittance pattern is unmatched with the reason, and the month
    it names stays unpaid; a transaction of a batch has the currency of its own amount."""
    sessions = session_factory(make_engine(settings))
    lines = [
        StatementLine(date(2026, 11, 10), Decimal("50.00"), "ZVK 100001/001 2026-10", "A", "U1"),
        StatementLine(
            date(2026, 11, 10), Decimal("99.00"), "ZVK 100001/002 2026-10", "B", "U2", "USD"
        ),
    ]
    result = import_statement(sessions, write_camt053(lines), "auszug.xml")
    assert (result.matched, result.unmatched) == (1, 1)
    tx = '<TxDtls><AmtDtls><TxAmt><Amt Ccy="{}">{}</Amt></TxAmt></AmtDtls></TxDtls>'
    batch = camt().replace(
        b"<NtryDtls>", f"<NtryDtls>{tx.format('CHF', '99.00')}{tx.format('EUR', '1.00')}".encode()
    )
    batch = batch.replace(
        b"<TxDtls><RmtInf>",
        b"<TxDtls><AmtDtls><TxAmt><Amt Ccy='EUR'>0.00</Amt></TxAmt></AmtDtls><RmtInf>",
    )
    assert [(e.amount, e.currency) for e in read_statement(batch).entries] == [
        (Decimal("99.00"), "CHF"),
        (Decimal("1.00"), "EUR"),
        (Decimal("0.00"), "EUR"),
    ]
    with sessions() as session:
        stored = {p.bank_reference: p for p in session.scalars(select(Payment))}
        assert (stored["U1"].month, stored["U1"].unmatched_reason) == ("2026-10", None)
        usd = stored["U2"]
        assert (usd.billing_office_id, usd.month, usd.currency) == (None, None, "USD")
        assert usd.unmatched_reason == FOREIGN_CURRENCY.format(currency="USD")
        [found] = unmatched_payments(session, date(2026, 12, 1))
        assert (found.kind, found.reference, found.detail) == (
            "zahlung_unzugeordnet",
            "U2",
            "Währung USD statt EUR",
        )
    summary = run_reconciliation(settings, sessions, date(2026, 12, 1))
    assert summary is not None
    paid_by_usd = [f for f in summary.findings if f.office == "002" and f.period == "2026-10"]
    assert paid_by_usd == []  # no Monatsabrechnung, no insured: the USD did not make it "zu hoch"


def test_rematch_unmatches_a_foreign_entry_matched_before(settings: Settings) -> None:
    """A USD entry that an earlier version had matched is taken back by the next run."""
    sessions = session_factory(make_engine(settings))
    line = StatementLine(
        date(2026, 11, 10), Decimal("99.00"), "ZVK 100001/001 2026-10", "B", "U3", "USD"
    )
    import_statement(sessions, write_camt053([line]), "auszug.xml")
    with sessions.begin() as session:
        office = session.scalar(select(BillingOffice.id).where(BillingOffice.number == "001"))
        session.execute(
            update(Payment).values(billing_office_id=office, month="2026-10", unmatched_reason=None)
        )
        rematch(session)
    with sessions() as session:
        payment = session.scalar(select(Payment))
        assert payment is not None
        assert (payment.billing_office_id, payment.unmatched_reason) == (
            None,
            "Währung USD statt EUR",
        )


def test_zero_amount_is_not_called_a_debit() -> None:
    from ingest.reconciling.matching import DEBIT, ZERO_AMOUNT, match_remittance

    for amount in (Decimal("0.00"), Decimal("-0.00")):
        assert match_remittance("ZVK 100001/001 2026-10", amount) == ZERO_AMOUNT != DEBIT


def test_csv_line_with_more_fields_than_the_header_is_refused() -> None:
    with pytest.raises(StatementError, match=r"^CSV Zeile 3: 5 Spalten"):
        read_statement(f"{HEADER}2026-11-10;1,00;x;y\n2026-11-10;1,00;x;y;z\n".encode())


@pytest.mark.parametrize(
    ("data", "where"),
    [
        (f"{HEADER}2026-11-10;1,00;Überweisung;y\n".encode("cp1252"), "Zeile 2, Byte 68"),
        (f"{HEADER}2026-11-10;1,00;x;y\n".encode("utf-16"), "Zeile 1, Byte 1"),
    ],
)
def test_csv_in_another_encoding_names_the_place_and_the_remedy(data: bytes, where: str) -> None:
    with pytest.raises(StatementError, match=rf"^CSV {where}: .*CSV UTF-8"):
        read_statement(data)


@pytest.mark.parametrize("day", ["1999-12-31", "2100-01-01"])
def test_booking_dates_outside_the_window_are_refused(day: str) -> None:
    with pytest.raises(StatementError, match=r"^CSV Zeile 2: Datum .* außerhalb"):
        read_statement(f"{HEADER}{day};1,00;x;y\n".encode())
    with pytest.raises(StatementError, match=r"außerhalb"):
        read_statement(camt(day=day))


@pytest.mark.parametrize(
    "account", ["DE021201,000.00000202051", "DE03120300000000202051", "DE0212030000000020205"]
)
def test_camt_account_iban_is_validated(account: str) -> None:
    data = camt().replace(b"DE02120300000000202051", account.encode())
    with pytest.raises(StatementError, match="IBAN"):
        read_statement(data)
