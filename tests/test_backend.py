"""The database backends alone: each dialect's statements, claims and bulk path.

Nothing of the service but :mod:`ingest.storing.backend` is imported: a table of its own, an
engine made the way the service makes it (the backend configures it), on SQLite or, with
``ZVK_TEST_POSTGRES``, on a fresh PostgreSQL database.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import (
    Column,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    create_engine,
    event,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ingest.storing.backend import PostgreSQL, SQLite, backend_for, backend_of

PROBE = Table(
    "backend_probe",
    MetaData(),
    Column("id", Integer, primary_key=True),
    Column("name", String(10), nullable=False),
    Column("note", String(20)),
)


def among_sql(backend: SQLite | PostgreSQL, dialect: object) -> str:
    statement = select(PROBE.c.id).where(backend.among(PROBE.c.name))
    return str(statement.compile(dialect=dialect))  # type: ignore[arg-type]


def test_the_batch_lookup_condition_of_each_dialect() -> None:
    """All keys in one parameter: an array on PostgreSQL (of unbounded text, so a longer key
    is not cut to the column's width), a JSON array read by json_each on SQLite."""
    pg = among_sql(PostgreSQL(), postgresql.dialect())
    assert "backend_probe.name = ANY (%(keys)s::VARCHAR[])" in pg, pg
    assert "VARCHAR(10)" not in pg
    lite = among_sql(SQLite(), sqlite.dialect())
    assert "backend_probe.name IN (SELECT anon_1.value \nFROM json_each(?) AS anon_1)" in lite
    assert PostgreSQL().keys(("a", "b")) == ["a", "b"]
    assert SQLite().keys(("a", "b")) == '["a", "b"]'


def test_the_backend_is_chosen_by_the_dialect() -> None:
    lite = create_engine("sqlite://")
    pg = create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")  # never connected
    assert isinstance(backend_of(lite), SQLite) and isinstance(backend_of(pg), PostgreSQL)
    with Session(lite) as session, lite.connect() as connection:
        assert backend_of(session) is backend_of(connection) is backend_of(lite)
    assert (SQLite.readers_apart, PostgreSQL.readers_apart) == (True, False)
    with pytest.raises(Exception, match="'mysql' is not supported"):
        backend_for("mysql")


@pytest.fixture
def engine(database_url: str | None, tmp_path: Path) -> Iterator[Engine]:
    """The writer's engine on the test's database, with a probe table of its own."""
    made = create_engine(database_url or f"sqlite:///{tmp_path / 'probe.sqlite3'}")
    backend_of(made).configure(made, writer=True)
    PROBE.create(made)
    try:
        yield made
    finally:
        PROBE.drop(made)
        made.dispose()


def recorded(engine: Engine) -> list[tuple[str, bool]]:
    """The statements that go through SQLAlchemy from now on: (text, executemany)."""
    seen: list[tuple[str, bool]] = []

    def remember(_conn, _cursor, statement, _params, _context, many) -> None:  # type: ignore[no-untyped-def]
        seen.append((" ".join(statement.split()), many))

    event.listen(engine, "before_cursor_execute", remember)
    return seen


def test_rows_ids_lookups_and_tuning_on_the_database(engine: Engine) -> None:
    """Ids reserved ahead, rows written in bulk in the session's transaction and found again by
    one lookup; PostgreSQL writes with COPY (no INSERT), SQLite with one executemany that
    leaves out a column NULL in every row; the worker's tuning and ANALYZE on PostgreSQL only."""
    backend = backend_of(engine)
    seen = recorded(engine)
    with Session(engine) as session:
        ids = backend.ids(PROBE)
        block = ids.reserve(session)
        assert len(block) == 1000 and block == sorted(block, reverse=True)
        top = block[0]
        rows = [(block.pop(), f"n{i}", None) for i in range(3)]
        backend.write_rows(session, PROBE, ("id", "name", "note"), rows)
        backend.tune_worker(session, 1.1)
        backend.analyze(session, ["backend_probe (name)"])
        lookup = select(PROBE.c.id, PROBE.c.name).where(backend.among(PROBE.c.name))
        found = session.connection().execute(lookup, {"keys": backend.keys(["n0", "n2", "x"])})
        assert sorted(tuple(row) for row in found) == [(rows[0][0], "n0"), (rows[2][0], "n2")]
        assert min(ids.reserve(session)) > top  # the next block follows the first
        if isinstance(backend, SQLite):  # rows written by other means: the table decides
            assert ids.forget()
            assert min(ids.reserve(session)) == max(row[0] for row in rows) + 1
        else:  # the sequence never hands out an id twice
            assert not ids.forget()
        session.commit()
    inserts = [(s, many) for s, many in seen if s.startswith("INSERT")]
    if isinstance(backend, PostgreSQL):
        assert inserts == []
        assert "SET LOCAL random_page_cost = 1.1" in [s for s, _ in seen]
        assert "ANALYZE backend_probe (name)" in [s for s, _ in seen]
    else:
        assert inserts == [('INSERT INTO "backend_probe" ("id", "name") VALUES (?, ?)', True)]
        assert not [s for s, _ in seen if s.startswith(("SET", "ANALYZE"))]
    with engine.connect() as connection:
        assert connection.scalar(select(PROBE.c.name).where(PROBE.c.id == rows[1][0])) == "n1"


def test_a_writer_on_sqlite_takes_the_lock_when_it_begins(engine: Engine) -> None:
    """The writer's transactions begin IMMEDIATE, on connections with the service's pragmas;
    a commit without checkpoint leaves the log to the checkpoint thread."""
    backend = backend_of(engine)
    if not isinstance(backend, SQLite):
        pytest.skip("SQLite's locking")
    seen = recorded(engine)
    with Session(engine) as session:
        session.execute(select(PROBE.c.id))
        assert session.connection().exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert session.connection().exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        backend.commit_without_checkpoint(session)
    assert ("BEGIN IMMEDIATE", False) in seen
    assert ("PRAGMA wal_autocheckpoint=0", False) in seen
    backend.checkpoint(engine).wait()


def test_a_claim_is_held_by_one_holder_at_a_time(engine: Engine, tmp_path: Path) -> None:
    """SQLite: a lock file in the home; PostgreSQL: an advisory lock per delivery."""
    backend = backend_of(engine)
    first, second = backend.claims(engine, tmp_path), backend.claims(engine, tmp_path)
    try:
        assert first.claim(7)
        assert not second.claim(7)
        first.release(7)
        assert second.claim(7)
        second.release(7)
    finally:
        first.close()
        second.close()
