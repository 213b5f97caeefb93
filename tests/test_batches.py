"""Large files in batches: file order across batch boundaries, the benchmark generator, progress.

The stored-state checks load and write a batch of reports at a time (``checker.BATCH``); these
tests shrink the batch so that a few dozen reports cross several boundaries.
"""

from __future__ import annotations

import importlib.util
import io
import subprocess
import sys
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path
from types import ModuleType

import pytest
from rich.console import Console
from sqlalchemy import event, func, select, text
from sqlalchemy.orm import Session
from zvk_inprocess import zvk_in

from ingest.cli.progressbar import progress_bar
from ingest.pipeline import Service
from ingest.progress import ProgressWriter, clear_progress, read_progress
from ingest.samples.builder import FileBuilder, Node, PersonSeed, period_node
from ingest.settings import Settings
from ingest.storing import bulk
from ingest.storing.backend import PostgreSQL, SQLite
from ingest.storing.db import make_engine, session_factory
from ingest.storing.lookup_sql import Statistics
from ingest.storing.models import Delivery, DeliveryState, Insurance, Period, Person, Report
from ingest.storing.view import StoredView
from ingest.validating import checker
from ingest.validating.submission import Channel
from tests.conftest import SENDER, Deliver, codes

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(checker, "BATCH", 7)


def load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_generate", ROOT / "bench" / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being defined
    spec.loader.exec_module(module)
    return module


def count(service: Service, *where: object) -> int:
    with service.sessions() as session:
        return session.scalar(select(func.count()).select_from(Report).where(*where)) or 0  # type: ignore[arg-type]


def test_later_reports_see_earlier_ones_across_batches(service: Service, deliver: Deliver) -> None:
    """Within and across batches: a repeated id, a second Anmeldung, a Storno and its correction."""
    b = FileBuilder(file_number=1)
    for n in range(1, 31):
        b.anmeldung(n, date(2026, 10, 1), meldungs_id=f"A{n}")
    b.anmeldung(31, meldungs_id="A3")  # ZVME061: the id of report 3 (an earlier batch)
    b.anmeldung(5, meldungs_id="A32")  # ZVME130: person 5 is open since report 5
    b.storno("A20", meldungs_id="S20")  # through the ORM, between batched reports
    b.anmeldung(20, date(2026, 10, 15), meldungs_id="A20b")  # the corrected Anmeldung
    b.anmeldung(20, meldungs_id="A20c")  # ZVME130 again: A20b opened it
    b.anmeldung(33, meldungs_id="A33")
    b.anmeldung(33, meldungs_id="A34")  # ZVME130 in the same batch as its new person
    verdict = deliver(b)
    assert verdict.result == "teilweise_abgewiesen"
    assert [(f.code, f.satz) for f in verdict.findings] == [
        ("ZVME061", 31),
        ("ZVME130", 32),
        ("ZVME130", 35),
        ("ZVME130", 37),
    ]
    assert (verdict.total, verdict.accepted) == (37, 33)
    with service.sessions() as session:
        persons = session.scalar(select(func.count()).select_from(Person))
        open_20 = session.scalars(
            select(Insurance.begin).join(Person).where(Person.rvnr.is_not(None))
        ).all()
        assigned = session.scalar(
            select(func.count()).select_from(Report).where(Report.assigned.is_(True))
        )
    assert persons == 31  # persons 1-30 and 33; person 20 kept its number
    assert len(open_20) == 31  # A20's relationship was removed by the Storno, A20b opened one
    assert date(2026, 10, 15) in open_20
    assert assigned == 31
    assert len(verdict.assignments) == 31
    assert count(service, Report.cancelled.is_(True)) == 1


