"""A whole protocol, XML and text, frozen: senders' parsers depend on its exact shape.

Set UPDATE_GOLDEN=1 to rewrite the golden files after an intended change, then review the diff.
"""

from __future__ import annotations

import dataclasses
import os
from datetime import UTC, date, datetime
from pathlib import Path

from ingest.answering.protocol import to_text, to_xml, validate_xml
from ingest.samples.builder import FileBuilder, period_node

GOLDEN = Path(__file__).parent / "golden"


def golden_file() -> FileBuilder:
    b = FileBuilder(file_number=1, period="2026-10")
    b.anmeldung(1, date(2026, 10, 1), meldungs_id="AN-1")
    b.anmeldung(2, date(2026, 10, 1), meldungs_id="AN-2").set("Person/RVNR", "15070649C102")
    b.anmeldung(3, date(2026, 10, 1), meldungs_id="AN-3").set("Person/Vorname", "Max2")
    b.abmeldung(
        4,
        date(2026, 10, 31),
        "99",
        meldungs_id="AB-1",
        periods=[period_node(date(2026, 1, 1), date(2026, 10, 31))],
    )
    b.monatsabrechnung(insured=1, total="1.00", meldungs_id="MA-1")
    return b


def compare(name: str, actual: str) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(actual, encoding="utf-8")
    assert actual == path.read_text(encoding="utf-8")


def test_golden_protocol(deliver) -> None:
    """The protocol of a partly rejected file is byte-for-byte the frozen one."""
    verdict = deliver(golden_file(), name="golden.xml")
    frozen = dataclasses.replace(
        verdict,
        delivery_id="20261102-093000-ABCDEF",
        received_at=datetime(2026, 11, 2, 8, 30, tzinfo=UTC),
        processed_at=datetime(2026, 11, 2, 8, 30, 5, tzinfo=UTC),
        assignments=[
            dataclasses.replace(a, versicherungsnummer="1000000016") for a in verdict.assignments
        ],
    )
    xml = to_xml(frozen)
    assert validate_xml(xml) == []
    compare("golden.protokoll.xml", xml.decode("utf-8"))
    compare("golden.protokoll.txt", to_text(frozen))
