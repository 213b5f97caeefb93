"""File-level finding codes (ZVDA, ZVVO, ZVNC): each fires where it must and stays silent just
beside it. Files are built with the FileBuilder; malformed files are valid files with damaged
bytes."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from conftest import MEMBER_SENDER, OTHER_SENDER, SENDER, codes, finding
from sqlalchemy import select, update

from ingest.pipeline import Service
from ingest.samples.builder import FileBuilder, PersonSeed, period_node
from ingest.storing.models import Person, Sender

BERLIN = ZoneInfo("Europe/Berlin")
VORLAUF_LINE = 3  # declaration, root, then the Vorlauf on one line (the builder's layout)


def valid_file(**kwargs: object) -> FileBuilder:
    """A Monatsmeldung with two reports that would be committed on their own."""
    b = FileBuilder(**kwargs)  # type: ignore[arg-type]
    b.anmeldung(1, date(2026, 10, 1))
    b.monatsabrechnung(insured=1)
    return b


def assert_file_rejected(verdict, service: Service, before: int, code: str):  # type: ignore[no-untyped-def]
    """The file-level F finding ``code`` is present and nothing of the file was committed."""
    f = finding(verdict, code)
    assert (f.severity, f.scope) == ("F", "Datei")
    assert verdict.result == "abgewiesen", codes(verdict)
    assert verdict.accepted == 0
    assert service.count_committed() == before
    return f


def assert_clean(verdict, service: Service, before: int) -> None:  # type: ignore[no-untyped-def]
    """Every report was committed and no F finding was raised."""
    assert verdict.result in ("fehlerfrei", "hinweise"), codes(verdict)
    assert all(f.severity == "H" for f in verdict.findings), codes(verdict)
    assert verdict.accepted == verdict.total
    assert service.count_committed() == before + verdict.total


def months_back(today: date, months: int) -> tuple[int, int]:
    index = today.year * 12 + today.month - 1 - months
    return index // 12, index % 12 + 1


def line_of(data: bytes, marker: bytes) -> int:
    return data[: data.index(marker)].count(b"\n") + 1


# -- ZVDA001: not well-formed ---------------------------------------------------------------


def test_zvda001_mismatched_tag_gives_line_and_column(deliver, service) -> None:
    """A misspelt closing tag in the Vorlauf rejects the file with ZVDA001 at that line."""
    data = valid_file().to_bytes().replace(b"</Absender>", b"</Absendr>", 1)
    verdict = deliver(data)
    f = assert_file_rejected(verdict, service, 0, "ZVDA001")
    assert f.line == VORLAUF_LINE
    assert isinstance(f.column, int) and f.column > 0


def test_zvda001_truncated_file(deliver, service) -> None:
    """A file cut off in the middle of a report is not well-formed and is rejected as a whole."""
    data = valid_file().to_bytes()
    cut = data.index(b"<Monatsabrechnung") + 40
    verdict = deliver(data[:cut])
    f = assert_file_rejected(verdict, service, 0, "ZVDA001")
    assert f.line is not None and f.line >= line_of(data, b"<Monatsabrechnung")


def test_zvda001_bytes_invalid_in_declared_encoding(deliver, service) -> None:
    """Latin-1 bytes (an umlaut) in a file that declares UTF-8 are ZVDA001."""
    b = FileBuilder()
    b.anmeldung(2)  # PersonSeed(2) is called Müller
    latin = b.to_bytes("ISO-8859-1")
    data = latin.replace(b"encoding='ISO-8859-1'", b"encoding='UTF-8'", 1)
    assert b"M\xfcller" in data
    verdict = deliver(data)
    f = assert_file_rejected(verdict, service, 0, "ZVDA001")
    assert f.line == line_of(data, b"M\xfcller")


def test_zvda001_text_after_root_element_rolls_back_checked_reports(deliver, service) -> None:
    """Text after the root element is found only after the reports were checked: nothing stays."""
    data = valid_file().to_bytes() + b"Rest einer anderen Datei"
    verdict = deliver(data)
    f = assert_file_rejected(verdict, service, 0, "ZVDA001")
    assert f.line == data.count(b"\n") + 1
    assert verdict.assignments == []


def test_zvda001_not_for_bom_and_trailing_comment(deliver, service) -> None:
    """A UTF-8 byte-order mark and a comment after the root element are well-formed XML."""
    data = b"\xef\xbb\xbf" + valid_file().to_bytes() + b"<!-- Ende der Datei -->\n"
    verdict = deliver(data)
    assert "ZVDA001" not in codes(verdict)
    assert_clean(verdict, service, 0)


# -- ZVDA002: frame ---------------------------------------------------------------------------


def test_zvda002_missing_nachlauf(deliver, service) -> None:
    """A file without Nachlauf violates the frame and is rejected as a whole."""
    data = valid_file().to_bytes()
    start = data.index(b"<Nachlauf")
    end = data.index(b"</Nachlauf>") + len(b"</Nachlauf>")
    verdict = deliver(data[:start] + data[end:])
    assert_file_rejected(verdict, service, 0, "ZVDA002")


def test_zvda002_vorlauf_missing_element(deliver, service) -> None:
    """A Vorlauf without Dateiart is ZVDA002 at the Vorlauf's line, with the schema message."""
    b = valid_file()
    b.header.drop("Dateiart")
    verdict = deliver(b)
    f = assert_file_rejected(verdict, service, 0, "ZVDA002")
    assert f.line == VORLAUF_LINE
    assert "Dateiart" in f.message


