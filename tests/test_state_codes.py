"""Report-level finding codes that need the fund's stored state (earlier deliveries, or earlier
reports of the same file): each fires on the report and field it belongs to, leaves the other
reports committed, and stays quiet on the nearest valid case."""

from __future__ import annotations

from datetime import date

import pytest
from code_helpers import assert_clean, assert_hinted, assert_rejected, committed_satz, ok, only
from conftest import MEMBER_SENDER, OTHER_SENDER, SENDER, codes
from sqlalchemy import select, update

from ingest.home import sender_folders
from ingest.samples.builder import FileBuilder, period_node
from ingest.storing.db import make_engine, session_factory
from ingest.storing.models import BillingOffice, Member
from ingest.storing.registry import Grant, add_member, add_sender
from ingest.validating.identifiers import make_versicherungsnummer

JAN1 = date(2026, 1, 1)


# -- helpers ------------------------------------------------------------------------------------
def jm(file_number: int, year: int = 2026) -> FileBuilder:
    return FileBuilder(kind="Jahresmeldung", period=str(year), file_number=file_number)


def whole(year: int, key: str = "011011", pay: str = "30000.00", children: int | None = None):  # type: ignore[no-untyped-def]
    return period_node(date(year, 1, 1), date(year, 12, 31), key, pay, None, children)


def register(deliver, *seeds: int, begin: date = JAN1, office: str = "001"):  # type: ignore[no-untyped-def]
    """File 1: Anmeldungen of ``seeds`` at 100001/``office``; returns the verdict."""
    b = FileBuilder()
    for n in seeds:
        b.anmeldung(n, begin, office=office)
    return ok(deliver, b)


def sessions(settings):  # type: ignore[no-untyped-def]
    return session_factory(make_engine(settings))


# -- ZVVO022 / ZVME100: who may report for whom --------------------------------------------------
def test_zvvo022_member_sender_for_foreign_member(deliver, service) -> None:
    """A member reporting for another member gets ZVVO022; its own reports are committed."""
    b = FileBuilder(sender=MEMBER_SENDER, member="100002")
    b.anmeldung(1)
    b.anmeldung(2, member="100001")
    b.anmeldung(3)
    assert_rejected(
        service, deliver(b, sender=MEMBER_SENDER), "ZVVO022", satz=2, field="Abrechnungsstelle"
    )


def test_zvvo022_grant_for_one_office_only(settings, deliver, service) -> None:
    """A grant for 100002/001 does not cover a second billing office 100002/002 (ZVVO022)."""
    with sessions(settings).begin() as session:
        add_member(session, "100002", "", ["002"])
    b = FileBuilder(sender=MEMBER_SENDER, member="100002")
    b.anmeldung(1)
    b.anmeldung(2, office="002")
    assert_rejected(
        service, deliver(b, sender=MEMBER_SENDER), "ZVVO022", satz=2, field="Abrechnungsstelle"
    )


def test_zvvo022_sender_without_grants(deliver, service) -> None:
    """A registered sender without any grant has every report rejected with ZVVO022."""
    b = FileBuilder(sender=OTHER_SENDER)
    b.anmeldung(1)
    b.anmeldung(2)
    verdict = deliver(b, sender=OTHER_SENDER)
    assert [(f.code, f.satz, f.field) for f in verdict.findings] == [
        ("ZVVO022", 1, "Abrechnungsstelle"),
        ("ZVVO022", 2, "Abrechnungsstelle"),
    ]
    assert verdict.result == "abgewiesen"
    assert service.count_committed() == 0


@pytest.mark.parametrize(
    ("sender", "member", "office"),
    [(SENDER, "100001", "001"), (SENDER, "100001", "002"), (MEMBER_SENDER, "100002", "001")],
)
def test_zvvo022_not_for_granted_offices(deliver, service, sender, member, office) -> None:
    """A member-wide grant covers every billing office; an office grant covers that office."""
    b = FileBuilder(sender=sender, member=member, office=office)
    b.anmeldung(1)
    assert_clean(service, deliver(b, sender=sender))


