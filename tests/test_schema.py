"""The database schema: migrations agree with the models, and lookups that run per report have
an index to go through, on SQLite and on PostgreSQL."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, func, inspect, select, text
from zvk_inprocess import zvk_here, zvk_in

import ingest.accounts.models  # registers the portal's tables
import ingest.reconciling.models  # noqa: F401  (registers the reconciliation tables)
from ingest.pipeline import Service
from ingest.samples.builder import FileBuilder
from ingest.storing import credentials  # noqa: F401  (registers the SFTP tables)
from ingest.storing.db import SCHEMA_HEADS, alembic_config, migrate
from ingest.storing.models import Base, Delivery, Insurance, Period, Report
from ingest.validating.submission import Channel
from tests.conftest import SENDER, Deliver


def engine_of(service: Service) -> Engine:
    engine = service.sessions.kw["bind"]
    assert isinstance(engine, Engine)
    return engine


def test_migrations_build_the_schema_of_the_models(service: Service) -> None:
    """`zvk init` migrated this database: Alembic finds nothing the models have differently."""
    with engine_of(service).connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_the_code_expects_the_newest_migration(service: Service) -> None:
    config = alembic_config(engine_of(service))
    assert set(ScriptDirectory.from_config(config).get_heads()) == SCHEMA_HEADS


def plan(engine: Engine, statement: str, **params: object) -> str:
    """The query plan, with sequential scans made as expensive as they get (PostgreSQL)."""
    with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text("SET enable_seqscan = off"))
            rows = connection.execute(text(f"EXPLAIN {statement}"), params)
            return "\n".join(row[0] for row in rows)
        rows = connection.execute(text(f"EXPLAIN QUERY PLAN {statement}"), params)
        return "\n".join(str(row[-1]) for row in rows)


def searches_an_index(query_plan: str, index: str) -> bool:
    """PostgreSQL names the index; SQLite calls a UNIQUE constraint's index sqlite_autoindex_…"""
    if query_plan.startswith("SEARCH") or query_plan.startswith("SCAN"):
        return query_plan.startswith("SEARCH") and "USING INDEX" in query_plan
    return index in query_plan and "Seq Scan" not in query_plan


def test_a_storno_finds_what_it_cancels_through_indexes(service: Service) -> None:
    """The Bezug is a MeldungsId without a sender; the relationship of a cancelled Anmeldung
    or Abmeldung is found by person and office. None of them reads a whole table."""
    engine = engine_of(service)
    by_reference = plan(
        engine,
        "SELECT id FROM reports WHERE meldungs_id = :m AND kind != 'Storno'",
        m="A1",
    )
    assert searches_an_index(by_reference, "uq_reports_meldungs_id_sender_number"), by_reference
    relationship = plan(
        engine,
        "SELECT id FROM insurances WHERE person_id = :p AND billing_office_id = :o "
        "AND opened_by = :r",
        p=1,
        o=1,
        r=1,
    )
    assert searches_an_index(relationship, "ix_insurances_person_office"), relationship


def test_the_migration_to_0004_keeps_every_row(service: Service, deliver: Deliver) -> None:
    """Down to the two heads before it and up again (through 0005) on a filled database: every
    report and period stays, the foreign keys hold, a MeldungsId is unique per sender as
    before."""
    b = FileBuilder(file_number=1)
    for n in range(1, 6):
        b.anmeldung(n, date(2026, 1, 1))
    assert deliver(b).result == "fehlerfrei"
    b = FileBuilder(file_number=2, kind="Jahresmeldung", period="2026")
    for n in range(1, 6):
        b.jahresmeldung(n)
    assert deliver(b).result == "fehlerfrei"
    engine = engine_of(service)
    config = alembic_config(engine)

    def unique_constraints() -> set[tuple[str, ...]]:
        return {tuple(u["column_names"]) for u in inspect(engine).get_unique_constraints("reports")}

    def counts() -> tuple[int, int, int]:
        with engine.connect() as connection:
            return tuple(  # type: ignore[return-value]
                connection.scalar(select(func.count()).select_from(table)) or 0
                for table in (Report, Period, Insurance)
            )

    before = counts()
    assert before == (10, 5, 5)
    command.downgrade(config, "0003")  # leaves both heads before it: 0002 and 0003
    assert unique_constraints() == {("sender_number", "meldungs_id")}
    home = service.settings.home
    refused = zvk_in(home, "deliveries", "list")
    assert refused.returncode == 2
    assert "run `zvk init` to migrate" in refused.stderr and "0002, 0003" in refused.stderr
    migrated = zvk_in(home, "init")
    assert migrated.returncode == 0, migrated.stderr
    assert f"database schema 0002, 0003 -> {', '.join(sorted(SCHEMA_HEADS))}" in migrated.stdout
    assert unique_constraints() == {("meldungs_id", "sender_number")}
    assert counts() == before
    engine.dispose()  # the next connections start with the service's pragmas again
    if engine.dialect.name == "sqlite":
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert connection.exec_driver_sql("PRAGMA foreign_key_check").first() is None
    b = FileBuilder(file_number=3)
    b.anmeldung(6, meldungs_id="M1-000001")  # the MeldungsId of the first file's first report
    verdict = deliver(b)
    assert [f.code for f in verdict.findings] == ["ZVME061"]


def test_the_migration_to_0005_names_the_channels_as_the_submission_does(
    service: Service, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Drop-folder deliveries stored as `drop` become `dropfolder` (and `drop` again when the
    migration is undone); `sftp` and `cli` stay as they are, and `zvk deliveries show` names the
    channel stored."""
    ids: dict[Channel, str] = {}
    for n, channel in enumerate((Channel.DROPFOLDER, Channel.SFTP, Channel.CLI), start=1):
        b = FileBuilder(file_number=n)
        b.anmeldung(n)
        path = b.write(tmp_path / f"datei-{n}.xml")
        ids[channel] = service.ingest(
            path, sender_number=SENDER, test=False, channel=channel
        ).delivery_id
    engine = engine_of(service)

    def channels() -> dict[str, str]:
        with engine.connect() as connection:
            rows = connection.execute(select(Delivery.delivery_id, Delivery.channel))
            return {delivery_id: channel for delivery_id, channel in rows}

    assert channels() == {ids[c]: c.value for c in ids}
    command.downgrade(alembic_config(engine), "0004")
    before = {ids[Channel.DROPFOLDER]: "drop", ids[Channel.SFTP]: "sftp", ids[Channel.CLI]: "cli"}
    assert channels() == before
    assert migrate(engine) == f"database schema 0004 -> {', '.join(sorted(SCHEMA_HEADS))}"
    assert channels() == {ids[c]: c.value for c in ids}
    shown = zvk_here(capsys, service.settings.home, "deliveries", "show", ids[Channel.DROPFOLDER])
    assert shown.returncode == 0, shown.stderr
    assert re.search(r"^Kanal:\s+dropfolder$", shown.stdout, re.MULTILINE), shown.stdout