def test_zvda002_vorlauf_missing_element_names_the_field(deliver, service) -> None:
    """A schema error inside the Vorlauf names a field under Vorlauf/."""
    b = valid_file()
    b.header.drop("Dateiart")
    verdict = deliver(b)
    f = assert_file_rejected(verdict, service, 0, "ZVDA002")
    assert f.field is not None and f.field.startswith("Vorlauf/"), f.field


def test_zvda002_wrong_namespace(deliver, service) -> None:
    """A root element in another namespace version is a frame error, not a file to process."""
    data = valid_file().to_bytes().replace(b"meldedatei:1", b"meldedatei:2")
    verdict = deliver(data)
    assert_file_rejected(verdict, service, 0, "ZVDA002")


def test_zvda002_report_after_nachlauf(deliver, service) -> None:
    """A report placed after the Nachlauf breaks the element order."""
    data = valid_file().to_bytes()
    start = data.index(b"<Monatsabrechnung")
    end = data.index(b"</Monatsabrechnung>") + len(b"</Monatsabrechnung>")
    report = data[start:end]
    moved = data[:start] + data[end:]
    moved = moved.replace(b"</Nachlauf>", b"</Nachlauf>\n  " + report, 1)
    verdict = deliver(moved)
    f = assert_file_rejected(verdict, service, 0, "ZVDA002")
    assert f.line == line_of(moved, b"<Monatsabrechnung")


def test_zvda002_not_for_comments_between_elements_and_optional_header_fields(
    deliver, service
) -> None:
    """Comments between the top-level elements and a Vorlauf without Test/Software are valid."""
    b = valid_file(software=None)
    data = b.to_bytes().replace(b"\n  <Anmeldung", b"\n  <!-- Satz 1 -->\n  <Anmeldung", 1)
    verdict = deliver(data)
    assert "ZVDA002" not in codes(verdict)
    assert_clean(verdict, service, 0)


# -- ZVDA003: DOCTYPE / entities ----------------------------------------------------------------


def test_zvda003_doctype_after_declaration(deliver, service) -> None:
    """A DOCTYPE inserted after the XML declaration rejects the file with ZVDA003."""
    data = valid_file().to_bytes()
    head, _, rest = data.partition(b"\n")
    verdict = deliver(head + b"\n<!DOCTYPE Meldedatei>\n" + rest)
    assert_file_rejected(verdict, service, 0, "ZVDA003")


def test_zvda003_entity_declaration_behind_comment(deliver, service) -> None:
    """An internal entity declaration behind a prolog comment is refused, not expanded."""
    b = FileBuilder()
    b.anmeldung(1)
    data = b.to_bytes().replace(b"<Vorname>Max</Vorname>", b"<Vorname>&ent;</Vorname>")
    head, _, rest = data.partition(b"\n")
    dtd = b'<!-- Export -->\n<!DOCTYPE Meldedatei [ <!ENTITY ent "Max"> ]>\n'
    verdict = deliver(head + b"\n" + dtd + rest)
    assert_file_rejected(verdict, service, 0, "ZVDA003")


def test_zvda003_doctype_beyond_first_64k(deliver, service) -> None:
    """A DOCTYPE hidden behind a prolog comment larger than 64 KiB is still ZVDA003."""
    data = valid_file().to_bytes()
    head, _, rest = data.partition(b"\n")
    padding = b"<!--" + b"x" * 70_000 + b"-->\n"
    verdict = deliver(head + b"\n" + padding + b"<!DOCTYPE Meldedatei>\n" + rest)
    assert_file_rejected(verdict, service, 0, "ZVDA003")


def test_zvda003_not_for_doctype_text_in_comment_or_field(deliver, service) -> None:
    """'<!DOCTYPE' inside a prolog comment or as escaped field text is no declaration."""
    b = valid_file(software="<!DOCTYPE x> Lohn 1.0")
    data = b.to_bytes()
    assert b"&lt;!DOCTYPE" in data
    head, _, rest = data.partition(b"\n")
    verdict = deliver(head + b"\n<!-- <!DOCTYPE Meldedatei> -->\n" + rest)
    assert "ZVDA003" not in codes(verdict)
    assert_clean(verdict, service, 0)


# -- ZVDA004: encoding --------------------------------------------------------------------------


