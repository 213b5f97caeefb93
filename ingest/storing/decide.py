"""The decision about one report against the fund's stored state: its stored-state rules, in
order, and the effect of accepting it.

The rules of every report run first (ZVME100, ZVVO022, ZVME061), then those of its kind. A rule
that rejects the report (an F finding) ends its rules: what comes after it would rest on what
it found wrong. A report that nothing rejects (neither the stateless checks before nor the
stored-state rules here) is accepted, and its effect is worked out: the rows it adds or
changes, as values (:mod:`ingest.storing.decision`). Nothing here writes.
"""

from __future__ import annotations

from collections.abc import Callable

from ingest.storing.case import Case
from ingest.storing.decision import (
    CancelReport,
    Change,
    CloseRelationship,
    Decision,
    DropRelationship,
    NewPerson,
    OpenRelationship,
    ReopenRelationship,
    SetRvnr,
)
from ingest.storing.rules_access import meldungs_id_unused, office_known, sender_authorised
from ingest.storing.rules_history import (
    first_statement_of_month,
    insured_count_matches,
    nothing_rests_on_reference,
    reference_cancellable,
)
from ingest.storing.rules_person import (
    first_annual_report,
    no_month_without_period,
    no_open_relationship,
    numbers_of_one_person,
    open_relationship,
    parental_leave_within_limit,
    periods_inside_relationship,
    relationship_in_year,
    relationship_to_close,
    versicherungsnummer_known,
)
from ingest.storing.view import StoredView
from ingest.validating.findings import Catalogue, Finding, Findings
from ingest.validating.records import ReportData

Rule = Callable[[Case], None]

COMMON_RULES: tuple[Rule, ...] = (office_known, sender_authorised, meldungs_id_unused)
PERSON_RULES: tuple[Rule, ...] = (versicherungsnummer_known, numbers_of_one_person)
RULES_BY_KIND: dict[str, tuple[Rule, ...]] = {
    "Anmeldung": (*PERSON_RULES, no_open_relationship),
    "Abmeldung": (
        *PERSON_RULES,
        relationship_to_close,
        periods_inside_relationship,
        parental_leave_within_limit,
    ),
    "Jahresmeldung": (
        *PERSON_RULES,
        relationship_in_year,
        first_annual_report,
        periods_inside_relationship,
        no_month_without_period,
        parental_leave_within_limit,
    ),
    "Monatsabrechnung": (first_statement_of_month, insured_count_matches),
    "Storno": (reference_cancellable, nothing_rests_on_reference),
}


def decide(
    view: StoredView, catalogue: Catalogue, report: ReportData, earlier: list[Finding]
) -> Decision:
    """The stored-state findings of ``report`` and, when nothing rejects it, its effect.

    ``earlier``: the report's stateless findings (an F among them: it is not accepted, and the
    rules of its kind do not run).
    """
    findings = Findings(
        catalogue, satz=report.satz, meldungs_id=report.meldungs_id, line=report.line
    )
    items = findings.items
    decision = Decision(report, items)
    case = Case(view, report, findings)
    for check in COMMON_RULES:
        check(case)
        if items and _rejects(items):
            return decision
    if earlier and _rejects(earlier):
        return decision
    for check in RULES_BY_KIND[report.kind]:
        check(case)
        if items and _rejects(items):
            return decision
    office = case.office
    assert office is not None
    decision.office_id = office.id
    _EFFECTS[report.kind](case, decision)
    decision.accepted = True
    return decision


def _rejects(findings: list[Finding]) -> bool:
    for finding in findings:  # noqa: SIM110 (a loop is faster than any(); hot path)
        if finding.severity == "F":
            return True
    return False


def _person_changes(case: Case, decision: Decision) -> None:
    """The report's person: new to the fund, or stored (and the RVNR it now tells)."""
    data = case.report.person
    assert data is not None
    person = case.person
    if person is None:
        pid, number = case.view.new_person_id()
        decision.changes.append(NewPerson(pid, number, data))
        decision.person_id, decision.versicherungsnummer = pid, number
        return
    decision.person_id, decision.versicherungsnummer = person.id, person.versicherungsnummer
    if person.rvnr is None and data.rvnr is not None:
        decision.changes.append(SetRvnr(person.id, data.rvnr))  # registered without one


def _anmeldung(case: Case, decision: Decision) -> None:
    begin = case.report.begin
    assert begin is not None
    _person_changes(case, decision)
    decision.changes.append(OpenRelationship(begin))


def _abmeldung(case: Case, decision: Decision) -> None:
    end = case.report.end
    relationship = open_relationship(case)
    assert end is not None and relationship is not None
    _person_changes(case, decision)
    decision.changes.append(CloseRelationship(relationship[0], end))


def _jahresmeldung(case: Case, decision: Decision) -> None:
    _person_changes(case, decision)
    decision.year = case.view.year


def _monatsabrechnung(case: Case, decision: Decision) -> None:
    statement = case.report.statement
    assert statement is not None
    decision.changes.append(statement)


def _storno(case: Case, decision: Decision) -> None:
    target = case.target
    assert target is not None
    changes: list[Change] = decision.changes
    changes.append(
        CancelReport(target.id, target.kind, target.person_id, target.year, target.month)
    )
    relationship = case.relationship
    if target.kind == "Anmeldung" and relationship is not None:
        changes.append(
            DropRelationship(relationship.id, relationship.person_id, relationship.begin)
        )
    elif target.kind == "Abmeldung":
        closed = case.view.relationship_closed_by(target)
        if closed is not None:
            changes.append(
                ReopenRelationship(closed.id, closed.person_id, closed.begin, closed.end)
            )


_EFFECTS: dict[str, Callable[[Case, Decision], None]] = {
    "Anmeldung": _anmeldung,
    "Abmeldung": _abmeldung,
    "Jahresmeldung": _jahresmeldung,
    "Monatsabrechnung": _monatsabrechnung,
    "Storno": _storno,
}