@pytest.mark.parametrize(
    ("member", "office", "deactivate"),
    [
        ("999999", "001", None),
        ("100001", "003", None),
        ("100002", "002", None),
        ("100001", "002", "office"),
        ("100001", "001", "member"),
    ],
)
def test_zvme100_member_or_office_unknown_or_inactive(
    settings, deliver, service, member, office, deactivate
) -> None:
    """A report for an unknown or inactive member or billing office is rejected with ZVME100."""
    with sessions(settings).begin() as session:
        if deactivate == "member":
            add_member(session, "100003", "Dritte", ["001"])
            session.execute(update(Member).where(Member.number == "100003").values(active=False))
            add_sender(session, SENDER, "", "rechenzentrum", [Grant("100003", None)])
            member = "100003"
        elif deactivate == "office":
            office_id = session.scalar(
                select(BillingOffice.id)
                .join(Member)
                .where(Member.number == member, BillingOffice.number == office)
            )
            session.execute(
                update(BillingOffice).where(BillingOffice.id == office_id).values(active=False)
            )
    b = FileBuilder()
    b.anmeldung(1)
    b.anmeldung(2, member=member, office=office)
    assert_rejected(service, deliver(b), "ZVME100", satz=2, field="Mitgliedsnummer")


# -- ZVME061: MeldungsId ------------------------------------------------------------------------
def test_zvme061_id_of_earlier_file(deliver, service) -> None:
    """A MeldungsId committed in an earlier file is rejected with ZVME061."""
    first = FileBuilder()
    first.anmeldung(1, meldungs_id="ANM-1")
    ok(deliver, first)
    b = FileBuilder(file_number=2)
    b.anmeldung(2)
    b.anmeldung(3, meldungs_id="ANM-1")
    assert_rejected(service, deliver(b), "ZVME061", satz=2, field="MeldungsId")


def test_zvme061_id_earlier_in_same_file(deliver, service) -> None:
    """A MeldungsId committed earlier in the same file is rejected with ZVME061."""
    b = FileBuilder()
    b.anmeldung(1, meldungs_id="X")
    b.anmeldung(2, meldungs_id="X")
    b.anmeldung(3)
    assert_rejected(service, deliver(b), "ZVME061", satz=2, field="MeldungsId")


def test_zvme061_not_for_id_of_rejected_report_in_later_file(deliver, service) -> None:
    """The MeldungsId of a rejected report may be sent again in a later file."""
    first = FileBuilder()
    first.anmeldung(1)
    first.anmeldung(2, meldungs_id="RETRY").set("Person/Vorname", "Anna1")
    assert deliver(first).result == "teilweise_abgewiesen"
    b = FileBuilder(file_number=2)
    b.anmeldung(2, meldungs_id="RETRY")
    assert_clean(service, deliver(b))


def test_zvme061_not_for_id_of_rejected_report_in_same_file(deliver, service) -> None:
    """A rejected report's MeldungsId may be reused later in the same file."""
    b = FileBuilder()
    b.anmeldung(2, meldungs_id="R").set("Person/Vorname", "Anna1")
    b.anmeldung(2, meldungs_id="R")
    verdict = deliver(b)
    assert "ZVME061" not in codes(verdict)
    assert committed_satz(service, verdict) == {2}


@pytest.mark.parametrize("how", ["test", "file_rejected", "other_sender"])
def test_zvme061_not_when_nothing_was_committed_for_this_sender(deliver, service, how) -> None:
    """Ids of a test delivery, of a wholly rejected file or of another sender are free to use."""
    first = FileBuilder(
        sender=MEMBER_SENDER if how == "other_sender" else SENDER,
        member="100002" if how == "other_sender" else "100001",
    )
    first.anmeldung(1, meldungs_id="ID-7")
    if how == "file_rejected":
        first.trailer_overrides["AnzahlMeldungen"] = "5"
    verdict = deliver(
        first, test=how == "test", sender=MEMBER_SENDER if how == "other_sender" else SENDER
    )
    assert verdict.result == ("abgewiesen" if how == "file_rejected" else "fehlerfrei")
    b = FileBuilder()
    b.anmeldung(2, meldungs_id="ID-7")
    assert_clean(service, deliver(b))


