"""Ingest benchmark: our full `zvk ingest` against libxml2's own streaming validator.

For each size it generates (once, cached in ``--workdir``) a monthly file with the `Anmeldung` of
every person and an annual file with their `Jahresmeldung` (``--faulty-share`` of its reports
faulty), sets up a fresh home (`zvk init`, `zvk members add`, `zvk senders add`), and then, one
file after the other on the same files, times

* ``xmllint --stream --noout --schema schemas/meldedatei-1.xsd FILE`` (the physical reference:
  parsing and validating the whole file, nothing else), and
* ``zvk ingest FILE`` (everything: intake, hashing, archive, parse, schema per report, checks,
  stored-state checks, commit in one transaction, protocol),

as child processes, with their peak RSS from ``os.wait4``. It prints a markdown table with
seconds, reports/s, peak RSS and the ratio ours / xmllint. ``--postgres URL`` runs the same
against a fresh PostgreSQL database (created and dropped by the script); ``--latency`` measures
how long a 10-report file dropped into an inbox takes until its protocol is in the outbox while
`zvk serve` runs (20 drops, median).

    .venv/bin/python bench/run.py --sizes 10000,100000
    .venv/bin/python bench/run.py --sizes 100000 --postgres postgresql+psycopg://postgres@127.0.0.1:5432/test
    .venv/bin/python bench/run.py --latency
    .venv/bin/python bench/run.py --sizes 1000000 --annual-runs 5   # the annual file 5 times

With ``--annual-runs N`` the annual file is ingested N times, each time on a fresh copy of the
home (and, with ``--postgres``, of the database) as the monthly file left it.

Results and the machine they were measured on: docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

import generate  # noqa: E402  (bench/ is not a package)

ZVK = [sys.executable, "-m", "ingest"]
SCHEMA = ROOT / "schemas" / "meldedatei-1.xsd"
OFFICES = 10
QUIET = {"ZVK_LOG__LEVEL": "WARNING", "ZVK_SFTP__ENABLED": "false"}


@dataclass(frozen=True)
class Timing:
    seconds: float
    peak_rss_mib: float
    status: int
    output: str
    detail: str = ""


TICKS = os.sysconf("SC_CLK_TCK")


def process_tree(pid: int) -> dict[int, tuple[float, float]]:
    """RSS (MiB) and CPU seconds of a process and each of its descendants, from /proc."""
    found: dict[int, tuple[float, float]] = {}
    todo = [pid]
    while todo:
        current = todo.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            stat = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            for task in Path(f"/proc/{current}/task").iterdir():
                todo.extend(int(c) for c in (task / "children").read_text().split())
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
        rss = next((int(x.split()[1]) for x in status.splitlines() if x.startswith("VmRSS:")), 0)
        found[current] = (rss / 1024, (int(stat[11]) + int(stat[12])) / TICKS)
    return found


def timed(command: list[str], env: dict[str, str] | None = None) -> Timing:
    """Run a child process; wall-clock seconds and peak RSS.

    Peak RSS is the larger of the child's own ``ru_maxrss`` (from ``os.wait4``) and the
    largest sum over the child and its descendants seen by sampling /proc every 50 ms (a
    large file is read in a second process). ``detail`` tells, per process that used more
    than a second of CPU, its peak RSS and CPU seconds (the main process first).
    """
    start = time.perf_counter()
    with tempfile.TemporaryFile() as out:
        child = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
        peak = [0.0]
        seen: dict[int, tuple[float, float]] = {}
        done = threading.Event()

        def sample() -> None:
            while not done.wait(0.05):
                tree = process_tree(child.pid)
                peak[0] = max(peak[0], sum(rss for rss, _cpu in tree.values()))
                for pid, (rss, cpu) in tree.items():
                    before = seen.get(pid, (0.0, 0.0))
                    seen[pid] = (max(before[0], rss), max(before[1], cpu))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _pid, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - start
        done.set()
        sampler.join()
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read().decode("utf-8", "replace")
    busy = sorted(
        ((pid != child.pid, rss, cpu) for pid, (rss, cpu) in seen.items() if cpu >= 1),
    )
    detail = ", ".join(f"{rss:.0f} MiB/{cpu:.0f} s CPU" for _, rss, cpu in busy)
    return Timing(seconds, max(usage.ru_maxrss / 1024, peak[0]), child.returncode, text, detail)


def zvk(home: Path, env: dict[str, str], *args: str) -> None:
    subprocess.run([*ZVK, "--home", str(home), *args], check=True, env=env, capture_output=True)


@contextmanager
def postgres_database(url: str | None) -> Iterator[str | None]:
    """A fresh database on the server of ``url`` for one run, dropped afterwards."""
    if url is None:
        yield None
        return
    name = f"zvk_bench_{uuid.uuid4().hex[:8]}"
    _admin(url, f'CREATE DATABASE "{name}"')
    try:
        yield url.rsplit("/", 1)[0] + "/" + name
    finally:
        _admin(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def fresh_home(db_url: str | None) -> Iterator[tuple[Path, dict[str, str]]]:
    """A home with member 100001 (offices 001 …) and the sender 66667777 allowed to report."""
    with tempfile.TemporaryDirectory(prefix="zvk-bench-") as tmp:
        home = Path(tmp) / "home"
        env = {**os.environ, **QUIET}
        if db_url:
            env["ZVK_DB__URL"] = db_url
        zvk(home, env, "init")
        offices = [a for n in range(1, OFFICES + 1) for a in ("--abrechnungsstelle", f"{n:03d}")]
        zvk(home, env, "members", "add", generate.MEMBER, "--name", "Benchmark", *offices)
        zvk(
            home,
            env,
            *("senders", "add", generate.SENDER, "--name", "RZ Benchmark"),
            *("--kind", "rechenzentrum", "--authorize", generate.MEMBER),
        )
        yield home, env


def files_for(size: int, share: float, workdir: Path, year: int) -> tuple[Path, Path]:
    """The monthly (Anmeldungen) and annual file of ``size`` persons, generated once."""
    monthly = workdir / f"anmeldungen-{size}-{year}.xml"
    annual = workdir / f"jahresmeldungen-{size}-{year}-{share:g}.xml"
    if not monthly.exists():
        plan = generate.Plan(reports=size, kind="monthly", year=year, faulty_share=0)
        generate.generate(plan, monthly)
    if not annual.exists():
        plan = generate.Plan(
            reports=size, kind="annual", year=year, faulty_share=share, file_number=2
        )
        generate.generate(plan, annual)
    return monthly, annual


def row(label: str, size: int, path: Path, ref: Timing, ours: Timing) -> str:
    summary = ours.output.strip().splitlines()[-1] if ours.output.strip() else "?"
    result = summary.split("\t")[2] if summary.count("\t") >= 3 else summary[:60]
    return (
        f"| {label} | {size:,} | {path.stat().st_size / 1e6:,.0f} | {ref.seconds:.1f} | "
        f"{ref.peak_rss_mib:.0f} | {ours.seconds:.1f} | {size / ours.seconds:,.0f} | "
        f"{ours.peak_rss_mib:.0f} | {ours.seconds / ref.seconds:.2f} | {result} | {ours.detail} |"
    )


HEADER = (
    "| file | reports | MB | xmllint s | xmllint MiB | zvk ingest s | reports/s | zvk MiB "
    "| ratio | Ergebnis | per process: peak RSS / CPU |\n"
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|"
)


def compare(
    label: str, size: int, path: Path, home: Path, env: dict[str, str], runs: list[str]
) -> tuple[Timing, Timing]:
    """Time xmllint and then `zvk ingest` on ``path``; print and keep the table row."""
    ref = timed(["xmllint", "--stream", "--noout", "--schema", str(SCHEMA), str(path)])
    ours = timed([*ZVK, "--home", str(home), "ingest", str(path)], env)
    if ours.status not in (0, 1):
        raise SystemExit(f"zvk ingest failed ({ours.status}):\n{ours.output[-3000:]}")
    runs.append(row(label, size, path, ref, ours))
    print(runs[-1], flush=True)
    return ref, ours


def summary(pairs: list[tuple[Timing, Timing]]) -> str:
    """The medians of repeated runs: of each run's ratio, and of each side's seconds.

    On a shared machine xmllint's own time varies as much as ours, so a single run's ratio
    says as much about the machine as about the code; both medians are given.
    """
    ratios = [ours.seconds / ref.seconds for ref, ours in pairs]
    ref_median = statistics.median(ref.seconds for ref, _ in pairs)
    ours_median = statistics.median(ours.seconds for _, ours in pairs)
    return (
        f"{len(pairs)} runs: median ratio {statistics.median(ratios):.2f} "
        f"(range {min(ratios):.2f}–{max(ratios):.2f}); median seconds {ours_median:.1f} "
        f"against {ref_median:.1f} ({ours_median / ref_median:.2f})"
    )


def measure(size: int, args: argparse.Namespace, db_url: str | None) -> list[str]:
    monthly, annual = files_for(size, args.faulty_share, args.workdir, args.year)
    lines: list[str] = []
    with fresh_home(db_url) as (home, env):
        compare("monthly (Anmeldungen)", size, monthly, home, env, lines)
        if args.annual_runs == 1:
            compare("annual", size, annual, home, env, lines)
            return lines
        # Each run on a copy of the state after the monthly file (home and database), so that
        # the runs are alike: none follows the monthly file's writes directly.
        pairs: list[tuple[Timing, Timing]] = []
        with snapshot(home, db_url) as restore:
            for n in range(1, args.annual_runs + 1):
                with restore() as (copy, url):
                    run_env = {**env, "ZVK_DB__URL": url} if url else env
                    pairs.append(compare(f"annual, run {n}", size, annual, copy, run_env, lines))
        lines.append(summary(pairs))
        print(lines[-1], flush=True)
    return lines


@contextmanager
def snapshot(
    home: Path, db_url: str | None
) -> Iterator[Callable[[], AbstractContextManager[tuple[Path, str | None]]]]:
    """The home as it is now, and on PostgreSQL its database as a template; ``restore()``
    gives a fresh copy of both for one run and removes it afterwards."""
    saved = home.parent / "snapshot"
    shutil.copytree(home, saved, symlinks=True)
    template = None
    if db_url:
        template = f"{db_url.rsplit('/', 1)[1]}_snapshot"
        _admin(db_url, f'CREATE DATABASE "{template}" TEMPLATE "{db_url.rsplit("/", 1)[1]}"')

    @contextmanager
    def restore() -> Iterator[tuple[Path, str | None]]:
        copy = home.parent / f"run-{uuid.uuid4().hex[:8]}"
        shutil.copytree(saved, copy, symlinks=True)
        url = None
        if db_url and template:
            name = f"{template}_{copy.name[4:]}"
            _admin(db_url, f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
            url = db_url.rsplit("/", 1)[0] + "/" + name
        try:
            os.sync()  # the copy's pages written back before the clock starts
            yield copy, url
        finally:
            shutil.rmtree(copy, ignore_errors=True)
            if url:
                _admin(db_url, f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')

    try:
        yield restore
    finally:
        shutil.rmtree(saved, ignore_errors=True)
        if db_url and template:
            _admin(db_url, f'DROP DATABASE IF EXISTS "{template}" WITH (FORCE)')


def _admin(db_url: str, statement: str) -> None:
    """A statement outside any transaction, on the server of ``db_url``."""
    import psycopg

    admin = db_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(statement)  # names made by this script, not input


def latency(args: argparse.Namespace, drops: int = 20) -> list[float]:
    """Seconds from a 10-report file's rename into the inbox until its protocol exists."""
    with fresh_home(None) as (home, env):
        files = []
        for k in range(drops):
            plan = generate.Plan(
                reports=10,
                kind="monthly",
                year=args.year,
                faulty_share=0,
                file_number=k + 1,
                first_person=10 * k,
            )
            files.append(generate.generate(plan, home / f"bench-{k + 1:02d}.xml"))
        inbox, outbox = home / "inbox" / generate.SENDER, home / "outbox" / generate.SENDER
        serve = subprocess.Popen(
            [*ZVK, "--home", str(home), "serve"],
            stdout=subprocess.DEVNULL,
            stderr=(home / "serve.log").open("wb"),
            env={**env, "ZVK_RECONCILE__ENABLED": "false"},
        )
        seconds: list[float] = []
        try:
            time.sleep(3)  # start-up: migrations checked, watcher running
            for path in files:
                staging = inbox / f".{path.name}.part"
                shutil.copyfile(path, staging)
                start = time.perf_counter()
                staging.rename(inbox / path.name)
                pattern = f"{path.stem}.*.protokoll.xml"
                while not any(outbox.glob(pattern)):
                    if time.perf_counter() - start > 60:
                        raise SystemExit(f"no protocol for {path.name} within 60 s")
                    time.sleep(0.002)
                seconds.append(time.perf_counter() - start)
        finally:
            serve.terminate()
            serve.wait(30)
    return seconds


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000", help="comma-separated report counts")
    parser.add_argument("--faulty-share", type=float, default=0.01)
    parser.add_argument("--year", type=int, default=datetime.now(UTC).year - 1)
    parser.add_argument("--postgres", metavar="URL", help="SQLAlchemy URL of a server database")
    parser.add_argument("--latency", action="store_true", help="drop-to-protocol latency only")
    parser.add_argument("--workdir", type=Path, default=ROOT / "bench" / "out")
    parser.add_argument(
        "--annual-runs",
        type=int,
        default=1,
        metavar="N",
        help="ingest the annual file N times, each on a copy of the state after the monthly one",
    )
    args = parser.parse_args(argv)
    if args.latency:
        seconds = latency(args)
        print(
            f"drop → protocol, {len(seconds)} files of 10 reports: median "
            f"{statistics.median(seconds) * 1000:.0f} ms, min {min(seconds) * 1000:.0f} ms, "
            f"max {max(seconds) * 1000:.0f} ms"
        )
        return
    if shutil.which("xmllint") is None:
        raise SystemExit("xmllint is missing (Debian: apt-get install libxml2-utils)")
    args.workdir.mkdir(parents=True, exist_ok=True)
    print(f"database: {'PostgreSQL' if args.postgres else 'SQLite'}")
    print(HEADER, flush=True)
    for size in (int(s) for s in args.sizes.split(",")):
        with postgres_database(args.postgres) as db_url:
            measure(size, args, db_url)


if __name__ == "__main__":
    main()
