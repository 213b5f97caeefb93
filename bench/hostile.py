"""Peak memory of `zvk ingest` for the large hostile inputs of ``tests/hostile.py`` (``BIG``).

For each input: a fresh home (`zvk init`, member, sender), the file written into a temporary
folder, then `zvk ingest FILE --sender 66667777` timed as a child process. Peak RSS is the larger
of the child's own ``ru_maxrss`` and the largest sum over the child and its descendants (a file of
16 MiB or more is read in a second process), sampled every 50 ms (``run.timed``).

    .venv/bin/python bench/hostile.py                 # every input of BIG
    .venv/bin/python bench/hostile.py header_6m_elements.xml
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests"))

import hostile  # noqa: E402  (tests/ is not a package)
import run  # noqa: E402  (bench/ is not a package)


def result_of(output: str) -> str:
    """The protocol's result and the first codes, from `zvk ingest`'s summary line."""
    lines = [line for line in output.splitlines() if line.strip()]
    return lines[-1][:100] if lines else "?"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="inputs of tests/hostile.py BIG (default: all)")
    args = parser.parse_args(argv)
    names = args.names or list(hostile.BIG)
    print("| input | size | expected | seconds | peak RSS (MiB) | zvk ingest says |")
    print("|---|---:|---|---:|---:|---|")
    for name in names:
        make, expected = hostile.BIG[name]
        with (
            tempfile.TemporaryDirectory(prefix="zvk-hostile-") as tmp,
            run.fresh_home(None) as (
                home,
                env,
            ),
        ):
            path = Path(tmp) / name
            path.write_bytes(make())
            timing = run.timed(
                [*run.ZVK, "--home", str(home), "ingest", str(path), "--sender", "66667777"], env
            )
            size = path.stat().st_size / 1e6
            print(
                f"| {name} | {size:.1f} MB | {expected} | {timing.seconds:.1f} | "
                f"{timing.peak_rss_mib:.0f} | {result_of(timing.output)} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
