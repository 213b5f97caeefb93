"""`zvk persons search`: a member finds its persons' fund numbers, and only its own persons."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from conftest import MEMBER_SENDER, SENDER, Deliver
from zvk_inprocess import Done, zvk_in

from ingest.samples.builder import FileBuilder, PersonSeed
from ingest.settings import Settings
from ingest.storing.persons import name_key

OWN = PersonSeed(3)
OTHER = PersonSeed(4)


def zvk(home: Path, *args: str) -> Done:
    return zvk_in(home, "persons", "search", *args)


def numbers(deliver: Deliver) -> dict[str, str]:
    """Register OWN at member 100001 and OTHER at member 100002; their assigned numbers."""
    own = FileBuilder()
    own.anmeldung(OWN, meldungs_id="own-1")
    other = FileBuilder(sender=MEMBER_SENDER)
    other.anmeldung(OTHER, meldungs_id="other-1", member="100002", office="001")
    assigned = {}
    for builder, sender in ((own, SENDER), (other, MEMBER_SENDER)):
        verdict = deliver(builder, sender=sender)
        assert verdict.result == "fehlerfrei", verdict.findings
        assigned.update({a.meldungs_id: a.versicherungsnummer for a in verdict.assignments})
    return assigned


def test_name_key_ignores_case_umlaut_spelling_and_accents() -> None:
    assert name_key("Müller") == name_key("MUELLER") == name_key(" mueller ")
    assert name_key("José-María") == name_key("jose maria")
    assert name_key("Groß") == name_key("GROSS")
    assert name_key("Müller") != name_key("Muller")


def test_search_by_rvnr_and_by_name_and_birth_date(settings: Settings, deliver: Deliver) -> None:
    assigned = numbers(deliver)
    home = settings.home

    by_rvnr = zvk(home, "--mitglied", "100001", "--rvnr", OWN.rvnr.lower(), "--format", "csv")
    assert by_rvnr.returncode == 0, by_rvnr.stderr
    rows = list(csv.DictReader(io.StringIO(by_rvnr.stdout)))
    assert [(r["versicherungsnummer"], r["rvnr"], r["abrechnungsstelle"]) for r in rows] == [
        (assigned["own-1"], OWN.rvnr, "001")
    ]
    assert rows[0]["ende"] == ""

    by_name = zvk(
        home,
        "--mitglied",
        "100001",
        "--name",
        OWN.family_name.upper(),
        "--geburtsdatum",
        OWN.birth_date.isoformat(),
        "--format",
        "json",
    )
    assert by_name.returncode == 0, by_name.stderr
    [person] = json.loads(by_name.stdout)
    assert person["versicherungsnummer"] == assigned["own-1"]
    assert person["versicherungsverhaeltnisse"][0]["abrechnungsstelle"] == "001"

    text = zvk(home, "--mitglied", "100001", "--rvnr", OWN.rvnr)
    assert assigned["own-1"] in text.stdout and "offen" in text.stdout


def test_other_members_persons_stay_hidden(settings: Settings, deliver: Deliver) -> None:
    numbers(deliver)
    for args in (
        ("--rvnr", OTHER.rvnr),
        ("--name", OTHER.family_name, "--geburtsdatum", OTHER.birth_date.isoformat()),
    ):
        done = zvk(settings.home, "--mitglied", "100001", *args)
        assert done.returncode == 1
        assert done.stdout == ""
        assert "no person of member 100001" in done.stderr
    found = zvk(settings.home, "--mitglied", "100002", "--rvnr", OTHER.rvnr)
    assert found.returncode == 0, found.stderr


def test_wrong_birth_date_finds_nobody(settings: Settings, deliver: Deliver) -> None:
    numbers(deliver)
    done = zvk(
        settings.home,
        "--mitglied",
        "100001",
        "--name",
        OWN.family_name,
        "--geburtsdatum",
        "1901-01-01",
    )
    assert done.returncode == 1


def test_usage_mistakes_exit_2_with_one_line(settings: Settings) -> None:
    for args, expected in (
        (("--mitglied", "100001"), "--rvnr"),
        (("--mitglied", "100001", "--name", "Meier"), "--geburtsdatum"),
        (("--mitglied", "100001", "--name", "Meier", "--geburtsdatum", "17.08.1970"), "date"),
        (("--mitglied", "999999", "--rvnr", OWN.rvnr), "999999"),
        (("--mitglied", "100001", "--rvnr", OWN.rvnr, "--format", "xlsx"), "--format"),
    ):
        done = zvk(settings.home, *args)
        assert done.returncode == 2, (args, done.stderr)
        assert expected in done.stderr
        assert "Traceback" not in done.stderr
        assert len(done.stderr.strip().splitlines()) == 1
