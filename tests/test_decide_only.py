"""Deliveries that must leave nothing behind are decided, not written: a test delivery and a file
refused by its Vorlauf get the findings a real delivery of the same file gets (later reports see
what earlier ones did, across batches), and no statement of theirs writes a report, person,
relationship or statement row."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from code_helpers import committed_satz
from sqlalchemy import event

from ingest.pipeline import Service
from ingest.samples.builder import FileBuilder
from ingest.storing.overlay import Overlay
from ingest.validating import checker
from tests.conftest import Deliver

FUND_TABLES = ("persons", "reports", "periods", "insurances", "monthly_statements")


@pytest.fixture(autouse=True)
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(checker, "BATCH", 7)


class Writes:
    """The statements that write to a table of the fund's data, as they reach the driver; on
    PostgreSQL also the id sequences of persons and reports, which rows written by ``COPY``
    (around SQLAlchemy) advance even when they are rolled back."""

    def __init__(self, service: Service) -> None:
        self.engine = service.sessions.kw["bind"]
        self.statements: list[str] = []
        self.start = self._sequences()

    def _sequences(self) -> list[int]:
        if self.engine.dialect.name != "postgresql":
            return []
        with self.engine.connect() as connection:
            return [
                connection.exec_driver_sql(
                    f"SELECT last_value FROM {table}_id_seq"  # noqa: S608 (two fixed names)
                ).scalar_one()
                for table in ("persons", "reports")
            ]

    def __call__(self, _conn, _cursor, statement, _params, _context, _many) -> None:  # type: ignore[no-untyped-def]
        text = " ".join(statement.split()).lower()
        if text.startswith(("insert", "update", "delete")) and any(
            f'"{t}"' in text or f" {t} " in f"{text} " or f" {t}(" in text for t in FUND_TABLES
        ):
            self.statements.append(text[:80])

    def clear(self) -> None:
        self.statements.clear()
        self.start = self._sequences()

    def none(self) -> bool:
        return not self.statements and self._sequences() == self.start


@pytest.fixture
def writes(service: Service) -> Iterator[Writes]:
    seen = Writes(service)
    event.listen(seen.engine, "before_cursor_execute", seen)
    yield seen
    event.remove(seen.engine, "before_cursor_execute", seen)


def monthly_file(file_number: int, *, test: bool = False) -> FileBuilder:
    """Reports that rest on earlier reports of the same file, over several batches of 7."""
    b = FileBuilder(file_number=file_number, test=test)
    for n in range(1, 16):
        b.anmeldung(n, date(2026, 10, 1), meldungs_id=f"A{n}")
    b.anmeldung(16, meldungs_id="A3")  # ZVME061: the id of report 3 (an earlier batch)
    b.anmeldung(5, meldungs_id="A17")  # ZVME130: person 5 is open since report 5
    b.storno("A12", meldungs_id="S12")  # the file's own Anmeldung
    b.anmeldung(12, date(2026, 10, 15), meldungs_id="A12b")  # the corrected Anmeldung
    b.anmeldung(12, meldungs_id="A12c")  # ZVME130 again: A12b opened it
    b.abmeldung(2, date(2026, 10, 20), meldungs_id="X2")
    b.abmeldung(2, date(2026, 10, 25), meldungs_id="X2b")  # ZVME140: closed by X2
    b.storno("X2", meldungs_id="SX2")  # reopens person 2's relationship
    b.abmeldung(2, date(2026, 10, 25), meldungs_id="X2c")
    b.monatsabrechnung(month="2026-10", insured=16, meldungs_id="M1")
    b.monatsabrechnung(month="2026-10", insured=16, meldungs_id="M2")  # ZVMA030
    return b


def described(verdict):  # type: ignore[no-untyped-def]
    return [(f.code, f.satz, f.field, f.message) for f in verdict.findings]


def test_test_delivery_decides_like_a_real_one_and_writes_nothing(
    service: Service, deliver: Deliver, writes: Writes
) -> None:
    """A test delivery gets exactly the findings of the real delivery of the same reports, and
    writes no row of the fund's data (it is not written and rolled back: never written)."""
    stored = FileBuilder(file_number=1)
    stored.anmeldung(40)
    assert deliver(stored).result == "fehlerfrei"
    writes.clear()
    trial = deliver(monthly_file(2), test=True)
    assert writes.none()
    assert service.count_committed() == 1
    real = deliver(monthly_file(2))
    assert not writes.none()  # the same reports, delivered for real, are written
    assert described(trial) == described(real)
    assert [f.code for f in real.findings] == [
        "ZVME061",
        "ZVME130",
        "ZVME130",
        "ZVME140",
        "ZVMA030",
    ]
    assert (trial.total, trial.accepted) == (real.total, real.accepted) == (26, 21)
    assert trial.test and not real.test