def test_annual_reports_see_earlier_batches(service: Service, deliver: Deliver) -> None:
    """What a batch applied is known to the next ones: a second Jahresmeldung, an RVNR that a
    Jahresmeldung of an earlier batch brought, a used MeldungsId."""
    b = FileBuilder(file_number=1)
    for n in range(1, 12):
        b.anmeldung(n, date(2026, 1, 1))
    b.anmeldung(12, date(2026, 1, 1), with_rvnr=False)  # known by its Versicherungsnummer only
    registered = deliver(b)
    assert registered.result == "fehlerfrei"
    number_12 = registered.assignments[-1].versicherungsnummer
    b = FileBuilder(file_number=2, kind="Jahresmeldung", period="2026")
    for n in range(1, 11):  # Satz 1-10: batch 1 (Satz 1-7) and 2 (Satz 8-14)
        b.jahresmeldung(n, meldungs_id=f"J{n}")
    b.jahresmeldung(3, meldungs_id="J3b")  # Satz 11: ZVME135, person 3's came in batch 1
    b.jahresmeldung(12, meldungs_id="J12").set("Person/Versicherungsnummer", number_12)
    b.jahresmeldung(11, meldungs_id="J11")  # Satz 13
    b.jahresmeldung(11, meldungs_id="J11b")  # Satz 14: ZVME135 within the batch
    b.jahresmeldung(12, meldungs_id="J12b")  # Satz 15, batch 3: by the RVNR Satz 12 brought
    b.jahresmeldung(4, meldungs_id="J2")  # Satz 16: ZVME061, the id of Satz 2
    verdict = deliver(b)
    assert [(f.code, f.satz) for f in verdict.findings] == [
        ("ZVME135", 11),
        ("ZVME135", 14),
        ("ZVME135", 15),
        ("ZVME061", 16),
    ]
    assert (verdict.total, verdict.accepted) == (16, 12)
    with service.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Person)) == 12
        rvnr_12 = session.scalar(select(Person.rvnr).where(Person.versicherungsnummer == number_12))
    assert rvnr_12 == PersonSeed(12).rvnr
    assert count(service, Report.kind == "Jahresmeldung") == 12


def test_zvk_check_finds_repeated_meldungs_ids_across_batches(
    tmp_path: Path, settings: Settings
) -> None:
    """Without a database the file's own accepted reports are remembered (in a temporary
    SQLite file, not in memory): a repeat within a batch and across batches is ZVME061; the id
    of a rejected report may come again."""
    b = FileBuilder(file_number=1)
    for n in range(1, 11):
        b.anmeldung(n, meldungs_id=f"A{n}")
    b.anmeldung(11, meldungs_id="A3")  # Satz 11, batch 2: report 3 was in batch 1
    wrong = PersonSeed(12).rvnr[:-1] + str((int(PersonSeed(12).rvnr[-1]) + 1) % 10)
    b.anmeldung(12, meldungs_id="A12").set("Person/RVNR", wrong)  # rejected: check digit
    b.anmeldung(13, meldungs_id="A12")  # Satz 13: accepted, Satz 12 was rejected
    b.anmeldung(14, meldungs_id="A14")  # Satz 14, batch 2
    b.anmeldung(15, meldungs_id="A14")  # Satz 15, batch 3
    b.anmeldung(16, meldungs_id="A16")
    b.anmeldung(17, meldungs_id="A16")  # Satz 17, same batch
    path = b.write(tmp_path / "doppelt.xml")
    outcome = checker.FileCheck.without_database(path, settings).run()
    assert [f.satz for f in outcome.findings if f.code == "ZVME061"] == [11, 15, 17]
    assert [(f.code, f.satz) for f in outcome.findings if f.code != "ZVME061"] == [("ZVME088", 12)]
    assert (outcome.total, outcome.accepted) == (17, 13)


