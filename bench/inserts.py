"""What a bulk row costs SQLite's driver, by how its values are typed.

Sets up a home with a monthly file of ``--persons`` Anmeldungen (so that the foreign keys and
indexes have realistic targets), then, on copies of its database, inserts ``--batches`` batches
of 1,000 Jahresmeldung rows and their 2,000 period rows the way ``storing/bulk.py`` does
(``executemany`` of one prepared ``INSERT`` on the driver, inside one transaction that is rolled
back), once with the values as Python objects (``date``, ``Decimal``, ``bool``: the driver
adapts each) and once as plain values (ISO text, decimal text, 0/1), alternating for
``--rounds`` rounds. Prints microseconds per row, median of the rounds.

    .venv/bin/python bench/inserts.py --persons 100000 --batches 200 --rounds 3
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

import generate  # noqa: E402  (bench/ is not a package)
import run  # noqa: E402

from ingest.storing.bulk import PERIOD_COLUMNS, REPORT_COLUMNS  # noqa: E402  (registers adapters)

STYLES = ("objects", "plain")


def insert_sql(table: str, columns: tuple[str, ...]) -> str:
    names = ", ".join(f'"{c}"' for c in columns)
    return f'INSERT INTO "{table}" ({names}) VALUES ({", ".join("?" * len(columns))})'  # noqa: S608


def rows(
    batch: int, first_id: int, delivery: int, persons: int, style: str
) -> tuple[list[Any], list[Any]]:
    """One batch of 1,000 report rows (as a Jahresmeldung makes them) and 2,000 period rows."""
    plain = style == "plain"
    reports: list[Any] = []
    periods: list[Any] = []
    spans = ((date(2025, 1, 1), date(2025, 6, 30)), (date(2025, 7, 1), date(2025, 12, 31)))
    for k in range(1000):
        rid = first_id + batch * 1000 + k
        person = (batch * 1000 + k) % persons + 1
        no: int | bool = 0 if plain else False
        head = (rid, delivery, generate.SENDER, k + 1, f"BENCH-{rid:010d}", "Jahresmeldung")
        tail = (None, None, None, None, None, 2025, None, None, no, no)  # rvnr … assigned
        reports.append((*head, person % 10 + 1, person, *tail))
        for position, (begin, end) in enumerate(spans, 1):
            pay, amount = Decimal(f"{12000 + k}.50"), Decimal(f"{(12000 + k) * 0.016:.2f}")
            if plain:
                texts = (begin.isoformat(), end.isoformat(), "011001", str(pay), str(amount))
                periods.append((rid, position, *texts, None))
            else:
                periods.append((rid, position, begin, end, "011001", pay, amount, None))
    return reports, periods


def one_run(database: Path, scratch: Path, style: str, batches: int) -> tuple[float, float]:
    """Seconds for the report rows and for the period rows, on a fresh copy of ``database``."""
    shutil.copyfile(database, scratch)
    connection = sqlite3.connect(scratch, isolation_level=None)
    try:
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON"):
            connection.execute(f"PRAGMA {pragma}")
        connection.execute("BEGIN IMMEDIATE")
        first_id = connection.execute("SELECT max(id) FROM reports").fetchone()[0] + 1
        delivery = connection.execute("SELECT max(id) FROM deliveries").fetchone()[0]
        persons = connection.execute("SELECT count(*) FROM persons").fetchone()[0]
        report_sql = insert_sql("reports", REPORT_COLUMNS)
        period_sql = insert_sql("periods", PERIOD_COLUMNS)
        spent = [0.0, 0.0]
        for batch in range(batches):
            reports, periods = rows(batch, first_id, delivery, persons, style)
            start = time.perf_counter()
            connection.executemany(report_sql, reports)
            middle = time.perf_counter()
            connection.executemany(period_sql, periods)
            spent[0] += middle - start
            spent[1] += time.perf_counter() - middle
        connection.execute("ROLLBACK")
    finally:
        connection.close()
    return spent[0], spent[1]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--persons", type=int, default=100_000)
    parser.add_argument("--batches", type=int, default=200, help="batches of 1,000 reports")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    year = datetime.now(UTC).year - 1
    with run.fresh_home(None) as (home, env), tempfile.TemporaryDirectory() as tmp:
        monthly = Path(tmp) / "monthly.xml"
        generate.generate(generate.Plan(args.persons, "monthly", year, faulty_share=0), monthly)
        run.zvk(home, env, "ingest", str(monthly))
        database = home / "zvk.sqlite3"
        results: dict[str, list[tuple[float, float]]] = {style: [] for style in STYLES}
        for _round in range(args.rounds):
            for style in STYLES:
                results[style].append(
                    one_run(database, Path(tmp) / "scratch.sqlite3", style, args.batches)
                )
    count = args.batches * 1000
    print(f"{args.persons:,} persons stored; {count:,} report rows and {2 * count:,} period rows")
    print("| values | µs per report row | µs per period row |\n|---|---:|---:|")
    for style in STYLES:
        report_s = statistics.median(r for r, _ in results[style])
        period_s = statistics.median(p for _, p in results[style])
        print(f"| {style} | {report_s / count * 1e6:.2f} | {period_s / (2 * count) * 1e6:.2f} |")


if __name__ == "__main__":
    main()