def test_zvda004_declared_windows_1252(deliver, service) -> None:
    """A declared encoding windows-1252 rejects the file with ZVDA004 on line 1."""
    data = valid_file().to_bytes().replace(b"encoding='UTF-8'", b"encoding='windows-1252'", 1)
    verdict = deliver(data)
    f = assert_file_rejected(verdict, service, 0, "ZVDA004")
    assert f.line == 1


def test_zvda004_utf16(deliver, service) -> None:
    """The same file re-encoded as UTF-16 (with byte-order mark) is ZVDA004."""
    text = valid_file().to_bytes().decode("utf-8").replace("UTF-8", "UTF-16", 1)
    verdict = deliver(text.encode("utf-16"))
    assert_file_rejected(verdict, service, 0, "ZVDA004")


def test_zvda004_utf16_without_bom(deliver, service) -> None:
    """UTF-16 little-endian without a byte-order mark is ZVDA004 too."""
    text = valid_file().to_bytes().decode("utf-8").replace("UTF-8", "UTF-16", 1)
    verdict = deliver(text.encode("utf-16-le"))
    assert_file_rejected(verdict, service, 0, "ZVDA004")


@pytest.mark.parametrize("encoding", ["ISO-8859-15", "ISO-8859-1"])
def test_zvda004_not_for_latin_encodings_with_umlauts(deliver, service, encoding) -> None:
    """ISO-8859-15 and ISO-8859-1 files with umlauts are accepted and decoded correctly."""
    b = FileBuilder()
    b.anmeldung(2).set("Person/Vorname", "Jörg-Ädä")
    data = b.to_bytes(encoding)
    assert b"M\xfcller" in data  # one byte per umlaut: really not UTF-8
    verdict = deliver(data)
    assert "ZVDA004" not in codes(verdict)
    assert_clean(verdict, service, 0)
    with service.sessions() as session:
        stored = session.execute(select(Person.family_name, Person.first_name)).one()
    assert tuple(stored) == ("Müller", "Jörg-Ädä")


def test_zvda004_not_for_iso_8859_15_only_characters(deliver, service) -> None:
    """Characters that exist in ISO-8859-15 but not ISO-8859-1 (Š) are decoded as 8859-15."""
    b = FileBuilder()
    b.anmeldung(1).set("Person/Familienname", "Šebestová")
    data = b.to_bytes("ISO-8859-15")
    assert b"\xa6ebestov\xe1" in data
    verdict = deliver(data)
    assert_clean(verdict, service, 0)
    with service.sessions() as session:
        assert session.scalar(select(Person.family_name)) == "Šebestová"


# -- ZVDA005: size limit ------------------------------------------------------------------------


def _limited(service: Service, settings, limit: int) -> Service:  # type: ignore[no-untyped-def]
    """The same service and database, with another size limit."""
    intake = settings.intake.model_copy(update={"max_file_bytes": limit})
    limited = settings.model_copy(update={"intake": intake})
    receiving = replace(service.intake, settings=limited)
    worker = replace(service.worker, settings=limited, intake=receiving)
    return replace(service, settings=limited, intake=receiving, worker=worker)


def test_zvda005_file_larger_than_limit(service, settings, tmp_path: Path) -> None:
    """A file larger than the configured limit is rejected unparsed with ZVDA005."""
    path = valid_file().write(tmp_path / "gross.xml")
    assert path.stat().st_size > 200
    verdict = _limited(service, settings, 200).ingest(path, sender_number=SENDER, test=False)
    f = assert_file_rejected(verdict, service, 0, "ZVDA005")
    assert codes(verdict) == ["ZVDA005"]
    assert f.line is None


def test_zvda005_not_for_file_exactly_at_limit(service, settings, tmp_path: Path) -> None:
    """A file exactly as large as the limit is not larger than it and is processed."""
    path = valid_file().write(tmp_path / "genau.xml")
    limited = _limited(service, settings, path.stat().st_size)
    verdict = limited.ingest(path, sender_number=SENDER, test=False)
    assert "ZVDA005" not in codes(verdict)
    assert_clean(verdict, service, 0)


# -- ZVDA006: empty file ------------------------------------------------------------------------


@pytest.mark.parametrize("content", [b"", b" \n\t\r\n"], ids=["0-bytes", "whitespace"])
def test_zvda006_empty_file(deliver, service, content: bytes) -> None:
    """A file of 0 bytes or only whitespace is ZVDA006 and still gets a protocol."""
    verdict = deliver(content)
    assert_file_rejected(verdict, service, 0, "ZVDA006")
    assert verdict.total == 0
    assert list(service.settings.outbox.glob(f"{SENDER}/*.{verdict.delivery_id}.protokoll.xml"))


def test_zvda006_not_for_file_without_reports(deliver, service) -> None:
    """A complete file with Vorlauf and Nachlauf but no report is not empty: fehlerfrei."""
    verdict = deliver(FileBuilder())
    assert "ZVDA006" not in codes(verdict)
    assert verdict.result == "fehlerfrei"
    assert verdict.total == 0