def test_zvme061_also_checked_in_test_delivery(deliver, service) -> None:
    """A test delivery is checked in full: a MeldungsId repeated in the file gets ZVME061."""
    b = FileBuilder()
    b.anmeldung(1, meldungs_id="T")
    b.anmeldung(2, meldungs_id="T")
    verdict = deliver(b, test=True)
    f = only(verdict, "ZVME061")
    assert (f.severity, f.satz, f.field) == ("F", 2, "MeldungsId")
    assert (verdict.result, verdict.accepted) == ("teilweise_abgewiesen", 1)
    assert service.count_committed() == 0


# -- ZVME096 / ZVME097: Versicherungsnummer ------------------------------------------------------
def test_zvme096_unknown_versicherungsnummer(deliver, service) -> None:
    """A Versicherungsnummer with a good check digit that was never assigned gets ZVME096."""
    register(deliver, 1, 2)
    b = FileBuilder(file_number=2)
    b.abmeldung(1)
    b.abmeldung(2).set("Person/Versicherungsnummer", make_versicherungsnummer(987654))
    assert_rejected(service, deliver(b), "ZVME096", satz=2, field="Person/Versicherungsnummer")


def test_zvme096_not_for_assigned_number(deliver, service) -> None:
    """The Versicherungsnummer returned for an Anmeldung identifies the person afterwards."""
    assigned = register(deliver, 1).assignments[0].versicherungsnummer
    b = FileBuilder(file_number=2)
    b.abmeldung(1).set("Person/Versicherungsnummer", assigned)
    assert_clean(service, deliver(b))


def test_zvme097_numbers_of_two_persons(deliver, service) -> None:
    """A Versicherungsnummer of one person with the RVNR of another is rejected with ZVME097."""
    numbers = [a.versicherungsnummer for a in register(deliver, 1, 2, 3).assignments]
    b = FileBuilder(file_number=2)
    b.abmeldung(1).set("Person/Versicherungsnummer", numbers[0])
    b.abmeldung(2).set("Person/Versicherungsnummer", numbers[2])
    assert_rejected(service, deliver(b), "ZVME097", satz=2, field="Person/RVNR")


def test_zvme097_number_of_a_person_stored_with_another_rvnr(deliver, service) -> None:
    """A Versicherungsnummer of a person whom the fund knows with another RVNR is rejected
    with ZVME097, even when the report's RVNR is unknown to the fund: the report is not booked
    on that person."""
    numbers = [a.versicherungsnummer for a in register(deliver, 1).assignments]
    b = FileBuilder(file_number=2)
    b.anmeldung(3, office="002")
    b.anmeldung(2, office="002").set("Person/Versicherungsnummer", numbers[0])
    verdict = deliver(b)
    assert_rejected(service, verdict, "ZVME097", satz=2, field="Person/RVNR")


# -- relationships -------------------------------------------------------------------------------
def test_zvme130_second_anmeldung_in_later_file(deliver, service) -> None:
    """An Anmeldung while the person is insured at the same billing office gets ZVME130."""
    register(deliver, 1)
    b = FileBuilder(file_number=2)
    b.anmeldung(2)
    b.anmeldung(1, date(2026, 10, 15))
    assert_rejected(service, deliver(b), "ZVME130", satz=2, field="Beginn")


def test_zvme130_twice_in_one_file(deliver, service) -> None:
    """The second Anmeldung of one person in the same file sees the first and gets ZVME130."""
    b = FileBuilder()
    b.anmeldung(1)
    b.anmeldung(1)
    assert_rejected(service, deliver(b), "ZVME130", satz=2, field="Beginn")


def test_zvme130_anmeldung_while_a_closed_relationship_still_runs(deliver, service) -> None:
    """An Anmeldung whose Beginn lies before the end of a stored relationship would overlap
    it: ZVME130 names the relationship; one after its end is accepted."""
    register(deliver, 1)
    closing = FileBuilder(file_number=2)
    closing.abmeldung(1, date(2026, 12, 31))
    ok(deliver, closing)
    b = FileBuilder(file_number=3)
    b.anmeldung(2)
    b.anmeldung(1, date(2026, 12, 1))
    verdict = deliver(b)
    assert_rejected(service, verdict, "ZVME130", satz=2, field="Beginn")
    assert "besteht vom 2026-01-01 bis 2026-12-31" in only(verdict, "ZVME130").message
    after = FileBuilder(file_number=4)
    after.anmeldung(1, date(2027, 1, 1))
    assert_clean(service, deliver(after))


