"""A finding's detail tells a sender only what it may see: the reports and relationships of the
members and billing offices it reports for. Whether another sender's MeldungsId, another
member's person or another member's reports exist is not told: the detail is the same as for
something the fund does not know at all."""

from __future__ import annotations

from datetime import date

from code_helpers import ok, only
from conftest import MEMBER_SENDER

from ingest.samples.builder import FileBuilder, period_node


def other_member_file(file_number: int = 1, year: int | None = None) -> FileBuilder:
    """A file of the member 100002, who reports for itself (billing office 001)."""
    if year is None:
        return FileBuilder(
            sender=MEMBER_SENDER, file_number=file_number, member="100002", office="001"
        )
    return FileBuilder(
        sender=MEMBER_SENDER,
        kind="Jahresmeldung",
        period=str(year),
        file_number=file_number,
        member="100002",
        office="001",
    )


def test_storno_of_another_members_meldungs_id_reads_as_unknown(deliver, service) -> None:
    """A Storno naming a MeldungsId that exists only at another member gets the same ZVME160
    detail as one naming an id that was never used: `unbekannt`."""
    theirs = other_member_file()
    theirs.anmeldung(5, date(2026, 10, 1), meldungs_id="FREMD-1")
    ok(deliver, theirs, sender=MEMBER_SENDER)
    b = FileBuilder()
    b.anmeldung(1)
    b.storno("FREMD-1")
    b.storno("NIE-GESENDET")
    verdict = deliver(b)
    foreign, never = (f for f in verdict.findings if f.code == "ZVME160")
    assert foreign.message == never.message.replace("NIE-GESENDET", "FREMD-1")
    assert foreign.message.endswith(": Bezug FREMD-1 unbekannt."), foreign.message


def test_jahresmeldung_for_another_members_person_reads_as_unknown(deliver, service) -> None:
    """A Jahresmeldung for a person insured only at another member gets the same ZVME141
    detail as one for a person the fund does not know."""
    theirs = other_member_file()
    theirs.anmeldung(5, date(2026, 1, 1))
    ok(deliver, theirs, sender=MEMBER_SENDER)
    first = FileBuilder()
    first.anmeldung(1, date(2026, 1, 1))
    ok(deliver, first)
    b = FileBuilder(kind="Jahresmeldung", period="2026", file_number=2)
    b.jahresmeldung(1)
    b.jahresmeldung(5)  # insured at 100002 only
    b.jahresmeldung(9)  # unknown to the fund
    verdict = deliver(b)
    elsewhere, unknown = (f for f in verdict.findings if f.code == "ZVME141")
    assert (elsewhere.satz, unknown.satz) == (2, 3)
    assert elsewhere.message == unknown.message


def test_parental_leave_hint_does_not_count_other_members_months(deliver, service) -> None:
    """ZVVA061 counts the parental leave reported by every member, but its detail gives no
    figure of another member's reports (the months counted there)."""
    theirs = other_member_file()
    theirs.anmeldung(5, date(2023, 1, 1))
    ok(deliver, theirs, sender=MEMBER_SENDER)
    for number, year in enumerate((2023, 2024, 2025), start=2):
        annual = other_member_file(number, year)
        leave = period_node(date(year, 1, 1), date(year, 12, 31), "012800", "0.00", children=1)
        annual.jahresmeldung(5, [leave])
        ok(deliver, annual, sender=MEMBER_SENDER)
    first = FileBuilder()
    first.anmeldung(5, date(2026, 1, 1))
    ok(deliver, first)
    b = FileBuilder(kind="Jahresmeldung", period="2026", file_number=2)
    b.jahresmeldung(
        5,
        [
            period_node(date(2026, 1, 1), date(2026, 1, 31), "012800", "0.00", children=1),
            period_node(date(2026, 2, 1), date(2026, 12, 31), pay="27500.00"),
        ],
    )
    hint = only(deliver(b), "ZVVA061")
    assert "37" not in hint.message and "36 Monate" in hint.message, hint.message
