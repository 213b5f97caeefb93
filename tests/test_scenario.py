"""A person's history over several deliveries, as a data center sends it: Anmeldung, Jahresmeldung,
its Storno and correction (once in two files, once in one file), Abmeldung and its Storno.

After every step the stored state is read back from the database (person, Versicherungsnummer,
relationships, which reports are cancelled, how many uncancelled Jahresmeldungen the year has),
and ``zvk export meldungen`` is run as a real process to see the cancelled reports marked."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

from code_helpers import committed_satz
from conftest import codes
from lxml import etree
from sqlalchemy import select
from sqlalchemy.orm import aliased
from test_cli import export_rows

from ingest.samples.builder import FileBuilder, PersonSeed, period_node
from ingest.storing.models import BillingOffice, Insurance, Period, Person, Report
from ingest.validating.identifiers import versicherungsnummer_valid

PROTOCOL_NS = "urn:zvk-ingest:protokoll:1"
P = PersonSeed(5)  # the person whose history the scenario follows
B = PersonSeed(6)  # a bystander at the same billing office: nothing of it may change
BEGIN = date(2025, 1, 1)


# -- reading the stored state back --------------------------------------------------------------
@dataclass(frozen=True)
class StoredReport:
    kind: str
    office: str
    cancelled: bool
    cancelled_by: str | None  # MeldungsId of the Storno
    versicherungsnummer: str | None
    rvnr: str | None
    year: int | None
    person_id: int | None
    pay: tuple[Decimal, ...]  # Entgelt of its Abschnitte, in order


@dataclass(frozen=True)
class Snapshot:
    persons: dict[str | None, tuple[int, str]]  # RVNR -> (id, Versicherungsnummer)
    person_ids: set[int]
    insurances: set[tuple[int, str, date, date | None, str, str | None]]
    # (person id, office, begin, end, opened by MeldungsId, closed by MeldungsId)
    reports: dict[str, StoredReport]

    def person_id(self, seed: PersonSeed) -> int:
        return self.persons[seed.rvnr][0]

    def uncancelled_annual(self, person_id: int, year: int, office: str = "001") -> list[str]:
        """MeldungsIds of the uncancelled Jahresmeldungen of a person, office and year."""
        return sorted(
            mid
            for mid, r in self.reports.items()
            if r.kind == "Jahresmeldung"
            and not r.cancelled
            and r.year == year
            and r.office == office
            and r.person_id == person_id
        )

    def cancelled(self) -> set[str]:
        return {mid for mid, r in self.reports.items() if r.cancelled}


def snapshot(service) -> Snapshot:  # type: ignore[no-untyped-def]
    """Everything the fund stores about persons, relationships and reports."""
    canceller = aliased(Report)
    opener = aliased(Report)
    closer = aliased(Report)
    with service.sessions() as session:
        persons = {
            rvnr: (pid, number)
            for pid, rvnr, number in session.execute(
                select(Person.id, Person.rvnr, Person.versicherungsnummer)
            )
        }
        person_ids = set(session.scalars(select(Person.id)))
        insurances = {
            tuple(row)
            for row in session.execute(
                select(
                    Insurance.person_id,
                    BillingOffice.number,
                    Insurance.begin,
                    Insurance.end,
                    opener.meldungs_id,
                    closer.meldungs_id,
                )
                .join(BillingOffice, BillingOffice.id == Insurance.billing_office_id)
                .join(opener, opener.id == Insurance.opened_by)
                .outerjoin(closer, closer.id == Insurance.closed_by)
            )
        }
        pay: dict[int, list[Decimal]] = {}
        for report_id, amount in session.execute(
            select(Period.report_id, Period.pay).order_by(Period.report_id, Period.position)
        ):
            pay.setdefault(report_id, []).append(Decimal(amount))
        reports: dict[str, StoredReport] = {}
        for row in session.execute(
            select(
                Report.id,
                Report.meldungs_id,
                Report.kind,
                BillingOffice.number,
                Report.cancelled,
                canceller.meldungs_id,
                Report.versicherungsnummer,
                Report.rvnr,
                Report.year,
                Report.person_id,
            )
            .join(BillingOffice, BillingOffice.id == Report.billing_office_id)
            .outerjoin(canceller, canceller.id == Report.cancelled_by)
        ):
            assert row.meldungs_id not in reports, f"{row.meldungs_id} stored twice"
            reports[row.meldungs_id] = StoredReport(
                kind=row.kind,
                office=row[3],
                cancelled=bool(row.cancelled),
                cancelled_by=row[5],
                versicherungsnummer=row.versicherungsnummer,
                rvnr=row.rvnr,
                year=row.year,
                person_id=row.person_id,
                pay=tuple(pay.get(row.id, [])),
            )
    return Snapshot(persons, person_ids, insurances, reports)  # type: ignore[arg-type]


def rueckmeldungen(settings, verdict) -> list[dict[str, str]]:  # type: ignore[no-untyped-def]
    """The Rueckmeldung elements of the delivery's XML protocol in the sender's outbox."""
    [path] = (settings.outbox / verdict.sender).glob(f"*.{verdict.delivery_id}.protokoll.xml")
    root = etree.fromstring(path.read_bytes())
    return [dict(e.attrib) for e in root.iter(f"{{{PROTOCOL_NS}}}Rueckmeldung")]


def exported(home: Path) -> dict[str, dict[str, str]]:
    """``zvk export meldungen --format csv`` as a real process, by MeldungsId."""
    rows = export_rows(home)
    by_id = {r["meldungs_id"]: r for r in rows}
    assert len(by_id) == len(rows), "a MeldungsId exported twice"
    return by_id


def assert_export_matches(home: Path, snap: Snapshot) -> dict[str, dict[str, str]]:
    """Every stored report is exported once, storniert exactly for the cancelled ones."""
    rows = exported(home)
    assert set(rows) == set(snap.reports)
    for mid, stored in snap.reports.items():
        row = rows[mid]
        assert row["storniert"] == ("true" if stored.cancelled else "false"), mid
        assert (row["art"], row["abrechnungsstelle"], row["mitgliedsnummer"]) == (
            stored.kind,
            stored.office,
            "100001",
        )
        assert row["versicherungsnummer"] == (stored.versicherungsnummer or "")
        assert row["rvnr"] == (stored.rvnr or "")
    return rows


def clean(deliver, b: FileBuilder):  # type: ignore[no-untyped-def]
    verdict = deliver(b)
    assert verdict.result == "fehlerfrei", codes(verdict)
    assert (verdict.accepted, verdict.rejected) == (len(b.reports), 0)
    return verdict


def jm(file_number: int, year: int = 2025) -> FileBuilder:
    return FileBuilder(kind="Jahresmeldung", period=str(year), file_number=file_number)


def whole_year(pay: str, year: int = 2025):  # type: ignore[no-untyped-def]
    return period_node(date(year, 1, 1), date(year, 12, 31), pay=pay)


# -- the scenario -------------------------------------------------------------------------------
def test_history_of_one_person_over_nine_files(settings, deliver, service) -> None:
    """Anmeldung -> Jahresmeldung -> Storno -> correction -> Storno + correction in one file ->
    second Jahresmeldung refused -> Abmeldung -> its Storno -> the relationship is open again."""
    home = settings.home

    # 1. Anmeldung of P and of a bystander B: the fund assigns each a Versicherungsnummer.
    f1 = FileBuilder(file_number=1, period="2025-01")
    f1.anmeldung(P, BEGIN, meldungs_id="ANM-P")
    f1.anmeldung(B, BEGIN, meldungs_id="ANM-B")
    v1 = clean(deliver, f1)
    s1 = snapshot(service)
    assert set(s1.persons) == {P.rvnr, B.rvnr}
    pid, number = s1.persons[P.rvnr]
    bid, b_number = s1.persons[B.rvnr]
    assert number != b_number
    assert versicherungsnummer_valid(number) and len(number) == 10
    assigned = {(a.satz, a.meldungs_id, a.versicherungsnummer) for a in v1.assignments}
    assert assigned == {(1, "ANM-P", number), (2, "ANM-B", b_number)}
    assert rueckmeldungen(settings, v1) == [
        {"Satz": "1", "MeldungsId": "ANM-P", "Versicherungsnummer": number},
        {"Satz": "2", "MeldungsId": "ANM-B", "Versicherungsnummer": b_number},
    ]
    with service.sessions() as session:
        person = session.get(Person, pid)
        assert person is not None
        assert (person.family_name, person.first_name, person.birth_date, person.gender) == (
            P.family_name,
            P.first_name,
            P.birth_date,
            "W" if P.female else "M",
        )
    bystander = (bid, "001", BEGIN, None, "ANM-B", None)
    assert s1.insurances == {(pid, "001", BEGIN, None, "ANM-P", None), bystander}
    assert s1.reports["ANM-P"].versicherungsnummer == number
    assert not s1.cancelled()

    # 2. Jahresmeldung 2025 for both.
    f2 = jm(2)
    f2.jahresmeldung(P, [whole_year("30000.00")], meldungs_id="JM-P-1")
    f2.jahresmeldung(B, meldungs_id="JM-B-1")
    clean(deliver, f2)
    s2 = snapshot(service)
    assert s2.uncancelled_annual(pid, 2025) == ["JM-P-1"]
    assert s2.uncancelled_annual(bid, 2025) == ["JM-B-1"]
    assert s2.reports["JM-P-1"].versicherungsnummer == number  # found by RVNR alone
    assert s2.reports["JM-P-1"].pay == (Decimal("30000.00"),)
    assert s2.insurances == s1.insurances
    assert not s2.cancelled()

    # 3. Storno of P's Jahresmeldung: cancelled, the year has none left; export marks it.
    f3 = jm(3)
    f3.storno("JM-P-1", meldungs_id="STO-JM-P-1")
    clean(deliver, f3)
    s3 = snapshot(service)
    assert s3.cancelled() == {"JM-P-1"}
    assert s3.reports["JM-P-1"].cancelled_by == "STO-JM-P-1"
    assert s3.reports["STO-JM-P-1"].kind == "Storno"
    assert s3.uncancelled_annual(pid, 2025) == []
    assert s3.uncancelled_annual(bid, 2025) == ["JM-B-1"]
    assert s3.insurances == s1.insurances  # a Jahresmeldung's Storno leaves relationships alone
    rows = assert_export_matches(home, s3)
    assert rows["JM-P-1"]["storniert"] == "true"
    assert rows["STO-JM-P-1"]["bezug"] == "JM-P-1"

    # 4. The corrected Jahresmeldung in a file of its own: accepted (no ZVME135).
    f4 = jm(4)
    f4.jahresmeldung(P, [whole_year("31000.00")], meldungs_id="JM-P-2")
    clean(deliver, f4)
    s4 = snapshot(service)
    assert s4.uncancelled_annual(pid, 2025) == ["JM-P-2"]
    assert s4.reports["JM-P-2"].pay == (Decimal("31000.00"),)
    assert s4.cancelled() == {"JM-P-1"}

    # 5. Storno and corrected report in ONE file: file order applies, both accepted. The
    #    correction names the person by Versicherungsnummer and RVNR together.
    f5 = jm(5)
    f5.storno("JM-P-2", meldungs_id="STO-JM-P-2")
    f5.jahresmeldung(P, [whole_year("32000.00")], meldungs_id="JM-P-3").set(
        "Person/Versicherungsnummer", number
    )
    clean(deliver, f5)
    s5 = snapshot(service)
    assert s5.cancelled() == {"JM-P-1", "JM-P-2"}
    assert s5.reports["JM-P-2"].cancelled_by == "STO-JM-P-2"
    assert s5.uncancelled_annual(pid, 2025) == ["JM-P-3"]
    assert s5.reports["JM-P-3"].pay == (Decimal("32000.00"),)
    assert s5.reports["JM-P-3"].versicherungsnummer == number
    assert s5.person_ids == s1.person_ids  # nobody new

    # 6. Another Jahresmeldung 2025 without a Storno: ZVME135, nothing changes.
    f6 = jm(6)
    f6.jahresmeldung(B, [whole_year("1.00")], meldungs_id="JM-B-2")
    f6.jahresmeldung(P, [whole_year("33000.00")], meldungs_id="JM-P-4")
    v6 = deliver(f6)
    assert [(f.code, f.satz) for f in v6.findings if f.rejects] == [
        ("ZVME135", 1),
        ("ZVME135", 2),
    ], codes(v6)
    assert v6.result == "abgewiesen"
    assert committed_satz(service, v6) == set()
    assert snapshot(service) == s5

    # 7. Abmeldung of P (by RVNR and Versicherungsnummer) with its periods of 2026.
    f7 = FileBuilder(file_number=7, period="2026-03")
    f7.abmeldung(
        P,
        date(2026, 3, 31),
        "13",
        periods=[period_node(date(2026, 1, 1), date(2026, 3, 31), pay="7500.00")],
        meldungs_id="ABM-P",
    ).set("Person/Versicherungsnummer", number)
    clean(deliver, f7)
    s7 = snapshot(service)
    assert s7.insurances == {(pid, "001", BEGIN, date(2026, 3, 31), "ANM-P", "ABM-P"), bystander}
    assert s7.reports["ABM-P"].versicherungsnummer == number
    assert s7.cancelled() == {"JM-P-1", "JM-P-2"}

    # 8. Storno of the Abmeldung: cancelled, and the relationship is open again.
    f8 = FileBuilder(file_number=8, period="2026-04")
    f8.storno("ABM-P", meldungs_id="STO-ABM-P")
    clean(deliver, f8)
    s8 = snapshot(service)
    assert s8.insurances == s1.insurances
    assert s8.cancelled() == {"JM-P-1", "JM-P-2", "ABM-P"}
    assert s8.reports["ABM-P"].cancelled_by == "STO-ABM-P"
    assert s8.uncancelled_annual(pid, 2025) == ["JM-P-3"]

    # 9. The reopened relationship can be closed again; an Anmeldung at billing office 002 names
    #    the person by the fund's Versicherungsnummer only (no RVNR, allowed for an Anmeldung):
    #    the same person is found, no new number is assigned.
    f9 = FileBuilder(file_number=9, period="2026-06")
    f9.abmeldung(P, date(2026, 6, 30), "13", meldungs_id="ABM-P-2")
    f9.anmeldung(P, date(2026, 7, 1), office="002", meldungs_id="ANM-P-002", with_rvnr=False).set(
        "Person/Versicherungsnummer", number
    )
    v9 = clean(deliver, f9)
    assert v9.assignments == []
    assert rueckmeldungen(settings, v9) == []
    s9 = snapshot(service)
    assert s9.person_ids == s1.person_ids
    assert s9.persons[P.rvnr] == (pid, number)
    assert s9.insurances == {
        (pid, "001", BEGIN, date(2026, 6, 30), "ANM-P", "ABM-P-2"),
        (pid, "002", date(2026, 7, 1), None, "ANM-P-002", None),
        bystander,
    }
    assert s9.reports["ANM-P-002"].versicherungsnummer == number
    assert s9.reports["ANM-P-002"].rvnr is None
    assert s9.cancelled() == {"JM-P-1", "JM-P-2", "ABM-P"}
    assert s9.uncancelled_annual(pid, 2025) == ["JM-P-3"]
    assert s9.uncancelled_annual(bid, 2025) == ["JM-B-1"]

    # The export of the whole history: every report once, the three cancelled ones marked.
    rows = assert_export_matches(home, s9)
    assert {mid for mid, r in rows.items() if r["storniert"] == "true"} == {
        "JM-P-1",
        "JM-P-2",
        "ABM-P",
    }
    assert {mid for mid, r in rows.items() if r["art"] == "Storno"} == {
        "STO-JM-P-1",
        "STO-JM-P-2",
        "STO-ABM-P",
    }
    assert {r["versicherungsnummer"] for r in rows.values() if r["art"] != "Storno"} == {
        number,
        b_number,
    }
    assert [
        mid
        for mid, r in rows.items()
        if r["art"] == "Jahresmeldung"
        and r["jahr"] == "2025"
        and r["storniert"] == "false"
        and r["versicherungsnummer"] == number
    ] == ["JM-P-3"]


# -- a person registered without RVNR ----------------------------------------------------------
def register_without_rvnr(deliver, service, seed: PersonSeed) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    """File 1: an Anmeldung without RVNR; returns the new person's id and Versicherungsnummer."""
    f1 = FileBuilder(file_number=1, period="2025-01")
    f1.anmeldung(seed, BEGIN, meldungs_id="ANM-Q", with_rvnr=False)
    v1 = clean(deliver, f1)
    [assignment] = v1.assignments
    assert (assignment.satz, assignment.meldungs_id) == (1, "ANM-Q")
    s1 = snapshot(service)
    [(pid, number)] = s1.persons.values()
    assert s1.persons == {None: (pid, assignment.versicherungsnummer)}
    return pid, number