def test_zvme130_not_for_other_office_or_after_abmeldung(deliver, service) -> None:
    """The same person may be registered at another office, and again after an Abmeldung."""
    register(deliver, 1, begin=date(2026, 1, 1))
    b = FileBuilder(file_number=2)
    b.anmeldung(1, office="002")
    b.abmeldung(1, date(2026, 9, 30))
    b.anmeldung(1, date(2026, 10, 1))
    assert_clean(service, deliver(b))


def test_zvme135_second_jahresmeldung(deliver, service) -> None:
    """A second uncancelled Jahresmeldung for person, office and year gets ZVME135."""
    register(deliver, 1, 2)
    first = jm(2)
    first.jahresmeldung(1)
    ok(deliver, first)
    b = jm(3)
    b.jahresmeldung(2)
    b.jahresmeldung(1)
    assert_rejected(service, deliver(b), "ZVME135", satz=2, field="Person/RVNR")


def test_zvme135_not_after_storno_or_at_other_office(deliver, service) -> None:
    """After a Storno of the Jahresmeldung a corrected one is accepted; other offices are apart."""
    register(deliver, 1)
    b = FileBuilder(file_number=2)
    b.anmeldung(1, JAN1, office="002")
    ok(deliver, b)
    first = jm(3)
    first.jahresmeldung(1, meldungs_id="JM-1")
    ok(deliver, first)
    fix = jm(4)
    fix.storno("JM-1")
    fix.jahresmeldung(1, [whole(2026, pay="31000.00")])
    fix.jahresmeldung(1, office="002")
    assert_clean(service, deliver(fix))


@pytest.mark.parametrize("case", ["unknown_person", "already_closed", "end_before_begin"])
def test_zvme140_abmeldung(deliver, service, case) -> None:
    """An Abmeldung without open relationship, or with Ende before its Beginn, gets ZVME140."""
    register(deliver, 1, 2, begin=date(2026, 5, 1))
    b = FileBuilder(file_number=2)
    b.abmeldung(1)
    if case == "unknown_person":
        b.abmeldung(7)
    elif case == "already_closed":
        b.abmeldung(1, date(2026, 10, 31))
    else:
        b.abmeldung(2, date(2026, 4, 30))
    assert_rejected(service, deliver(b), "ZVME140", satz=2, field="Ende")


def test_zvme140_not_for_ende_equal_beginn(deliver, service) -> None:
    """A one-day relationship (Ende = Beginn) may be closed."""
    register(deliver, 1, begin=date(2026, 5, 1))
    b = FileBuilder(file_number=2)
    b.abmeldung(1, date(2026, 5, 1))
    assert_clean(service, deliver(b))


@pytest.mark.parametrize("case", ["unknown_person", "other_office", "ended_last_year"])
def test_zvme141_jahresmeldung_without_relationship(deliver, service, case) -> None:
    """A Jahresmeldung for a person without relationship at the office in that year gets ZVME141."""
    first = FileBuilder()
    first.anmeldung(1, date(2025, 1, 1))
    first.anmeldung(2, date(2025, 1, 1), office="002")
    first.anmeldung(3, date(2025, 1, 1))
    first.abmeldung(3, date(2025, 12, 31))
    ok(deliver, first)
    b = jm(2)
    b.jahresmeldung(1)
    b.jahresmeldung({"unknown_person": 9, "other_office": 2, "ended_last_year": 3}[case])
    assert_rejected(service, deliver(b), "ZVME141", satz=2, field="Person/RVNR")


def test_zvme141_not_for_relationship_ending_in_the_year(deliver, service) -> None:
    """A relationship that ended during the year carries that year's Jahresmeldung."""
    first = FileBuilder()
    first.anmeldung(1, date(2025, 1, 1))
    first.abmeldung(1, date(2026, 3, 31))
    ok(deliver, first)
    b = jm(2)
    b.jahresmeldung(1, [period_node(JAN1, date(2026, 3, 31), pay="7500.00")])
    assert_clean(service, deliver(b))


