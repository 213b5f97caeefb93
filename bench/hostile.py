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
import re
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests"))

import hostile  # noqa: E402  (tests/ is not a package)
import run  # noqa: E402  (bench/ is not a package)


def result_of(home: Path) -> str:
    """The protocol's result, counts and codes (each with how often it occurs)."""
    (protocol,) = (home / "outbox" / "66667777").glob("*.protokoll.xml")
    text = protocol.read_text(encoding="utf-8")
    result = re.search(r"<Ergebnis>(\w+)</Ergebnis>", text)
    counts = re.search(r"<Meldungen [^>]*/>", text)
    found = Counter(re.findall(r'Code="(ZV[A-Z]{2}\d{3})"', text))
    codes = ", ".join(f"{code} ×{n}" for code, n in found.items())
    return f"{result.group(1) if result else '?'}, {counts.group(0) if counts else ''}, {codes}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="inputs of tests/hostile.py BIG (default: all)")
    args = parser.parse_args(argv)
    names = args.names or list(hostile.BIG)
    print("| input | size | expected | seconds | peak RSS (MiB) | protocol |")
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
                f"{timing.peak_rss_mib:.0f} | {result_of(home)} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