def test_bulk_rows_are_stored_as_the_orm_stores_them(service: Service, deliver: Deliver) -> None:
    """The batches bind plain values (ISO text, decimal text, 0 and 1) where the ORM binds
    dates, decimals and booleans: what is stored, and on SQLite its storage class, is the same.

    An Abmeldung is written through the ORM, a Jahresmeldung in a batch, with the same periods.
    """

    def periods() -> list[Node]:
        return [
            period_node(date(2026, 1, 1), date(2026, 3, 31), pay="1166.40"),
            period_node(date(2026, 1, 1), date(2026, 3, 31), "012001", pay="24000.00"),
        ]

    b = FileBuilder(file_number=1)
    b.anmeldung(1, date(2026, 1, 1))
    b.anmeldung(2, date(2026, 1, 1))
    assert deliver(b).result == "fehlerfrei"
    b = FileBuilder(file_number=2, period="2026-03")
    b.abmeldung(2, date(2026, 3, 31), periods=periods(), meldungs_id="AB2")
    assert deliver(b).result == "fehlerfrei"
    b = FileBuilder(file_number=3, kind="Jahresmeldung", period="2026")
    b.jahresmeldung(1, periods(), meldungs_id="J1")
    assert deliver(b).result == "fehlerfrei"

    columns = ("begin", "end", "booking_key", "pay", "amount", "children")
    with service.sessions() as session:
        ids = {m: i for m, i in session.execute(select(Report.meldungs_id, Report.id))}
        stored = {
            key: session.execute(
                select(*(getattr(Period, c) for c in columns))
                .where(Period.report_id == ids[key])
                .order_by(Period.position)
            ).all()
            for key in ("AB2", "J1")
        }
        assert stored["J1"] == stored["AB2"]
        assert stored["J1"][0].pay == Decimal("1166.40")
        flags = session.execute(select(Report.cancelled, Report.assigned).order_by(Report.id))
        new_person, no_new_person = (False, True), (False, False)  # (cancelled, assigned)
        expected = [new_person, new_person, no_new_person, no_new_person]  # A1, A2, AB2, J1
        assert [tuple(f) for f in flags] == expected
        assert {type(b) for b in session.scalars(select(Insurance.begin))} == {date}
        if session.get_bind().dialect.name != "sqlite":
            return
        # the storage classes, which the ORM decides for its rows
        classes = ", ".join(f'typeof("{c}"), "{c}"' for c in columns)
        raw = {
            key: session.execute(
                text(f"SELECT {classes} FROM periods WHERE report_id = :r ORDER BY position"),  # noqa: S608
                {"r": ids[key]},
            ).all()
            for key in ("AB2", "J1")
        }
        assert raw["J1"] == raw["AB2"]
        assert [row[6:8] for row in raw["J1"]] == [("real", 1166.4), ("integer", 24000)]
        per_report = session.execute(
            text(
                'SELECT meldungs_id, typeof(cancelled), typeof(assigned), typeof("begin") '
                "FROM reports ORDER BY id"
            )
        ).all()
        kinds = {row[1:3] for row in per_report}
        assert kinds == {("integer", "integer")}
        births = session.execute(text("SELECT DISTINCT typeof(birth_date) FROM persons")).all()
        assert births == [("text",)]


def test_a_rejected_file_leaves_nothing_of_any_batch(service: Service, deliver: Deliver) -> None:
    """A wrong trailer rejects the file after many batches were written: all rolled back."""
    b = FileBuilder(file_number=1)
    for n in range(1, 25):
        b.anmeldung(n)
    b.trailer_overrides["AnzahlMeldungen"] = "99"
    verdict = deliver(b)
    assert verdict.result == "abgewiesen"
    assert "ZVNC010" in codes(verdict)
    assert count(service) == 0
    with service.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Person)) == 0
        d = session.scalar(select(Delivery).where(Delivery.delivery_id == verdict.delivery_id))
        assert d is not None and d.progress == 24


