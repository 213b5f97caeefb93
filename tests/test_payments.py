"""Bank statements: camt.053 of every version German banks send, the CSV, matching, idempotency."""

from __future__ import annotations

import os
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from ingest.cli.main import app
from ingest.reconciling.bankfiles import StatementError, read_statement
from ingest.reconciling.matching import (
    AMBIGUOUS,
    BAD_MONTH,
    DEBIT,
    NO_PATTERN,
    UNKNOWN_OFFICE,
    Target,
    match_remittance,
)
from ingest.reconciling.models import Payment
from ingest.reconciling.payments import import_statement, inbox_of, rematch, scan_inbox
from ingest.reconciling.sample_year import ACCOUNT, StatementLine, write_camt053
from ingest.settings import Settings
from ingest.storing.db import make_engine, session_factory
from ingest.storing.registry import add_member

LINES = [
    StatementLine(date(2026, 11, 10), Decimal("1938.00"), "ZVK 100001/001 2026-10", "Stadt", "A1"),
    StatementLine(date(2026, 11, 11), Decimal("99.90"), "Spende Sommerfest", "Verein", "A2"),
    StatementLine(date(2026, 11, 12), Decimal("-12.50"), "Kontoführung", "Bank", "A3"),
]
CSV_TEXT = (
    "buchungsdatum;betrag;verwendungszweck;auftraggeber\n"
    "2026-11-10;1.938,00;Nachzahlung ZVK 100001/002 2026-10;Stadt Musterhausen\n"
    "11.11.2026;25,5;ohne Muster;Jemand\n"
    "11.11.2026;25,5;ohne Muster;Jemand\n"
)


@pytest.mark.parametrize("version", ["02", "03", "04", "05", "06", "07", "08"])
def test_camt053_every_version_reads_the_same(version: str) -> None:
    """camt.053.001.02 to .08 give the same entries: amount with sign, date, text, reference."""
    statement = read_statement(write_camt053(LINES, version=version))
    assert statement.file_format == f"camt.053.001.{version}"
    assert [
        (e.account, e.bank_reference, e.booking_date, e.amount, e.remittance, e.payer)
        for e in statement.entries
    ] == [
        (ACCOUNT, line.reference, line.booked, line.amount, line.text, line.payer) for line in LINES
    ]


BATCH = b"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt>
<GrpHdr><MsgId>1</MsgId><CreDtTm>2026-11-12T06:00:00</CreDtTm></GrpHdr>
<Stmt><Id>S</Id><Acct><Id><IBAN>DE02 1203 0000 0000 2020 51</IBAN></Id></Acct>
<Ntry><Amt Ccy="EUR">300.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts>
  <BookgDt><Dt>2026-11-12</Dt></BookgDt><AcctSvcrRef>SAMMLER-1</AcctSvcrRef>
  <NtryDtls>
   <TxDtls><AmtDtls><TxAmt><Amt Ccy="EUR">100.00</Amt></TxAmt></AmtDtls>
     <RmtInf><Ustrd>ZVK 100001/001</Ustrd><Ustrd>2026-09</Ustrd></RmtInf></TxDtls>
   <TxDtls><AmtDtls><TxAmt><Amt Ccy="EUR">200.00</Amt></TxAmt></AmtDtls>
     <RmtInf><Ustrd>ZVK 100001/001 2026-10</Ustrd></RmtInf></TxDtls>
  </NtryDtls></Ntry>
<Ntry><Amt Ccy="EUR">5.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>PDNG</Sts>
  <BookgDt><Dt>2026-11-12</Dt></BookgDt></Ntry>
