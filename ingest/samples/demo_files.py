"""The sample files the demo ingests: clean, with hints, partly rejected, broken, duplicate."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

from ingest.samples.builder import FileBuilder, period_node

DEMO_SENDER = "66667777"
DEMO_MEMBER = "100001"
DEMO_OFFICES = ("001", "002")


def write_demo_files(folder: Path) -> list[Path]:
    """Write the sample files into ``folder`` and return them in delivery order."""
    folder.mkdir(parents=True, exist_ok=True)
    files: list[Path] = []

    clean = FileBuilder(file_number=1, period="2026-09")
    for n in range(1, 6):
        clean.anmeldung(n, date(2026, 9, 1))
    clean.monatsabrechnung(insured=5, pay="15000.00", levy="240.00", additional="729.00")
    files.append(clean.write(folder / "monat-2026-09.xml"))

    mixed = FileBuilder(file_number=2, period="2026-10")
    mixed.anmeldung(6, date(2026, 10, 1))
    mixed.anmeldung(7, date(2026, 10, 1)).set("Person/RVNR", "65170839J008")  # wrong check digit
    mixed.anmeldung(8, date(2026, 10, 1)).set("Person/Geburtsdatum", "2015-05-05")  # too young
    mixed.abmeldung(1, date(2026, 10, 31), "99")  # unknown reason
    mixed.monatsabrechnung(insured=6, total="999.99")  # Gesamtbetrag wrong
    files.append(mixed.write(folder / "monat-2026-10.xml"))

    annual = FileBuilder(file_number=3, kind="Jahresmeldung", period="2026")
    annual.jahresmeldung(
        2,  # Betrag differs from 1.60 % of the pay: a hint, still committed
        [period_node(date(2026, 9, 1), date(2026, 12, 31), pay="10000.00", amount="170.00")],
    )
    annual.jahresmeldung(3, [period_node(date(2026, 9, 1), date(2026, 12, 31), pay="9000.00")])
    files.append(annual.write(folder / "jahr-2026.xml"))

    broken = folder / "kaputt.xml"
    data = FileBuilder(file_number=4).to_bytes()
    broken.write_bytes(data[: len(data) // 2])
    files.append(broken)

    again = folder / "monat-2026-09-nochmal.xml"
    shutil.copyfile(files[0], again)
    files.append(again)
    return files