def test_annual_test_delivery_sees_a_storno_and_its_correction(
    service: Service, deliver: Deliver, writes: Writes
) -> None:
    """A test Jahresmeldung file: the second Jahresmeldung of a person is ZVME135 unless a Storno
    in the file cancelled the first; nothing is written."""
    first = FileBuilder(file_number=1)
    for n in range(1, 10):
        first.anmeldung(n, date(2025, 1, 1))
    deliver(first)
    annual = FileBuilder(kind="Jahresmeldung", period="2025", file_number=2)
    for n in range(1, 10):
        annual.jahresmeldung(n, meldungs_id=f"J{n}")
    deliver(annual)
    writes.clear()
    b = FileBuilder(kind="Jahresmeldung", period="2025", file_number=3, test=True)
    b.jahresmeldung(1, meldungs_id="J1b")  # ZVME135
    b.storno("J1", meldungs_id="S1")
    b.jahresmeldung(1, meldungs_id="J1c")  # accepted: J1 is cancelled by S1
    b.jahresmeldung(1, meldungs_id="J1d")  # ZVME135: J1c is the year's Jahresmeldung now
    for n in range(2, 10):
        b.storno(f"J{n}", meldungs_id=f"S{n}")
    b.storno("J2", meldungs_id="S2b")  # ZVME160: cancelled by S2 in this file
    verdict = deliver(b)
    assert writes.none()
    assert [(f.code, f.satz) for f in verdict.findings] == [
        ("ZVME135", 1),
        ("ZVME135", 4),
        ("ZVME160", 13),
    ]


def test_file_refused_by_its_vorlauf_writes_nothing(
    service: Service, deliver: Deliver, writes: Writes
) -> None:
    """A Vorlauf refused before the first report (here ZVVO030): its reports are checked against
    the stored state as usual, but none is applied."""
    b = FileBuilder(period="2026")  # a Monatsmeldung with a year: ZVVO030
    b.anmeldung(1, meldungs_id="R1")
    b.anmeldung(1, meldungs_id="R2")  # ZVME130: the first is seen, though not written
    verdict = deliver(b)
    assert writes.none()
    assert [f.code for f in verdict.findings] == ["ZVVO030", "ZVME130"]
    assert verdict.result == "abgewiesen"
    assert service.count_committed() == 0


def test_file_broken_at_its_end_rolls_back(
    service: Service, deliver: Deliver, writes: Writes
) -> None:
    """A file found wrong only by its Nachlauf was applied report by report; its one
    transaction is rolled back, and nothing of it stays."""
    b = FileBuilder(file_number=1)
    for n in range(1, 10):
        b.anmeldung(n)
    b.trailer_overrides["AnzahlMeldungen"] = "5"
    verdict = deliver(b)
    assert verdict.result == "abgewiesen"
    assert not writes.none()
    assert service.count_committed() == 0
    assert committed_satz(service, verdict) == set()


def test_overlay_keeps_a_batch_outside_memory() -> None:
    """Marked answers are held only until their batch is kept; then they are read back from
    the overlay's own file, the last answer for a key winning."""
    overlay = Overlay()
    try:
        overlay.mark("used", "A1", True)
        overlay.mark("spans", "5/1", [(date(2026, 1, 1), None)])
        assert overlay.get("used", ["A1", "A2"]) == {"A1": True}
        overlay.keep()
        assert overlay._marked == {}
        overlay.mark("spans", "5/1", [(date(2026, 1, 1), date(2026, 3, 31))])
        overlay.keep()
        assert overlay.get("used", ["A1", "A2"]) == {"A1": True}
        assert overlay.spans([(5, 1), (6, 1)]) == {(5, 1): [(date(2026, 1, 1), date(2026, 3, 31))]}
        assert overlay.spans_at(1) == {5: [(date(2026, 1, 1), date(2026, 3, 31))]}
    finally:
        overlay.close()