# -- ZVDA020: report kind not allowed in Dateiart -----------------------------------------------


def test_zvda020_jahresmeldung_in_monatsmeldung(deliver, service) -> None:
    """A Jahresmeldung in a Monatsmeldung file rejects only that report; the others commit."""
    b = FileBuilder()
    b.anmeldung(1)
    b.jahresmeldung(3, [period_node(date(2026, 10, 1), date(2026, 10, 31))])
    b.monatsabrechnung()
    verdict = deliver(b)
    f = finding(verdict, "ZVDA020")
    assert (f.severity, f.scope, f.satz) == ("F", "Meldung", 2)
    assert f.meldungs_id == "M1-000002"
    assert f.line == VORLAUF_LINE + 2
    assert verdict.result == "teilweise_abgewiesen", codes(verdict)
    assert (verdict.total, verdict.accepted, verdict.rejected) == (3, 2, 1)
    assert service.count_committed() == 2


def test_zvda020_anmeldung_in_jahresmeldung(deliver, service) -> None:
    """An Anmeldung in a Jahresmeldung file is ZVDA020 for that report."""
    first = FileBuilder(file_number=1)
    first.anmeldung(1, date(2026, 10, 1))
    assert_clean(deliver(first), service, 0)
    b = FileBuilder(file_number=2, kind="Jahresmeldung", period="2026")
    b.jahresmeldung(1, [period_node(date(2026, 10, 1), date(2026, 10, 31))])
    b.anmeldung(5, date(2026, 10, 1))
    verdict = deliver(b)
    f = finding(verdict, "ZVDA020")
    assert (f.severity, f.satz) == ("F", 2)
    assert verdict.result == "teilweise_abgewiesen", codes(verdict)
    assert verdict.accepted == 1
    assert service.count_committed() == 2


def test_zvda020_not_for_every_allowed_kind(deliver, service) -> None:
    """A Monatsmeldung holding Anmeldung, Abmeldung, Monatsabrechnung and Storno has no ZVDA020."""
    b = FileBuilder()
    b.anmeldung(1, date(2026, 10, 1), meldungs_id="AN-1")
    b.anmeldung(2, date(2026, 10, 1), meldungs_id="AN-2")
    b.abmeldung(
        2,
        date(2026, 10, 31),
        periods=[period_node(date(2026, 10, 1), date(2026, 10, 31), pay="2500.00")],
    )
    b.monatsabrechnung(insured=2)
    b.storno("AN-1")
    verdict = deliver(b)
    assert "ZVDA020" not in codes(verdict)
    assert_clean(verdict, service, 0)


def test_zvda020_not_for_storno_in_jahresmeldung(deliver, service) -> None:
    """A Jahresmeldung file may hold a Storno next to its Jahresmeldungen."""
    first = FileBuilder(file_number=1)
    first.anmeldung(1, date(2026, 10, 1))
    first.anmeldung(2, date(2026, 10, 1))
    assert_clean(deliver(first), service, 0)
    b = FileBuilder(file_number=2, kind="Jahresmeldung", period="2026")
    b.jahresmeldung(1, [period_node(date(2026, 10, 1), date(2026, 10, 31))], meldungs_id="JM-1")
    b.storno("JM-1")
    b.jahresmeldung(1, [period_node(date(2026, 10, 1), date(2026, 10, 31), pay="3100.00")])
    verdict = deliver(b)
    assert "ZVDA020" not in codes(verdict)
    assert_clean(verdict, service, 2)


# -- ZVVO020: Absender check digit -------------------------------------------------------------


def test_zvvo020_absender_check_digit_wrong(deliver, service) -> None:
    """An Absender whose check digit is wrong (66667778) is ZVVO020 on Vorlauf/Absender."""
    verdict = deliver(valid_file(sender="66667778"))
    f = assert_file_rejected(verdict, service, 0, "ZVVO020")
    assert f.field == "Vorlauf/Absender"
    assert f.line == VORLAUF_LINE


def test_zvvo020_not_for_valid_unregistered_number(deliver, service) -> None:
    """A valid but unregistered Betriebsnummer (33333330) is ZVVO021, never ZVVO020."""
    verdict = deliver(valid_file(sender="33333330"), sender="33333330")
    assert "ZVVO020" not in codes(verdict)
    assert "ZVVO021" in codes(verdict)


# -- ZVVO021: Absender not the delivering, registered sender -----------------------------------


def test_zvvo021_absender_differs_from_delivering_sender(deliver, service) -> None:
    """A file delivered by 66667777 whose Absender is 76641777 is rejected with ZVVO021."""
    verdict = deliver(valid_file(sender=MEMBER_SENDER), sender=SENDER)
    f = assert_file_rejected(verdict, service, 0, "ZVVO021")
    assert f.field == "Vorlauf/Absender"
    assert f.line == VORLAUF_LINE
    assert "ZVVO020" not in codes(verdict)


