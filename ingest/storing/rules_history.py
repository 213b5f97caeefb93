"""Stored-state rules of the reports that refer to the fund's history: the Monatsabrechnung (one
per billing office and month, its count of insured persons) and the Storno (of a report that
exists and has nothing resting on it). See :mod:`ingest.storing.rules_access` for where the
rules live.
"""

from __future__ import annotations

from ingest.storing.case import Case
from ingest.validating.registry import Scope, rule


@rule("ZVMA030", Scope.STORED)
def first_statement_of_month(case: Case) -> None:
    """A Monatsabrechnung: none is stored for the billing office and month."""
    statement = case.report.statement
    assert statement is not None
    if case.view.statement_exists(case.office_id, statement.month):
        case.findings.add("ZVMA030", f"Monat {statement.month}", "Monat")


@rule("ZVMA040", Scope.STORED)
def insured_count_matches(case: Case) -> None:
    """A Monatsabrechnung: its AnzahlVersicherte is the count of persons with a stored
    relationship at the office in the month (a hint)."""
    statement = case.report.statement
    assert statement is not None
    insured = case.view.insured_count(case.office_id, statement.month)
    if insured != statement.insured_count:
        case.findings.add(
            "ZVMA040", f"gemeldet {statement.insured_count}, bekannt {insured}", "AnzahlVersicherte"
        )


@rule("ZVME160", Scope.STORED)
def reference_cancellable(case: Case) -> None:
    """A Storno: its Bezug is a report of the billing office that is not cancelled yet."""
    reference = case.report.reference
    assert reference is not None
    target = case.view.storno_target(reference, case.office_id)
    if target is None:
        # the same for a report of an office the sender may not see: its existence is not told
        case.findings.add("ZVME160", f"Bezug {reference} unbekannt", "Bezug")
    elif target.cancelled:
        case.findings.add("ZVME160", f"Bezug {reference} bereits storniert", "Bezug")
    else:
        case.target = target


@rule("ZVME161", Scope.STORED)
def nothing_rests_on_reference(case: Case) -> None:
    """A Storno of an Anmeldung: no Abmeldung or Jahresmeldung rests on its relationship."""
    target = case.target
    assert target is not None
    if target.kind != "Anmeldung":
        return
    relationship = case.view.relationship_opened_by(target)
    if relationship is not None and case.view.has_dependants(relationship):
        case.findings.add("ZVME161", None, "Bezug")
    else:
        case.relationship = relationship
