"""Shared assertions for the report-level code tests (``test_*_codes.py``): which reports of a
delivery were committed, and one finding of a code with its severity, report number and field."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from conftest import codes
from sqlalchemy import select

from ingest.samples.builder import FileBuilder, period_node
from ingest.settings import Settings
from ingest.storing.models import Delivery, Report
from ingest.validating.checker import Batch, FileCheck
from ingest.validating.records import ReportData


def committed_satz(service, verdict) -> set[int]:  # type: ignore[no-untyped-def]
    """The report numbers of this delivery that are stored."""
    with service.sessions() as session:
        return set(
            session.scalars(
                select(Report.satz)
                .join(Delivery, Delivery.id == Report.delivery_id)
                .where(Delivery.delivery_id == verdict.delivery_id)
            )
        )


def only(verdict, code: str):  # type: ignore[no-untyped-def]
    """The single finding of ``code``; fails when it is missing or repeated."""
    hits = [f for f in verdict.findings if f.code == code]
    assert len(hits) == 1, f"{code} expected once in {codes(verdict)}"
    return hits[0]


def assert_rejected(service, verdict, code: str, *, satz: int, field: str | None) -> None:  # type: ignore[no-untyped-def]
    """``code`` rejects report ``satz`` at ``field``; every other report is committed."""
    f = only(verdict, code)
    assert (f.severity, f.scope, f.satz, f.field) == ("F", "Meldung", satz, field)
    assert verdict.result == "teilweise_abgewiesen", codes(verdict)
    assert (verdict.accepted, verdict.rejected) == (verdict.total - 1, 1)
    assert committed_satz(service, verdict) == set(range(1, verdict.total + 1)) - {satz}


def assert_hinted(service, verdict, code: str, *, satz: int, field: str) -> None:  # type: ignore[no-untyped-def]
    """``code`` is a hint on report ``satz`` at ``field``; every report is committed."""
    f = only(verdict, code)
    assert (f.severity, f.scope, f.satz, f.field) == ("H", "Meldung", satz, field)
    assert verdict.result == "hinweise", codes(verdict)
    assert committed_satz(service, verdict) == set(range(1, verdict.total + 1))


def assert_clean(service, verdict) -> None:  # type: ignore[no-untyped-def]
    """No finding at all, and every report committed."""
    assert verdict.result == "fehlerfrei", codes(verdict)
    assert committed_satz(service, verdict) == set(range(1, verdict.total + 1))


def ok(deliver, b: FileBuilder, **kw):  # type: ignore[no-untyped-def]
    """Deliver a setup file that must be accepted without any finding."""
    verdict = deliver(b, **kw)
    assert verdict.result == "fehlerfrei", codes(verdict)
    return verdict


def with_person(node, born: date, number: str | None) -> None:  # type: ignore[no-untyped-def]
    """Give a person report this Geburtsdatum and RVNR (``None``: no RVNR)."""
    node.set("Person/Geburtsdatum", born.isoformat())
    if number is None:
        node.drop("Person/RVNR")
    else:
        node.set("Person/RVNR", number)


def year(
    key: str = "011011",
    pay: str = "30000.00",
    amount: str | None = None,
    children: int | None = None,
    begin: date = date(2026, 1, 1),
    end: date = date(2026, 12, 31),
):  # type: ignore[no-untyped-def]
    """An Abschnitt, by default the whole of 2026 under 011011 with the configured levy."""
    return period_node(begin, end, key, pay, amount, children)


def annual_file(deliver) -> FileBuilder:  # type: ignore[no-untyped-def]
    """Persons 1-3 insured at 100001/001 since 2026-01-01; returns the next file (JM 2026)."""
    b = FileBuilder()
    for n in (1, 2, 3):
        b.anmeldung(n, date(2026, 1, 1))
    assert deliver(b).result == "fehlerfrei"
    return FileBuilder(kind="Jahresmeldung", period="2026", file_number=2)


def one_report(settings: Settings, tmp_path: Path, builder: FileBuilder) -> ReportData:
    """The first report of a file, as the reading pass extracts it."""
    path = tmp_path / "one.xml"
    builder.write(path)
    for event_ in FileCheck.without_database(path, settings).read():
        if isinstance(event_, Batch):
            report = event_.checked[0].report
            assert report is not None
            return report
    raise AssertionError("no report read")