def test_later_report_finds_person_by_versicherungsnummer(settings, deliver, service) -> None:
    """An Anmeldung may lack the RVNR; the Jahresmeldung (which must carry one, ZVME092) finds the
    person by the Versicherungsnummer the fund returned, and no second person is created."""
    q = PersonSeed(7)
    pid, number = register_without_rvnr(deliver, service, q)
    f2 = jm(2)
    f2.jahresmeldung(q, meldungs_id="JM-Q").set("Person/Versicherungsnummer", number)
    v2 = clean(deliver, f2)
    assert v2.assignments == []
    s2 = snapshot(service)
    assert s2.person_ids == {pid}
    assert s2.reports["JM-Q"].person_id == pid
    assert s2.reports["JM-Q"].versicherungsnummer == number
    assert s2.uncancelled_annual(pid, 2025) == ["JM-Q"]
    # Without the Versicherungsnummer the RVNR alone is required (ZVME092 names the RVNR).
    f3 = jm(3)
    f3.jahresmeldung(q, meldungs_id="JM-Q-2").drop("Person/RVNR").set(
        "Person/Versicherungsnummer", number
    )
    v3 = deliver(f3)
    assert [(f.code, f.field) for f in v3.findings] == [("ZVME092", "Person/RVNR")]
    assert snapshot(service) == s2