</Stmt></BkToCstmrStmt></Document>
"""


def test_batch_entry_is_split_and_pending_entries_are_skipped() -> None:
    """A batch booking gives one entry per transaction; a pending (PDNG) entry gives none."""
    entries = read_statement(BATCH).entries
    assert [(e.account, e.bank_reference, e.amount, e.remittance) for e in entries] == [
        ("DE02120300000000202051", "SAMMLER-1/1", Decimal("100.00"), "ZVK 100001/001 2026-09"),
        ("DE02120300000000202051", "SAMMLER-1/2", Decimal("200.00"), "ZVK 100001/001 2026-10"),
    ]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "x">]><x/>', "DOCTYPE"),
        (
            b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.052.001.02"/>',
            "kein Kontoauszug camt.053",
        ),
        (b"<Document", "kein wohlgeformtes"),
        (b"datum;betrag\n2026-01-01;1\n", "erste Zeile"),
        (b"buchungsdatum;betrag;verwendungszweck;auftraggeber\nmorgen;1;x;y\n", "Datum"),
        (b"buchungsdatum;betrag;verwendungszweck;auftraggeber\n2026-01-01;viel;x;y\n", "Betrag"),
    ],
)
def test_unreadable_statements_are_refused_with_a_reason(data: bytes, message: str) -> None:
    """A file that is no statement is refused with a message naming what is wrong."""
    with pytest.raises(StatementError, match=message):
        read_statement(data)


def test_csv_with_german_decimal_comma() -> None:
    """CSV amounts with decimal comma and thousands dot, dates in two notations, BOM allowed."""
    entries = read_statement(b"\xef\xbb\xbf" + CSV_TEXT.encode()).entries
    assert [(e.booking_date, e.amount, e.payer) for e in entries] == [
        (date(2026, 11, 10), Decimal("1938.00"), "Stadt Musterhausen"),
        (date(2026, 11, 11), Decimal("25.50"), "Jemand"),
        (date(2026, 11, 11), Decimal("25.50"), "Jemand"),
    ]
    # Two identical transfers are two entries, told apart by their occurrence.
    assert len({e.bank_reference for e in entries}) == 3


@pytest.mark.parametrize(
    ("text", "amount", "expected"),
    [
        ("ZVK 100001/001 2026-10", "1", Target("100001", "001", "2026-10")),
        ("Umlage zvk 100001/002 2026-01 Stadt", "1", Target("100001", "002", "2026-01")),
        ("ZVK 100001 / 001   2026 - 12", "1", Target("100001", "001", "2026-12")),
        ("ZVK 100001/001 2026-10 ZVK 100001/001 2026-10", "1", Target("100001", "001", "2026-10")),
        ("ZVK 100001/001 2026-10 und ZVK 100001/001 2026-11", "1", AMBIGUOUS),
        ("ZVK 100001/001 2026-13", "1", BAD_MONTH),
        ("XZVK 100001/001 2026-10", "1", NO_PATTERN),
        ("ZVK 1000011/001 2026-10", "1", NO_PATTERN),
        ("Miete Oktober", "1", NO_PATTERN),
        ("ZVK 100001/001 2026-10", "-1", DEBIT),
    ],
)
def test_remittance_pattern(text: str, amount: str, expected: Target | str) -> None:
    """The documented pattern in any case with text around it; anything doubtful is not guessed."""
    assert match_remittance(text, Decimal(amount)) == expected


def _payments(settings: Settings) -> list[tuple[str, Decimal, str | None, str | None]]:
    with session_factory(make_engine(settings))() as session:
        return [
            (p.bank_reference, p.amount, p.month, p.unmatched_reason)
            for p in session.scalars(select(Payment).order_by(Payment.id))
        ]


def test_same_statement_twice_books_nothing_twice(settings: Settings) -> None:
    """Importing a camt.053 and a CSV twice books every entry once; the second import books 0."""
    sessions = session_factory(make_engine(settings))
    camt = write_camt053(LINES)
    first = import_statement(sessions, camt, "auszug.xml")
    assert (first.entries, first.booked, first.matched, first.unmatched) == (3, 3, 1, 2)
    again = import_statement(sessions, camt, "auszug-kopie.xml")
    assert (again.entries, again.booked, again.duplicates) == (3, 0, 3)
    csv_first = import_statement(sessions, CSV_TEXT.encode(), "korrektur.csv")
    csv_again = import_statement(sessions, CSV_TEXT.encode(), "korrektur.csv")
    assert (csv_first.booked, csv_again.booked) == (3, 0)
    booked = _payments(settings)
    assert len(booked) == 6
    assert [(month, reason) for _ref, _amount, month, reason in booked] == [
        ("2026-10", None),
        (None, NO_PATTERN),
        (None, DEBIT),
        ("2026-10", None),
        (None, NO_PATTERN),
        (None, NO_PATTERN),
    ]


def test_payment_for_unknown_member_is_matched_once_it_is_registered(settings: Settings) -> None:
    """A credit for an unregistered member stays unmatched until the member exists."""
    sessions = session_factory(make_engine(settings))
    line = StatementLine(date(2026, 11, 10), Decimal("10.00"), "ZVK 123456/001 2026-10", "X", "N1")
    import_statement(sessions, write_camt053([line]), "auszug.xml")
    assert _payments(settings) == [("N1", Decimal("10.00"), None, UNKNOWN_OFFICE)]
    with sessions.begin() as session:
        add_member(session, "123456", "Neues Mitglied", ["001"])
        assert rematch(session) == 1
    assert _payments(settings) == [("N1", Decimal("10.00"), "2026-10", None)]


def test_payments_inbox_imports_and_sorts_files(settings: Settings) -> None:
    """Files in the payments inbox are imported once and moved; a bad file goes to failed/."""
    inbox = inbox_of(settings)
    inbox.mkdir(parents=True, exist_ok=True)
    (inbox / "auszug.xml").write_bytes(write_camt053(LINES))
    (inbox / "kaputt.csv").write_text("nicht;das;richtige\n", encoding="utf-8")
    (inbox / "halb.xml.part").write_bytes(b"<Docu")
    old = time.time() - 60
    for path in inbox.iterdir():
        os.utime(path, (old, old))
    sessions = session_factory(make_engine(settings))
    results = scan_inbox(settings, sessions)
    assert [(r.filename, r.booked) for r in results] == [("auszug.xml", 3)]
    assert sorted(p.name for p in inbox.iterdir() if p.is_file()) == ["halb.xml.part"]
    assert [p.name for p in (inbox / "imported").rglob("*.xml")] == ["auszug.xml"]
    failed = inbox / "failed"
    assert sorted(p.name for p in failed.iterdir()) == ["kaputt.csv", "kaputt.csv.reason.txt"]
    assert "erste Zeile" in (failed / "kaputt.csv.reason.txt").read_text(encoding="utf-8")
    assert scan_inbox(settings, sessions) == []
    assert len(_payments(settings)) == 3


def test_cli_payments_import(settings: Settings, database_url: str | None, tmp_path: Path) -> None:
    """`zvk payments import` prints one line per file; an unreadable file makes exit status 1."""
    camt = tmp_path / "auszug.xml"
    camt.write_bytes(write_camt053(LINES, version="05"))
    bad = tmp_path / "kaputt.xml"
    bad.write_bytes(b"<kaputt")
    env = {"ZVK_LOG__LEVEL": "WARNING", **({"ZVK_DB__URL": database_url} if database_url else {})}
    runner = CliRunner()
    home = ["--home", str(settings.home)]
    result = runner.invoke(app, [*home, "payments", "import", str(camt), str(bad)], env=env)
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        "auszug.xml\tcamt.053.001.05\teintraege=3 neu=3 bereits_gebucht=0 zugeordnet=1 "
        "unzugeordnet=2"
    ]
    assert "kaputt.xml: camt.053: kein wohlgeformtes XML" in result.stderr
    again = runner.invoke(app, [*home, "payments", "import", str(camt)], env=env)
    assert again.exit_code == 0
    assert "neu=0 bereits_gebucht=3" in again.stdout
    listed = runner.invoke(app, [*home, "payments", "list", "--unzugeordnet"], env=env)
    assert listed.exit_code == 0
    assert [line.split("\t")[4] for line in listed.stdout.splitlines()[1:]] == ["A3", "A2"]


def test_csv_line_with_another_payer_is_the_same_entry(settings: Settings) -> None:
    """A CSV entry is (date, amount, remittance text, occurrence): the payer is not part of it,
    so the same line imported again with a corrected payer books nothing twice; two identical
    lines in one file stay two entries."""
    sessions = session_factory(make_engine(settings))
    head = "buchungsdatum;betrag;verwendungszweck;auftraggeber\n"
    line = "2026-11-10;10,00;ZVK 100001/001 2026-11 A;"
    first = import_statement(sessions, f"{head}{line}Stadt\n".encode(), "a.csv")
    again = import_statement(sessions, f"{head}{line}Stadt Musterhausen\n".encode(), "b.csv")
    assert (first.booked, again.booked, again.duplicates) == (1, 0, 1)
    twice = import_statement(sessions, f"{head}{line}X\n{line}Y\n".encode(), "c.csv")
    assert (twice.entries, twice.booked) == (2, 1)
    assert [amount for _ref, amount, _m, _r in _payments(settings)] == [Decimal("10.00")] * 2


def test_payments_list_escapes_fields_and_names_member_and_payer(
    settings: Settings, database_url: str | None
) -> None:
    """A TAB, line break or ESC in a bank's text cannot shift the columns of `payments list`,
    which names the member, billing office and payer of each payment."""
    sessions = session_factory(make_engine(settings))
    data = (
        "buchungsdatum;betrag;verwendungszweck;auftraggeber\n"
        '2026-11-10;10,00;"ZVK 100001/001 2026-10\tA\x1bB\\";Stadt\n'
        '2026-11-11;5,00;"zwei\nZeilen";\n'
    )
    import_statement(sessions, data.encode(), "a.csv")
    env = {"ZVK_LOG__LEVEL": "WARNING", **({"ZVK_DB__URL": database_url} if database_url else {})}
    result = CliRunner().invoke(app, ["--home", str(settings.home), "payments", "list"], env=env)
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.stdout
    header, second, first = (line.split("\t") for line in result.stdout.splitlines())
    assert header[5:10] == [
        "Mitglied",
        "Abrechnungsstelle",
        "Monat",
        "Auftraggeber",
        "Verwendungszweck",
    ]
    assert len(first) == len(second) == len(header)
    assert first[5:10] == [
        "100001",
        "001",
        "2026-10",
        "Stadt",
        "ZVK 100001/001 2026-10\\tA\\x1bB\\\\",
    ]
    assert second[5:10] == ["-", "-", "-", "", "zwei\\nZeilen"]


def test_csv_with_a_nul_is_refused_with_its_line(settings: Settings) -> None:
    """A NUL cannot be stored (PostgreSQL refuses it in text): the file is refused, not half
    imported, with the line it is on."""
    data = b"buchungsdatum;betrag;verwendungszweck;auftraggeber\n2026-11-10;1,00;a\x00b;c\n"
    with pytest.raises(StatementError, match=r"^CSV Zeile 2: .*NUL"):
        import_statement(session_factory(make_engine(settings)), data, "a.csv")
    assert _payments(settings) == []