# -- Storno --------------------------------------------------------------------------------------
@pytest.mark.parametrize("case", ["unknown", "already_cancelled", "other_office", "a_storno"])
def test_zvme160_bad_bezug(deliver, service, case) -> None:
    """A Storno of an unknown, cancelled, other office's report or of a Storno gets ZVME160."""
    first = FileBuilder()
    first.anmeldung(1, meldungs_id="A1")
    first.anmeldung(2, meldungs_id="A2")
    first.storno("A2", meldungs_id="S2")
    ok(deliver, first)
    b = FileBuilder(file_number=2)
    b.anmeldung(3)
    reference = {
        "unknown": "NIE",
        "already_cancelled": "A2",
        "other_office": "A1",
        "a_storno": "S2",
    }[case]
    b.storno(reference, office="002" if case == "other_office" else None)
    assert_rejected(service, deliver(b), "ZVME160", satz=2, field="Bezug")


def test_zvme160_not_for_storno_by_another_authorised_sender(settings, deliver, service) -> None:
    """Any sender authorised for the billing office may cancel a report of another sender."""
    with sessions(settings).begin() as session:
        add_sender(
            session, "33333330", "Rechenzentrum West", "rechenzentrum", [Grant("100001", "001")]
        )
    sender_folders(settings, "33333330")
    first = FileBuilder()
    first.anmeldung(1, meldungs_id="A1")
    ok(deliver, first)
    b = FileBuilder(sender="33333330")
    b.storno("A1")
    b.anmeldung(1, date(2026, 10, 2))
    assert_clean(service, deliver(b, sender="33333330"))


@pytest.mark.parametrize("dependant", ["jahresmeldung", "abmeldung"])
def test_zvme161_storno_of_anmeldung_with_dependant(deliver, service, dependant) -> None:
    """A Storno of an Anmeldung on which a Jahresmeldung or Abmeldung rests gets ZVME161."""
    first = FileBuilder()
    first.anmeldung(1, JAN1, meldungs_id="A1")
    first.anmeldung(2, JAN1, meldungs_id="A2")
    if dependant == "abmeldung":
        first.abmeldung(1, date(2026, 6, 30))
    ok(deliver, first)
    number = 2
    if dependant == "jahresmeldung":
        annual = jm(2)
        annual.jahresmeldung(1)
        ok(deliver, annual)
        number = 3
    b = FileBuilder(file_number=number)
    b.storno("A2")
    b.storno("A1")
    assert_rejected(service, deliver(b), "ZVME161", satz=2, field="Bezug")


def test_zvme161_not_once_dependant_is_cancelled_first(deliver, service) -> None:
    """Cancelling the Jahresmeldung first, then its Anmeldung, in one file works (file order)."""
    register(deliver, 1)
    annual = jm(2)
    annual.jahresmeldung(1, meldungs_id="JM-1")
    ok(deliver, annual)
    b = jm(3)
    b.storno("JM-1")
    b.storno("M1-000001")
    assert_clean(service, deliver(b))


def test_zvme161_not_for_abmeldung_of_earlier_relationship(deliver, service) -> None:
    """The Abmeldung of a former relationship does not block the Storno of a new Anmeldung."""
    first = FileBuilder()
    first.anmeldung(1, date(2025, 1, 1))
    first.abmeldung(1, date(2025, 12, 31))
    first.anmeldung(1, date(2026, 10, 1), meldungs_id="NEU")
    ok(deliver, first)
    b = FileBuilder(file_number=2)
    b.storno("NEU")
    assert_clean(service, deliver(b))


def test_storno_then_corrected_report_in_one_file(deliver, service) -> None:
    """Storno then corrected Anmeldung / Abmeldung in one file are accepted, in file order."""
    first = FileBuilder()
    first.anmeldung(1, date(2026, 9, 1), meldungs_id="A1")
    first.anmeldung(2, date(2026, 9, 1))
    first.abmeldung(2, date(2026, 9, 30), meldungs_id="AB2")
    ok(deliver, first)
    b = FileBuilder(file_number=2)
    b.storno("A1")
    b.anmeldung(1, date(2026, 9, 15))
    b.storno("AB2")
    b.abmeldung(2, date(2026, 10, 15))
    assert_clean(service, deliver(b))