def test_rvnr_reported_later_identifies_the_person(settings, deliver, service) -> None:
    """The RVNR first reported in a Jahresmeldung is the person's from then on."""
    q = PersonSeed(7)
    pid, number = register_without_rvnr(deliver, service, q)
    f2 = jm(2)
    f2.jahresmeldung(q, meldungs_id="JM-Q").set("Person/Versicherungsnummer", number)
    clean(deliver, f2)
    f3 = FileBuilder(file_number=3, period="2026-03")
    f3.abmeldung(q, date(2026, 3, 31), meldungs_id="ABM-Q")  # RVNR only
    v3 = deliver(f3)
    assert v3.result == "fehlerfrei", codes(v3)
    s3 = snapshot(service)
    assert s3.persons == {q.rvnr: (pid, number)}
    assert s3.insurances == {(pid, "001", BEGIN, date(2026, 3, 31), "ANM-Q", "ABM-Q")}


def test_no_second_person_for_an_rvnr_the_fund_was_told(settings, deliver, service) -> None:
    """After an Abmeldung named the person by both numbers, a new Anmeldung by RVNR finds her."""
    q = PersonSeed(7)
    pid, number = register_without_rvnr(deliver, service, q)
    f2 = FileBuilder(file_number=2, period="2026-03")
    f2.abmeldung(q, date(2026, 3, 31), meldungs_id="ABM-Q").set(
        "Person/Versicherungsnummer", number
    )
    clean(deliver, f2)
    f3 = FileBuilder(file_number=3, period="2026-05")
    f3.anmeldung(q, date(2026, 5, 1), meldungs_id="ANM-Q-2")  # RVNR only
    v3 = clean(deliver, f3)
    assert v3.assignments == []
    s3 = snapshot(service)
    assert s3.persons == {q.rvnr: (pid, number)}
    assert s3.insurances == {
        (pid, "001", BEGIN, date(2026, 3, 31), "ANM-Q", "ABM-Q"),
        (pid, "001", date(2026, 5, 1), None, "ANM-Q-2", None),
    }


def test_rvnr_learnt_earlier_in_the_same_file(settings, deliver, service) -> None:
    """The RVNR a Jahresmeldung adds to a person registered without one is known to the next
    report of the same file (the batch's lookups): a Jahresmeldung at another billing office by
    RVNR alone finds her, and the RVNR is stored once."""
    q = PersonSeed(7)
    pid, number = register_without_rvnr(deliver, service, q)
    f2 = FileBuilder(file_number=2, period="2025-01")
    f2.anmeldung(q, BEGIN, office="002", meldungs_id="ANM-Q-002", with_rvnr=False).set(
        "Person/Versicherungsnummer", number
    )
    clean(deliver, f2)
    f3 = jm(3)
    f3.jahresmeldung(q, meldungs_id="JM-Q-001").set("Person/Versicherungsnummer", number)
    f3.jahresmeldung(q, meldungs_id="JM-Q-002", office="002")  # RVNR only
    v3 = clean(deliver, f3)
    assert v3.assignments == []
    s3 = snapshot(service)
    assert s3.persons == {q.rvnr: (pid, number)}
    assert s3.reports["JM-Q-002"].person_id == pid