def test_zvvo021_unregistered_absender(deliver, service) -> None:
    """A file from an unregistered sender, naming itself as Absender, is ZVVO021."""
    verdict = deliver(valid_file(sender="33333330"), sender="33333330")
    f = assert_file_rejected(verdict, service, 0, "ZVVO021")
    assert f.field == "Vorlauf/Absender"


def test_zvvo021_inactive_sender(deliver, service) -> None:
    """A registered sender that has been deactivated gets ZVVO021."""
    with service.sessions.begin() as session:
        session.execute(update(Sender).where(Sender.number == SENDER).values(active=False))
    verdict = deliver(valid_file())
    assert_file_rejected(verdict, service, 0, "ZVVO021")


def test_zvvo021_not_for_member_reporting_for_itself(deliver, service) -> None:
    """A registered member sender naming itself as Absender passes the sender check."""
    b = FileBuilder(sender=MEMBER_SENDER, member="100002", office="001")
    b.anmeldung(1)
    verdict = deliver(b, sender=MEMBER_SENDER)
    assert "ZVVO021" not in codes(verdict)
    assert_clean(verdict, service, 0)


def test_zvvo021_not_for_registered_sender_without_grants(deliver, service) -> None:
    """A registered sender with no authorisation gets report-level ZVVO022, not ZVVO021."""
    verdict = deliver(valid_file(sender=OTHER_SENDER), sender=OTHER_SENDER)
    assert "ZVVO021" not in codes(verdict)
    found = [f for f in verdict.findings if f.code == "ZVVO022"]
    assert [f.satz for f in found] == [1, 2]
    assert all(f.scope == "Meldung" for f in found)
    assert service.count_committed() == 0


# -- ZVVO030: Zeitraum -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "period"),
    [("Monatsmeldung", "2026"), ("Jahresmeldung", "2026-10"), ("Monatsmeldung", "2026-13")],
    ids=["month-file-with-year", "year-file-with-month", "month-13"],
)
def test_zvvo030_zeitraum_does_not_fit_dateiart(deliver, service, kind, period) -> None:
    """A Zeitraum in the shape of the other Dateiart is ZVVO030 on Vorlauf/Zeitraum."""
    b = FileBuilder(kind=kind, period=period)
    b.monatsabrechnung(month="2026-10")
    verdict = deliver(b)
    f = assert_file_rejected(verdict, service, 0, "ZVVO030")
    assert f.field == "Vorlauf/Zeitraum"
    assert f.line == VORLAUF_LINE


def test_zvvo030_next_month_is_future(deliver, service) -> None:
    """A Monatsmeldung for next month lies in the future: ZVVO030."""
    year, month = months_back(date.today(), -1)
    b = FileBuilder(period=f"{year:04d}-{month:02d}")
    b.monatsabrechnung()
    verdict = deliver(b)
    f = assert_file_rejected(verdict, service, 0, "ZVVO030")
    assert f.field == "Vorlauf/Zeitraum"


def test_zvvo030_next_year_is_future(deliver, service) -> None:
    """A Jahresmeldung for next year lies in the future: ZVVO030."""
    verdict = deliver(FileBuilder(kind="Jahresmeldung", period=str(date.today().year + 1)))
    f = assert_file_rejected(verdict, service, 0, "ZVVO030")
    assert f.field == "Vorlauf/Zeitraum"


def test_zvvo030_eleven_years_back(deliver, service) -> None:
    """A Monatsmeldung eleven years back is more than ten years back: ZVVO030."""
    year, month = months_back(date.today(), 11 * 12)
    b = FileBuilder(period=f"{year:04d}-{month:02d}")
    b.monatsabrechnung()
    verdict = deliver(b)
    f = assert_file_rejected(verdict, service, 0, "ZVVO030")
    assert f.field == "Vorlauf/Zeitraum"


def test_zvvo030_jahresmeldung_eleven_years_back(deliver, service) -> None:
    """A Jahresmeldung for the year eleven years ago is ZVVO030."""
    verdict = deliver(FileBuilder(kind="Jahresmeldung", period=str(date.today().year - 11)))
    assert_file_rejected(verdict, service, 0, "ZVVO030")


def test_zvvo030_month_more_than_ten_years_back_in_the_boundary_year(deliver, service) -> None:
    """January ten years ago lies more than ten years back (from February on): ZVVO030."""
    today = date.today()
    if today.month == 1:
        pytest.skip("in January, January ten years ago is exactly ten years back")
    b = FileBuilder(period=f"{today.year - 10:04d}-01")
    b.monatsabrechnung()
    verdict = deliver(b)
    assert_file_rejected(verdict, service, 0, "ZVVO030")


def test_zvvo030_not_for_exactly_ten_years_back(deliver, service) -> None:
    """A Monatsmeldung for this month ten years ago is not more than ten years back."""
    year, month = months_back(date.today(), 10 * 12)
    b = FileBuilder(period=f"{year:04d}-{month:02d}")
    b.monatsabrechnung()
    verdict = deliver(b)
    assert "ZVVO030" not in codes(verdict)
    assert_clean(verdict, service, 0)
    assert verdict.accepted == 1