def test_a_failed_batch_write_rejects_the_file_and_leaves_the_database_usable(
    service: Service, deliver: Deliver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Writing a batch fails (``COPY`` on PostgreSQL, ``executemany`` on SQLite): the file gets
    ZVSY999, nothing of it stays, and the next file goes through on a clean connection."""
    calls = {"n": 0}
    real_copy, real_executemany = PostgreSQL.write_rows, SQLite.write_rows

    def failing(real: Callable[..., None]) -> Callable[..., None]:
        def wrapper(*args: object) -> None:
            calls["n"] += 1
            if calls["n"] == 2:
                raise RuntimeError("disk full while writing a batch")
            real(*args)

        return wrapper

    monkeypatch.setattr(PostgreSQL, "write_rows", failing(real_copy))
    monkeypatch.setattr(SQLite, "write_rows", failing(real_executemany))
    b = FileBuilder(file_number=1)
    for n in range(1, 30):
        b.anmeldung(n)
    verdict = deliver(b)
    assert calls["n"] >= 2
    assert verdict.result == "abgewiesen"
    assert codes(verdict) == ["ZVSY999"]
    assert count(service) == 0
    with service.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Person)) == 0
    monkeypatch.undo()
    monkeypatch.setattr(checker, "BATCH", 7)
    again = deliver(b)
    assert (again.result, again.accepted) == ("fehlerfrei", 29)
    assert count(service) == 29


def test_statement_cache_keeps_no_batch_values(service: Service, deliver: Deliver) -> None:
    """Memory stays flat: no cached statement holds the values of a batch lookup.

    Lookups built as ``column.in_(values)`` were kept by SQLAlchemy's statement cache with their
    values, so a long file grew the process by every MeldungsId it contained.
    """
    b = FileBuilder(file_number=1)
    for n in range(1, 50):
        b.anmeldung(n)
    assert deliver(b).result == "fehlerfrei"
    engine = service.sessions.kw["bind"]
    cache = engine._compiled_cache  # SQLAlchemy's LRU of compiled statements
    assert cache is not None and len(cache) > 0
    held = [
        bind.value
        for compiled in cache.values()
        for bind in compiled.binds.values()
        if isinstance(bind.value, (list, tuple)) and len(bind.value) > 1
    ]
    assert held == []


def test_generated_files_carry_the_faults_they_promise(
    service: Service, deliver: Deliver, tmp_path: Path
) -> None:
    """The benchmark's monthly file sets up the persons; its annual file has 1 fault in 10."""
    generate = load_generator()
    year = date.today().year - 1
    monthly = generate.Plan(reports=50, kind="monthly", year=year, faulty_share=0, offices=2)
    annual = generate.Plan(
        reports=50, kind="annual", year=year, faulty_share=0.1, offices=2, file_number=2
    )
    first = service.ingest(
        generate.generate(monthly, tmp_path / "m.xml"), sender_number=SENDER, test=False
    )
    assert (first.result, first.accepted) == ("fehlerfrei", 50)
    second = service.ingest(
        generate.generate(annual, tmp_path / "j.xml"), sender_number=SENDER, test=False
    )
    assert (second.result, second.total, second.accepted) == ("teilweise_abgewiesen", 50, 45)
    assert {"ZVDA010", "ZVME088", "ZVVA030", "ZVME061", "ZVME141"} <= set(codes(second))
    assert not any(f.severity == "H" for f in second.findings)


def test_generator_command_line_writes_a_valid_file(tmp_path: Path) -> None:
    out = tmp_path / "jm.xml"
    done = subprocess.run(
        [
            *(sys.executable, str(ROOT / "bench" / "generate.py"), "--reports", "20"),
            *("--kind", "annual", "--faulty-share", "0", "--output", str(out)),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    check = zvk_in(None, "check", str(out))
    assert check.returncode == 0, check.stdout
    assert "20" in check.stdout


def test_progress_side_file_and_deliveries_show(service: Service, tmp_path: Path) -> None:
    """A delivery being checked shows how far it is; the side file goes once it is done."""
    b = FileBuilder(file_number=1)
    b.anmeldung(1)
    path = b.write(tmp_path / "gross.xml")
    delivery_id = service.receive(path, sender_number=SENDER, test=False, channel=Channel.CLI)
    assert delivery_id is not None
    with service.sessions.begin() as session:
        d = session.scalar(select(Delivery).where(Delivery.delivery_id == delivery_id))
        assert d is not None
        d.state = DeliveryState.CHECKING.value
    writer = ProgressWriter(service.settings, delivery_id, size=4000)
    writer(250_000, 1000)
    now = read_progress(service.settings, delivery_id)
    assert now is not None and (now.reports, now.share) == (250_000, 0.25)
    shown = zvk_in(service.settings.home, "deliveries", "show", delivery_id)
    assert shown.returncode == 0, shown.stderr
    assert "Fortschritt:      250.000 Meldungen geprüft, 25 % der Datei gelesen" in shown.stdout
    verdict = service.process(delivery_id)
    assert verdict is not None and verdict.result == "fehlerfrei"
    assert read_progress(service.settings, delivery_id) is None
    clear_progress(service.settings, delivery_id)  # nothing left to clear: no error


def test_progress_bar_on_a_terminal() -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=140)
    with progress_bar(enabled=True, console=console) as bar:
        listener = bar.listener("jahresmeldung.xml")
        assert listener is not None
        listener("X", 5000, 500, 1000)
        bar.done()
    text = out.getvalue()
    assert "jahresmeldung.xml" in text and "5,000 Meldungen" in text
    with progress_bar(enabled=False) as none:
        assert none.listener("a.xml") is None


def test_planner_statistics_are_renewed_as_the_tables_grow(
    service: Service, deliver: Deliver
) -> None:
    """PostgreSQL: ANALYZE at the start and when a delivery grew the reports by half; the
    lookups are planned with the configured random_page_cost. SQLite: neither."""
    engine = service.sessions.kw["bind"]
    seen: list[str] = []

    def remember(_conn, _cursor, statement, _params, _context, _many) -> None:  # type: ignore[no-untyped-def]
        if statement.startswith(("ANALYZE", "SET LOCAL random_page_cost")):
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", remember)
    try:
        b = FileBuilder(file_number=1)
        for n in range(1, 8 * 7 + 1):  # 8 batches of 7 into empty tables
            b.anmeldung(n)
        assert deliver(b).result == "fehlerfrei"
    finally:
        event.remove(engine, "before_cursor_execute", remember)
    if engine.dialect.name != "postgresql":
        assert seen == []
        return
    # batch 1: 0 reports; then whenever 1,000 rows (ANALYZE_MIN_ROWS) were written: never here
    assert seen == [
        "SET LOCAL random_page_cost = 1.1",
        "ANALYZE persons (versicherungsnummer, rvnr), reports (sender_number, meldungs_id, "
        "person_id, billing_office_id, kind, year, cancelled), periods (report_id), "
        "insurances (person_id, billing_office_id, opened_by)",
    ]
    with service.sessions() as session:
        statistics = Statistics()
        analyzes = 0
        original = session.execute

        def counting(statement, *args, **kwargs):  # type: ignore[no-untyped-def]
            nonlocal analyzes
            analyzes += str(statement).startswith("ANALYZE")
            return original(statement, *args, **kwargs)

        session.execute = counting  # type: ignore[method-assign]
        for _batch in range(40):  # 40 batches of 1,000 on top of the 56 reports above
            statistics.renew_when_grown(session, PostgreSQL(), 1000)
        session.rollback()
    # at the start (56 rows), then after 1,000 (1,056), 1,000 (2,056), 2,000 (4,056),
    # 3,000 (7,056), 4,000 (11,056), 6,000 (17,056), 9,000 (26,056): 8 of 40 batches
    assert analyzes == 8


def test_a_batch_lookup_is_one_statement_whatever_its_size(
    service: Service, deliver: Deliver
) -> None:
    """All keys of a lookup travel as one parameter: one statement, found or not, for more keys
    than SQLite allows placeholders (32,766), and no key in the statement's text."""
    b = FileBuilder(file_number=1)
    for n in range(1, 11):
        b.anmeldung(n, meldungs_id=f"A{n}")
    assert deliver(b).result == "fehlerfrei"
    stored = [PersonSeed(n).rvnr for n in range(1, 11)]
    unknown = [f"{n:08d}X999" for n in range(40_000)]
    engine = service.sessions.kw["bind"]
    statements: list[tuple[str, object]] = []

    def remember(_conn, _cursor, statement, params, _context, _many) -> None:  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append((statement, params))

    with service.sessions() as session:
        state = StoredView(session, None, SENDER, None)
        event.listen(engine, "before_cursor_execute", remember)
        try:
            state._load_persons(
                Person.rvnr, [*unknown[:20_000], *stored, *unknown[20_000:]], state._by_rvnr
            )
            state._load_used([f"A{n}" for n in range(1, 40_001)])
        finally:
            event.remove(engine, "before_cursor_execute", remember)
        found = {rvnr: ref for rvnr, ref in state._by_rvnr.items() if ref is not None}
        used = {meldungs_id for meldungs_id, seen in state._used.items() if seen}
    assert sorted(found) == sorted(stored)
    assert len(state._by_rvnr) == 40_010
    assert {ref.rvnr for ref in found.values()} == set(stored)
    assert used == {f"A{n}" for n in range(1, 11)}
    assert len(statements) == 2
    for statement, _params in statements:
        assert "A12" not in statement and stored[0] not in statement
        assert statement.count("?") + statement.count("%(") <= 2  # the sender and the keys


def test_the_text_of_a_day_is_remembered_within_a_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bulk, "_DAYS", {})
    monkeypatch.setattr(bulk, "_DAYS_KEPT", 5)
    assert bulk.day(None) is None
    first = bulk.day(date(2026, 1, 31))
    assert first == "2026-01-31"
    assert bulk.day(date(2026, 1, 31)) is first  # the same text, not formatted again
    days = [date(2026, 2, n) for n in range(1, 13)]
    assert [bulk.day(d) for d in days] == [d.isoformat() for d in days]
    assert 0 < len(bulk._DAYS) <= 5


SQLITE = SQLite()


def test_a_large_commit_leaves_its_checkpoint_to_a_thread(settings: Settings) -> None:
    """SQLite: the commit of a large delivery does not copy the write-ahead log into the
    database (the protocol does not wait for that); its checkpoint runs on a thread of its own.
    A plain commit of the same size checkpoints by itself."""
    if not settings.database_url.startswith("sqlite"):
        pytest.skip("SQLite's write-ahead log")
    engine = make_engine(settings, writer=True)
    sessions = session_factory(engine)
    assert engine.url.database is not None
    database = Path(engine.url.database)

    def grow(commit: Callable[[Session], None]) -> None:  # 2,000 pages: twice the threshold
        with sessions() as session:
            session.execute(text("CREATE TABLE IF NOT EXISTS filler (x BLOB)"))
            session.execute(
                text(
                    "INSERT INTO filler WITH RECURSIVE n(i) AS "
                    "(SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000) "
                    "SELECT randomblob(4000) FROM n"
                )
            )
            commit(session)

    before = database.stat().st_size
    grow(SQLITE.commit_without_checkpoint)
    assert database.stat().st_size == before  # all of it still in the log
    with engine.connect() as connection:  # the pool gave the connection its default back
        assert connection.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 1000
    SQLITE.checkpoint(engine).wait()
    checkpointed = database.stat().st_size
    assert checkpointed > before + 4_000_000
    grow(Session.commit)
    assert database.stat().st_size > checkpointed + 4_000_000
