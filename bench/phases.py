"""Where the time of an ingest goes, measured without a profiler.

Runs growing parts of the pipeline over the same file, in this process, one after the other:

1. ``read``: the streaming reader alone (``iterparse``, frame checks, clearing),
2. ``+ schema``: and each top-level element validated against the schema,
3. ``+ records``: and each report turned into its record,
4. ``+ file checks``: the whole pass of ``zvk check`` (every check that needs only the file),

and prints the seconds of each and the difference to the part before. The rest of a
``zvk ingest`` (stored-state checks, inserts, commit, protocol) is the difference between
``bench/run.py``'s ingest time and step 4.

A second table splits one pass of the reading process (what it does in ``zvk ingest`` for a
large file) by step, with a clock read between the steps: reading, schema, record, sums,
file-only checks, and encoding the batches for the pipe.

    .venv/bin/python bench/phases.py bench/out/jahresmeldungen-100000-2025-0.01.xml
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

from ingest.settings import load_settings
from ingest.validating import extract
from ingest.validating.checker import BATCH, FileCheck
from ingest.validating.reader import Reader
from ingest.validating.reading import Batch, Checked, encode, relaxed_gc
from ingest.validating.report_rules import check_report
from ingest.validating.schema import validate_element


def read_only(path: Path, schema: bool, records: bool) -> int:
    count = 0
    with path.open("rb") as stream, relaxed_gc():
        for item in Reader(stream).items():
            if schema and validate_element(item.element):
                continue
            if records and item.kind == "report":
                extract.report(item.element, item.report_kind, item.satz)  # type: ignore[arg-type]
            count += 1
    return count


def file_checks(path: Path, home: Path) -> int:
    settings = load_settings(home)
    outcome = FileCheck.without_database(path, settings).run()
    return outcome.total


def reading_process(path: Path, home: Path) -> dict[str, float]:
    """Seconds per step of the reading process's pass, clocked between the steps."""
    check = FileCheck.without_database(path, load_settings(home))
    context = check._context()
    spent = dict.fromkeys(("read", "schema", "record", "sums", "checks", "encode"), 0.0)
    clock = time.perf_counter
    batch: list[Checked] = []
    with path.open("rb") as stream, relaxed_gc():
        last = clock()
        for item in Reader(stream).items():
            now = clock()
            spent["read"] += now - last
            last = now
            if item.kind == "header":
                check._header(item)  # the checks' context, from the Vorlauf
                context = check._context()
            if item.kind != "report" or validate_element(item.element):
                spent["schema"] += clock() - last
                last = clock()
                continue
            now = clock()
            spent["schema"] += now - last
            report = extract.report(item.element, item.report_kind, item.satz)  # type: ignore[arg-type]
            last, now = now, clock()
            spent["record"] += now - last
            extract.report_sums(report)
            last, now = now, clock()
            spent["sums"] += now - last
            batch.append(Checked(report, check_report(report, context)))
            last, now = now, clock()
            spent["checks"] += now - last
            if len(batch) >= BATCH:
                encode(Batch(batch, 0, 0))
                batch = []
            last = clock()
            spent["encode"] += last - now
    return spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", type=Path)
    parser.add_argument("--home", type=Path, default=Path("bench/out/phases-home"))
    args = parser.parse_args()
    steps: list[tuple[str, Callable[[], int]]] = [
        ("read", lambda: read_only(args.file, schema=False, records=False)),
        ("+ schema", lambda: read_only(args.file, schema=True, records=False)),
        ("+ records", lambda: read_only(args.file, schema=True, records=True)),
        ("+ file checks (zvk check)", lambda: file_checks(args.file, args.home)),
    ]
    print("| step | s | added s |\n|---|---:|---:|")
    before = 0.0
    for label, step in steps:
        start = time.perf_counter()
        step()
        seconds = time.perf_counter() - start
        print(f"| {label} | {seconds:.1f} | {seconds - before:+.1f} |", flush=True)
        before = seconds
    spent = reading_process(args.file, args.home)
    print("\n| reading process, step | s |\n|---|---:|")
    for label, seconds in spent.items():
        print(f"| {label} | {seconds:.1f} |")
    print(f"| together | {sum(spent.values()):.1f} |")


if __name__ == "__main__":
    main()