# -- period hints against stored state -----------------------------------------------------------
@pytest.mark.parametrize(
    ("first_year", "children", "hint"), [(2023, 1, True), (2024, 1, False), (2023, 2, False)]
)
def test_zvva061_parental_leave_over_36_months(
    deliver, service, first_year, children, hint
) -> None:
    """More than 36 months of parental leave per child, over all committed reports, is a hint."""
    register(deliver, 1, 2, begin=date(first_year, 1, 1))
    number = 2
    for y in range(first_year, 2026):
        b = jm(number, y)
        b.jahresmeldung(1, [whole(y, "012800", "0.00", children=children)])
        ok(deliver, b)
        number += 1
    b = jm(number)
    b.jahresmeldung(2)
    b.jahresmeldung(
        1,
        [
            period_node(JAN1, date(2026, 1, 31), "012800", "0.00", children=children),
            period_node(date(2026, 2, 1), date(2026, 12, 31), pay="27500.00"),
        ],
    )
    verdict = deliver(b)
    if hint:
        assert_hinted(service, verdict, "ZVVA061", satz=2, field="Abschnitt")
    else:
        assert_clean(service, verdict)


def test_zvva061_also_for_abmeldung_periods(deliver, service) -> None:
    """Parental leave reported in an Abmeldung counts too: month 37 for one child is a hint."""
    register(deliver, 1, 2, begin=date(2023, 1, 1))
    for number, y in enumerate(range(2023, 2026), start=2):
        b = jm(number, y)
        b.jahresmeldung(1, [whole(y, "012800", "0.00", children=1)])
        ok(deliver, b)
    b = FileBuilder(file_number=5)
    b.abmeldung(2, date(2026, 1, 31), periods=[period_node(JAN1, date(2026, 1, 31), pay="2500.00")])
    b.abmeldung(
        1,
        date(2026, 1, 31),
        periods=[period_node(JAN1, date(2026, 1, 31), "012800", "0.00", children=1)],
    )
    assert_hinted(service, deliver(b), "ZVVA061", satz=2, field="Abschnitt")


def test_zvva090_month_without_period(deliver, service) -> None:
    """A whole calendar month without any Abschnitt inside the relationship is a hint (ZVVA090)."""
    register(deliver, 1, 2)
    b = jm(2)
    b.jahresmeldung(1)
    b.jahresmeldung(
        2,
        [
            period_node(JAN1, date(2026, 3, 31), pay="7500.00"),
            period_node(date(2026, 5, 1), date(2026, 12, 31), pay="20000.00"),
        ],
    )
    assert_hinted(service, deliver(b), "ZVVA090", satz=2, field="Abschnitt")


@pytest.mark.parametrize("case", ["no_relationship_in_gap", "part_months"])
def test_zvva090_not_for_gap_outside_relationship_or_part_month(deliver, service, case) -> None:
    """A month between two relationships, or gaps under a calendar month: no ZVVA090."""
    first = FileBuilder()
    first.anmeldung(1, JAN1)
    if case == "no_relationship_in_gap":
        first.abmeldung(1, date(2026, 3, 31))
        first.anmeldung(1, date(2026, 5, 1))
        periods = [
            period_node(JAN1, date(2026, 3, 31), pay="7500.00"),
            period_node(date(2026, 5, 1), date(2026, 12, 31), pay="20000.00"),
        ]
    else:
        periods = [
            period_node(JAN1, date(2026, 3, 10), pay="7500.00"),
            period_node(date(2026, 4, 20), date(2026, 12, 31), pay="20000.00"),
        ]
    ok(deliver, first)
    b = jm(2)
    b.jahresmeldung(1, periods)
    assert_clean(service, deliver(b))


@pytest.mark.parametrize(
    ("begin", "end", "field"),
    [
        (JAN1, date(2026, 12, 31), "Abschnitt[1]/Beginn"),
        (date(2026, 2, 1), date(2026, 2, 28), "Abschnitt[1]/Beginn"),
    ],
)
def test_zvva110_period_before_relationship(deliver, service, begin, end, field) -> None:
    """A Jahresmeldung Abschnitt starting before the relationship's Beginn is a hint (ZVVA110)."""
    register(deliver, 1, 2, begin=date(2026, 3, 1))
    b = jm(2)
    b.jahresmeldung(1, [period_node(date(2026, 3, 1), date(2026, 12, 31))])
    b.jahresmeldung(2, [period_node(begin, end)])
    assert_hinted(service, deliver(b), "ZVVA110", satz=2, field=field)