def test_zvvo030_not_for_jahresmeldung_ten_years_back_or_current(deliver, service) -> None:
    """A Jahresmeldung for the year ten years ago, and one for this year, pass ZVVO030."""
    this_year = date.today().year
    old = deliver(FileBuilder(file_number=1, kind="Jahresmeldung", period=str(this_year - 10)))
    assert "ZVVO030" not in codes(old)
    assert old.result == "fehlerfrei"
    current = deliver(FileBuilder(file_number=2, kind="Jahresmeldung", period=str(this_year)))
    assert "ZVVO030" not in codes(current)
    assert current.result == "fehlerfrei"


def test_zvvo030_not_for_current_month(deliver, service) -> None:
    """A Monatsmeldung for the current month is not in the future."""
    today = date.today()
    b = FileBuilder(period=f"{today.year:04d}-{today.month:02d}")
    b.monatsabrechnung()
    verdict = deliver(b)
    assert "ZVVO030" not in codes(verdict)
    assert_clean(verdict, service, 0)


# -- ZVVO054: Erstellt after receipt -----------------------------------------------------------


def _now_utc() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def test_zvvo054_erstellt_ten_minutes_in_future(deliver, service) -> None:
    """An Erstellt ten minutes after receipt (with offset) is ZVVO054 on Vorlauf/Erstellt."""
    verdict = deliver(valid_file(created=_now_utc() + timedelta(minutes=10)))
    f = assert_file_rejected(verdict, service, 0, "ZVVO054")
    assert f.field == "Vorlauf/Erstellt"
    assert f.line == VORLAUF_LINE


def test_zvvo054_local_time_without_offset(deliver, service) -> None:
    """An Erstellt without offset is Berlin time: Berlin now + 10 minutes is ZVVO054."""
    local = datetime.now(BERLIN).replace(tzinfo=None, microsecond=0) + timedelta(minutes=10)
    verdict = deliver(valid_file(created=local))
    f = assert_file_rejected(verdict, service, 0, "ZVVO054")
    assert f.field == "Vorlauf/Erstellt"


def test_zvvo054_not_within_clock_skew(deliver, service) -> None:
    """An Erstellt four minutes after receipt is within the allowed clock skew."""
    verdict = deliver(valid_file(created=_now_utc() + timedelta(minutes=4)))
    assert "ZVVO054" not in codes(verdict)
    assert_clean(verdict, service, 0)


def test_zvvo054_not_for_berlin_local_time_within_skew(deliver, service) -> None:
    """A Berlin local Erstellt four minutes ahead without offset is not taken as UTC."""
    local = datetime.now(BERLIN).replace(tzinfo=None, microsecond=0) + timedelta(minutes=4)
    verdict = deliver(valid_file(created=local))
    assert "ZVVO054" not in codes(verdict)
    assert_clean(verdict, service, 0)


# -- ZVVO060 / ZVVO061: Dateifolgenummer -------------------------------------------------------


def test_zvvo060_file_number_reused_by_different_file(deliver, service) -> None:
    """A different file reusing a Dateifolgenummer already used is ZVVO060; nothing commits."""
    assert_clean(deliver(valid_file(file_number=7)), service, 0)
    b = FileBuilder(file_number=7)
    b.anmeldung(3, meldungs_id="NEU-1")
    verdict = deliver(b)
    f = assert_file_rejected(verdict, service, 2, "ZVVO060")
    assert f.field == "Vorlauf/Dateifolgenummer"
    assert f.line == VORLAUF_LINE


def test_zvvo060_after_file_whose_every_report_was_rejected(deliver, service) -> None:
    """A file rejected report by report (no file-level finding) has used up its number."""
    b = FileBuilder(file_number=1)
    b.anmeldung(1, office="009")  # unknown billing office: ZVME100
    first = deliver(b)
    assert first.result == "abgewiesen"
    assert not any(f.scope == "Datei" for f in first.findings), codes(first)
    verdict = deliver(valid_file(file_number=1))
    f = assert_file_rejected(verdict, service, 0, "ZVVO060")
    assert f.field == "Vorlauf/Dateifolgenummer"


def test_zvvo060_not_after_file_rejected_as_a_whole(deliver, service) -> None:
    """A file rejected by a file-level finding uses up no number: the corrected file passes."""
    assert_clean(deliver(valid_file(file_number=1)), service, 0)
    broken = FileBuilder(file_number=2)
    broken.anmeldung(4)
    broken.anmeldung(5)
    broken.trailer_overrides["AnzahlMeldungen"] = "3"
    assert_file_rejected(deliver(broken), service, 2, "ZVNC010")
    fixed = FileBuilder(file_number=2)
    fixed.anmeldung(4)
    fixed.anmeldung(5)
    verdict = deliver(fixed)
    assert "ZVVO060" not in codes(verdict)
    assert "ZVVO061" not in codes(verdict)
    assert_clean(verdict, service, 2)
    assert verdict.result == "fehlerfrei"


