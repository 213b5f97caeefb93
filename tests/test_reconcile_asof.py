"""A run as of a day concerns what existed on that day; "latest" is the latest day reconciled."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from conftest import Deliver
from sqlalchemy import select, update
from test_reconcile import _small_year, arrived_on, cli

from ingest.reconciling.publish import build_reports
from ingest.samples.builder import FileBuilder
from ingest.settings import Settings
from ingest.storing.db import make_engine, session_factory
from ingest.storing.models import Delivery

TODAY = datetime.now(ZoneInfo("Europe/Berlin")).date()


def rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_run_for_a_past_day_neither_reports_later_deliveries_nor_becomes_the_latest(
    settings: Settings, database_url: str | None, deliver: Deliver
) -> None:
    """Today's run finds the lost protocol; a run as of 1999, started later, finds nothing (the
    delivery did not exist then), and the export and the reports keep using today's run."""
    builder = FileBuilder()
    builder.anmeldung(1)
    verdict = deliver(builder)
    with session_factory(make_engine(settings))() as session:
        protocol = session.scalar(
            select(Delivery.protocol_path).where(Delivery.delivery_id == verdict.delivery_id)
        )
    assert protocol is not None
    (settings.home / protocol).unlink()

    today = cli(settings, database_url, "reconcile")
    assert "protokoll_fehlt" in today
    past = cli(settings, database_url, "reconcile", "--date", "1999-01-01")
    assert past.splitlines()[0] == "Abgleich zum 1999-01-01 (Lauf 2): 0 Befunde"

    exported = rows(cli(settings, database_url, "export", "abgleich", "--format", "csv"))
    assert [(r["art"], r["bezug"], r["stichtag"], r["lauf"]) for r in exported] == [
        ("protokoll_fehlt", verdict.delivery_id, TODAY.isoformat(), "1")
    ]
    assert rows(cli(settings, database_url, "export", "abgleich", "--lauf", "2")) == []

    sessions = session_factory(make_engine(settings))
    [fund] = [p for p in build_reports(settings, sessions, TODAY) if p.member is None]
    with (fund.folder / "abgleich.csv").open(encoding="utf-8-sig") as fh:
        assert [r["art"] for r in csv.DictReader(fh, delimiter=";")] == ["protokoll_fehlt"]
    # Reports as of a day before today's run use the run of that earlier day.
    [old] = [p for p in build_reports(settings, sessions, date(1999, 1, 2)) if p.member is None]
    with (old.folder / "abgleich.csv").open(encoding="utf-8-sig") as fh:
        assert list(csv.DictReader(fh, delimiter=";")) == []


def test_a_day_that_has_not_come_yet_is_refused(
    settings: Settings, database_url: str | None
) -> None:
    tomorrow = (TODAY + timedelta(days=1)).isoformat()
    cli(settings, database_url, "reconcile", "--date", tomorrow, code=2)
    cli(settings, database_url, "reports", "build", "--date", tomorrow, code=2)


def test_monthly_statement_that_arrived_later_was_missing_on_the_day(
    settings: Settings, database_url: str | None, deliver: Deliver
) -> None:
    """April's Monatsabrechnung arrived on 1 March 2026: missing as of 1 February, present as of
    2 March; the ledger check of 1 February does not see that delivery at all."""
    year = _small_year()
    for sender, builder in year.files():
        assert deliver(builder, sender=sender).result == "fehlerfrei"
    arrived_on(settings, date(2025, 12, 20))
    late = datetime(2026, 3, 1, 9, tzinfo=UTC)
    with session_factory(make_engine(settings)).begin() as session:
        changed = session.execute(
            update(Delivery).where(Delivery.period == "2025-04").values(received_at=late)
        )
        assert changed.rowcount == 1  # type: ignore[attr-defined]
        april = session.scalar(select(Delivery.protocol_path).where(Delivery.received_at == late))
    assert april is not None
    (settings.home / april).unlink()

    def missing(day: str) -> set[tuple[str, str]]:
        cli(settings, database_url, "reconcile", "--date", day)
        found = rows(cli(settings, database_url, "export", "abgleich", "--format", "csv"))
        kinds = {"monatsabrechnung_fehlt", "protokoll_fehlt"}
        return {(r["art"], r["zeitraum"]) for r in found if r["art"] in kinds}

    assert missing("2026-02-01") == {("monatsabrechnung_fehlt", "2025-04")}
    # As of 2 March January 2026 is due too, and nobody sent its Monatsabrechnung.
    assert missing("2026-03-02") == {
        ("protokoll_fehlt", "2025-04"),
        ("monatsabrechnung_fehlt", "2026-01"),
    }


def test_back_dated_reports_and_runs_count_only_what_had_arrived(
    settings: Settings, database_url: str | None, deliver: Deliver
) -> None:
    """A Jahresmeldung that arrived after the day earns no points in that day's reports, nor in
    the summary of a run for that day; reports without a run up to their day say so."""
    from ingest.samples.builder import PersonSeed, period_node

    seed = PersonSeed(1)
    monthly = FileBuilder(file_number=1, period="2025-01")
    monthly.anmeldung(seed, date(2025, 1, 1))
    assert deliver(monthly).result == "fehlerfrei"
    arrived_on(settings, date(2025, 2, 1))
    annual = FileBuilder(file_number=2, kind="Jahresmeldung", period="2025")
    full = (date(2025, 1, 1), date(2025, 12, 31))
    annual.jahresmeldung(seed, [period_node(*full, "011011", "24000.00")])
    assert deliver(annual).result == "fehlerfrei"  # arrives today
    day = "2025-10-01"

    past = cli(settings, database_url, "reconcile", "--date", day)
    assert "Versorgungspunkte: 0 berechnet, 0 entfernt" in past
    assert "1 weitere" in past
    built = cli(settings, database_url, "reports", "build", "--date", day)
    assert "kein Abgleichslauf" not in built
    fund = settings.home / "reports" / "kasse" / day
    with (fund / "versorgungspunkte.csv").open(encoding="utf-8-sig") as fh:
        assert list(csv.DictReader(fh, delimiter=";")) == []
    assert "Kein Abgleich" not in (fund / "bericht.html").read_text("utf-8")

    earlier = "2025-09-01"
    built = cli(settings, database_url, "reports", "build", "--date", earlier)
    assert f"kein Abgleichslauf bis zum {earlier}" in built
    html = (settings.home / "reports" / "kasse" / earlier / "bericht.html").read_text("utf-8")
    assert "Kein Abgleich bis zum 01.09.2025" in html

    now = cli(settings, database_url, "reports", "build")
    assert "kein Abgleichslauf" not in now  # the run of 2025-10-01 is the latest up to today
    today = settings.home / "reports" / "kasse" / TODAY.isoformat()
    with (today / "versorgungspunkte.csv").open(encoding="utf-8-sig") as fh:
        assert len(list(csv.DictReader(fh, delimiter=";"))) == 1