def test_zvva110_abmeldung_period_after_ende(deliver, service) -> None:
    """An Abmeldung's Abschnitt reaching past its Ende is a hint (ZVVA110) on that Abschnitt."""
    register(deliver, 1, 2, begin=JAN1)
    b = FileBuilder(file_number=2)
    b.abmeldung(1, date(2026, 6, 30), periods=[period_node(JAN1, date(2026, 6, 30))])
    b.abmeldung(2, date(2026, 6, 30), periods=[period_node(JAN1, date(2026, 7, 31))])
    verdict = deliver(b)
    f = only(verdict, "ZVVA110")
    assert (f.severity, f.satz) == ("H", 2)
    assert f.field is not None and f.field.startswith("Abschnitt[1]/")
    assert verdict.result == "hinweise"
    assert committed_satz(service, verdict) == {1, 2}


def test_zvva110_not_inside_relationship(deliver, service) -> None:
    """Periods exactly from the relationship's Beginn to the Abmeldung's Ende raise no ZVVA110."""
    register(deliver, 1, begin=date(2026, 3, 1))
    b = FileBuilder(file_number=2)
    b.abmeldung(1, date(2026, 8, 31), periods=[period_node(date(2026, 3, 1), date(2026, 8, 31))])
    assert_clean(service, deliver(b))


# -- Monatsabrechnung against stored state -------------------------------------------------------
def test_zvma030_second_statement_for_month(deliver, service) -> None:
    """A second uncancelled Monatsabrechnung for office and month gets ZVMA030."""
    first = FileBuilder()
    first.monatsabrechnung()
    ok(deliver, first)
    b = FileBuilder(file_number=2)
    b.monatsabrechnung(office="002")
    b.monatsabrechnung(office="001")
    assert_rejected(service, deliver(b), "ZVMA030", satz=2, field="Monat")


def test_zvma030_twice_in_one_file(deliver, service) -> None:
    """Two Monatsabrechnungen of one office and month in one file: the second gets ZVMA030."""
    b = FileBuilder()
    b.monatsabrechnung()
    b.monatsabrechnung()
    assert_rejected(service, deliver(b), "ZVMA030", satz=2, field="Monat")


def test_zvma030_not_after_storno_other_office_or_month(deliver, service) -> None:
    """Storno and corrected statement in one file, another office and another month are accepted."""
    first = FileBuilder(period="2026-09")
    first.monatsabrechnung(meldungs_id="MA-09")
    ok(deliver, first)
    b = FileBuilder(period="2026-09", file_number=2)
    b.storno("MA-09")
    b.monatsabrechnung(levy="500.00")
    b.monatsabrechnung(office="002")
    ok(deliver, b)
    c = FileBuilder(file_number=3)
    c.monatsabrechnung()
    assert_clean(service, deliver(c))


@pytest.mark.parametrize("reported", [0, 2, 3])
def test_zvma040_count_differs(deliver, service, reported) -> None:
    """AnzahlVersicherte other than the persons insured at the office in the month is a hint."""
    b = FileBuilder()
    b.anmeldung(1, date(2026, 10, 31))
    b.anmeldung(2, date(2026, 9, 1), office="002")
    b.monatsabrechnung(insured=reported)
    assert_hinted(service, deliver(b), "ZVMA040", satz=3, field="AnzahlVersicherte")


def test_zvma040_not_for_right_count(deliver, service) -> None:
    """Persons insured on any day of the month at this office count; the others do not."""
    first = FileBuilder(period="2026-09")
    first.anmeldung(1, date(2026, 1, 1))
    first.abmeldung(1, date(2026, 9, 30))  # ended before October
    first.anmeldung(2, date(2026, 1, 1))
    first.abmeldung(2, date(2026, 10, 1))  # one day in October
    first.anmeldung(3, date(2026, 1, 1), office="002")
    ok(deliver, first)
    b = FileBuilder(file_number=2)
    b.anmeldung(4, date(2026, 10, 31))
    b.anmeldung(5, date(2026, 11, 1))  # starts after the month
    b.monatsabrechnung(insured=2)
    assert_clean(service, deliver(b))