@pytest.mark.parametrize("how", ["delivery", "vorlauf"])
def test_zvvo060_not_after_test_delivery(deliver, service, how: str) -> None:
    """A test delivery uses up no number: the real file with the same number is accepted."""
    if how == "delivery":
        first = deliver(valid_file(file_number=1), test=True)
    else:
        first = deliver(valid_file(file_number=1, test=True))
    assert first.test and first.result == "fehlerfrei", codes(first)
    assert service.count_committed() == 0
    b = valid_file(file_number=1)
    b.anmeldung(5)
    verdict = deliver(b)
    assert verdict.result == "fehlerfrei", codes(verdict)
    assert "ZVVO060" not in codes(verdict)
    assert_clean(verdict, service, 0)


def test_zvvo061_gap_is_a_hint_and_file_is_committed(deliver, service) -> None:
    """Dateifolgenummer 3 after 1 is ZVVO061 (H); the file is still committed: hinweise."""
    assert_clean(deliver(valid_file(file_number=1)), service, 0)
    b = FileBuilder(file_number=3)
    b.anmeldung(2)
    verdict = deliver(b)
    f = finding(verdict, "ZVVO061")
    assert (f.severity, f.scope) == ("H", "Datei")
    assert f.field == "Vorlauf/Dateifolgenummer"
    assert f.line == VORLAUF_LINE
    assert verdict.result == "hinweise", codes(verdict)
    assert verdict.accepted == verdict.total == 1
    assert service.count_committed() == 3


def test_zvvo061_next_number_after_gap_counts_from_the_last_used(deliver, service) -> None:
    """After 1 and 3, number 4 is the last + 1 and gets no ZVVO061."""
    assert_clean(deliver(valid_file(file_number=1)), service, 0)
    b3 = FileBuilder(file_number=3)
    b3.anmeldung(2)
    assert "ZVVO061" in codes(deliver(b3))
    b4 = FileBuilder(file_number=4)
    b4.anmeldung(3)
    verdict = deliver(b4)
    assert "ZVVO061" not in codes(verdict)
    assert verdict.result == "fehlerfrei"


def test_zvvo061_not_for_last_plus_one(deliver, service) -> None:
    """Dateifolgenummer 2 after 1 continues without a gap: no ZVVO061, fehlerfrei."""
    assert_clean(deliver(valid_file(file_number=1)), service, 0)
    b = FileBuilder(file_number=2)
    b.anmeldung(2)
    verdict = deliver(b)
    assert "ZVVO061" not in codes(verdict)
    assert verdict.result == "fehlerfrei"


def test_zvvo061_is_per_sender(deliver, service) -> None:
    """Another sender's file numbers do not count: 76641777's number 2 after its 1 has no gap."""
    assert_clean(deliver(valid_file(file_number=50)), service, 0)
    m1 = FileBuilder(sender=MEMBER_SENDER, member="100002", office="001", file_number=1)
    m1.anmeldung(1)
    assert_clean(deliver(m1, sender=MEMBER_SENDER), service, 2)
    m2 = FileBuilder(sender=MEMBER_SENDER, member="100002", office="001", file_number=2)
    m2.anmeldung(2)
    verdict = deliver(m2, sender=MEMBER_SENDER)
    assert "ZVVO061" not in codes(verdict)
    assert "ZVVO060" not in codes(verdict)
    assert verdict.result == "fehlerfrei"


# -- ZVVO062: duplicate ------------------------------------------------------------------------


def test_zvvo062_same_file_again_is_doppelt(deliver, service) -> None:
    """The same bytes from the same sender again are `doppelt` with Bezug = the first delivery."""
    data = valid_file().to_bytes()
    first = deliver(data)
    assert_clean(first, service, 0)
    verdict = deliver(data, name="nochmal.xml")
    assert verdict.result == "doppelt"
    assert verdict.duplicate_of == first.delivery_id
    assert verdict.delivery_id != first.delivery_id
    f = finding(verdict, "ZVVO062")
    assert (f.severity, f.scope) == ("F", "Datei")
    assert codes(verdict) == ["ZVVO062"]
    assert verdict.accepted == 0
    assert service.count_committed() == 2


def test_zvvo062_third_copy_refers_to_first_delivery(deliver, service) -> None:
    """A third copy also names the first delivery, not the second, as Bezug."""
    data = valid_file().to_bytes()
    first = deliver(data)
    deliver(data)
    third = deliver(data)
    assert third.result == "doppelt"
    assert third.duplicate_of == first.delivery_id


