"""A correction reverses an unmatched credit: a debit of the same amount clears both findings."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from test_reconcile import cli

from ingest.reconciling.checks import unmatched_payments
from ingest.reconciling.models import Payment
from ingest.reconciling.payments import import_statement
from ingest.reconciling.sample_year import StatementLine, write_camt053
from ingest.settings import Settings
from ingest.storing.db import make_engine, session_factory

HEAD = "buchungsdatum;betrag;verwendungszweck;auftraggeber\n"


def _unmatched(settings: Settings, as_of: date) -> list[tuple[str, Decimal]]:
    with session_factory(make_engine(settings))() as session:
        return [(f.period, f.actual or Decimal(0)) for f in unmatched_payments(session, as_of)]


def test_documented_correction_clears_credit_and_debit(
    settings: Settings, database_url: str | None
) -> None:
    """An unmatched credit, then the correcting CSV (debit and credit with the pattern): after
    `zvk reconcile` neither the credit nor the debit is `zahlung_unzugeordnet`; a run as of a
    day before the correction still lists the credit."""
    sessions = session_factory(make_engine(settings))
    import_statement(sessions, f"{HEAD}2026-11-10;999,99;Umlage Oktober;Stadt\n".encode(), "a.csv")
    correction = (
        f"{HEAD}2026-11-20;-999,99;Umbuchung;Kasse\n"
        "2026-11-20;999,99;ZVK 100001/001 2026-10;Kasse\n"
    )
    import_statement(sessions, correction.encode(), "korrektur.csv")
    out = cli(settings, database_url, "reconcile", "--date", "2026-11-25")
    assert "zahlung_unzugeordnet" not in out
    exported = cli(settings, database_url, "export", "abgleich", "--format", "csv")
    assert [r for r in csv.DictReader(io.StringIO(exported)) if "unzugeordnet" in r["art"]] == []
    assert _unmatched(settings, date(2026, 11, 15)) == [("2026-11-10", Decimal("999.99"))]
    listed = cli(settings, database_url, "payments", "list", "--unzugeordnet")
    assert "999" not in listed


def test_debit_naming_the_reference_reverses_a_credit_of_another_account(
    settings: Settings,
) -> None:
    """A CSV debit reverses a camt credit of the same amount; with two candidates it takes the
    one whose bank reference its text names, and without a reference it guesses nothing."""
    sessions = session_factory(make_engine(settings))
    lines = [
        StatementLine(date(2026, 11, 10), Decimal("50.00"), "Spende", "A", "REF-1"),
        StatementLine(date(2026, 11, 11), Decimal("50.00"), "Spende", "B", "REF-2"),
    ]
    import_statement(sessions, write_camt053(lines), "auszug.xml")
    import_statement(sessions, f"{HEAD}2026-11-20;-50;Storno;Kasse\n".encode(), "a.csv")
    # two credits of 50.00 fit a debit that names none of them: nothing is cleared
    assert len(_unmatched(settings, date(2026, 11, 30))) == 3
    import_statement(sessions, f"{HEAD}2026-11-21;-50;Storno ref-2;Kasse\n".encode(), "b.csv")
    # the named one is reversed; then the first debit fits the remaining credit alone
    assert _unmatched(settings, date(2026, 11, 30)) == []
    with sessions() as session:
        assert len(list(session.scalars(select(Payment)))) == 4


def test_debit_of_another_amount_or_earlier_day_reverses_nothing(settings: Settings) -> None:
    sessions = session_factory(make_engine(settings))
    data = (
        f"{HEAD}2026-11-10;20,00;ohne Muster;A\n"
        "2026-11-10;-20,01;Storno;Kasse\n"
        "2026-11-09;-20,00;Storno;Kasse\n"
    )
    import_statement(sessions, data.encode(), "a.csv")
    assert len(_unmatched(settings, date(2026, 11, 30))) == 3