def test_zvvo062_test_delivery_of_delivered_file_gets_real_answer(deliver, service) -> None:
    """A test delivery of a file already delivered for real gets what a real one would: doppelt."""
    data = valid_file().to_bytes()
    first = deliver(data)
    verdict = deliver(data, test=True)
    assert verdict.result == "doppelt" and verdict.test
    assert "ZVVO062" in codes(verdict)
    assert verdict.duplicate_of == first.delivery_id
    assert service.count_committed() == 2


def test_zvvo062_not_for_real_delivery_after_test_delivery(deliver, service) -> None:
    """A file first sent as a test delivery and then for real is committed, not `doppelt`."""
    data = valid_file().to_bytes()
    deliver(data, test=True)
    verdict = deliver(data)
    assert "ZVVO062" not in codes(verdict)
    assert verdict.duplicate_of is None
    assert_clean(verdict, service, 0)


def test_zvvo062_not_for_same_content_with_one_byte_changed(deliver, service) -> None:
    """A file differing only in its Software text is a different file, not a duplicate."""
    assert_clean(deliver(valid_file(file_number=1)), service, 0)
    b = valid_file(file_number=2, software="zvk-ingest Beispieldaten 1.1")
    b.reports[0].set("MeldungsId", "X-1")
    b.reports[1].set("MeldungsId", "X-2").set("Abrechnungsstelle", "002")
    verdict = deliver(b)
    assert "ZVVO062" not in codes(verdict)
    assert verdict.result != "doppelt"


# -- ZVNC010 / ZVNC020: trailer ----------------------------------------------------------------


def test_zvnc010_anzahl_meldungen_wrong(deliver, service) -> None:
    """AnzahlMeldungen 3 for two reports is ZVNC010 on Nachlauf/AnzahlMeldungen."""
    b = valid_file()
    b.trailer_overrides["AnzahlMeldungen"] = "3"
    data = b.to_bytes()
    verdict = deliver(data)
    f = assert_file_rejected(verdict, service, 0, "ZVNC010")
    assert f.field == "Nachlauf/AnzahlMeldungen"
    assert f.line == line_of(data, b"<Nachlauf")


@pytest.mark.parametrize("field", ["SummeEntgelt", "SummeBetrag"])
def test_zvnc020_sum_wrong(deliver, service, field: str) -> None:
    """A trailer sum off by one cent is ZVNC020 naming exactly that sum."""
    b = valid_file()
    right = b.trailer().get(field)
    assert right is not None
    b.trailer_overrides[field] = f"{float(right) + 0.01:.2f}"
    data = b.to_bytes()
    verdict = deliver(data)
    f = assert_file_rejected(verdict, service, 0, "ZVNC020")
    assert f.field == f"Nachlauf/{field}"
    assert f.line == line_of(data, b"<Nachlauf")
    assert [x.field for x in verdict.findings if x.code == "ZVNC020"] == [f"Nachlauf/{field}"]


def test_zvnc_not_for_correct_sums_over_many_reports(deliver, service) -> None:
    """Exact trailer sums over 60 reports with cent amounts raise neither ZVNC010 nor ZVNC020."""
    b = FileBuilder()
    for n in range(1, 30):
        b.anmeldung(PersonSeed(n), date(2026, 10, 1))
        pay = f"{1000 + n}.{n:02d}"
        b.abmeldung(
            PersonSeed(n),
            date(2026, 10, 31),
            periods=[period_node(date(2026, 10, 1), date(2026, 10, 31), pay=pay)],
        )
    b.monatsabrechnung(insured=29, pay="0.10", levy="0.10", additional="0.20", office="001")
    b.monatsabrechnung(pay="1234.57", levy="19.75", additional="60.00", office="002")
    data = b.to_bytes()
    verdict = deliver(data)
    assert "ZVNC010" not in codes(verdict)
    assert "ZVNC020" not in codes(verdict)
    assert verdict.total == 60
    assert_clean(verdict, service, 0)


def test_zvnc_not_when_trailer_counts_rejected_reports(deliver, service) -> None:
    """Count and sums cover every report element, including reports rejected on their own."""
    b = FileBuilder()
    b.anmeldung(1).drop("Person/Geschlecht")  # ZVDA010
    b.monatsabrechnung(total="999.99")  # ZVMA010, its stated Gesamtbetrag still counts
    b.anmeldung(2)
    verdict = deliver(b)
    assert {"ZVDA010", "ZVMA010"} <= set(codes(verdict))
    assert "ZVNC010" not in codes(verdict)
    assert "ZVNC020" not in codes(verdict)
    assert verdict.result == "teilweise_abgewiesen"
    assert (verdict.total, verdict.accepted) == (3, 1)
    assert service.count_committed() == 1


def test_zvnc020_not_for_equal_value_written_differently(deliver, service) -> None:
    """Trailer sums written with another number of decimals but the same value are accepted."""
    b = valid_file()
    b.trailer_overrides["SummeEntgelt"] = "30000"
    b.trailer_overrides["SummeBetrag"] = "1938.0"
    verdict = deliver(b)
    assert "ZVNC020" not in codes(verdict)
    assert_clean(verdict, service, 0)
