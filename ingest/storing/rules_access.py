"""Stored-state rules about who delivers what: the sender and file number of the Vorlauf, and the
billing office, authorisation and MeldungsId of each report.

The stored-state rules live in ``ingest/storing/rules_*.py``, beside the lookups they read
(:mod:`ingest.storing.view`): this module (access), :mod:`ingest.storing.rules_person` (the
insured person and the relationship) and :mod:`ingest.storing.rules_history` (Monatsabrechnung
and Storno). Each is registered with its code (scope ``stored``); :mod:`ingest.storing.decide`
runs them in order. A rule reads and adds findings, it never writes.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ingest.storing.case import Case
from ingest.storing.models import Delivery, Sender
from ingest.validating.findings import Findings
from ingest.validating.records import Header
from ingest.validating.registry import Scope, rule


@dataclass(slots=True)
class VorlaufCase:
    """The Vorlauf as the stored-state rules look at it."""

    session: Session
    sender: Sender | None  # the registered sender of that Betriebsnummer, if any
    sender_number: str  # who delivered the file (its folder, its SFTP account)
    header: Header
    findings: Findings


@rule("ZVVO021", Scope.STORED)
def sender_admitted(case: VorlaufCase) -> None:
    """The Absender of the Vorlauf is the one who delivered the file, registered and active."""
    header = case.header
    if header.sender != case.sender_number:
        case.findings.add(
            "ZVVO021", f"Absender {header.sender}, geliefert von {case.sender_number}", "Absender"
        )
    elif case.sender is None or not case.sender.active:
        case.findings.add("ZVVO021", f"Absender {header.sender} ist nicht zugelassen", "Absender")


@rule("ZVVO060", Scope.STORED)
def file_number_unused(case: VorlaufCase) -> None:
    """The sender has not used the Dateifolgenummer in a committed delivery."""
    used = case.session.scalar(
        select(Delivery.delivery_id).where(
            Delivery.sender_number == case.sender_number,
            Delivery.file_number_used == case.header.file_number,
        )
    )
    if used is not None:
        case.findings.add(
            "ZVVO060", f"{case.header.file_number} bereits in Lieferung {used}", "Dateifolgenummer"
        )


@rule("ZVVO061", Scope.STORED)
def file_number_next(case: VorlaufCase) -> None:
    """The Dateifolgenummer follows the sender's last one without a gap (a hint)."""
    last = case.session.scalar(
        select(func.max(Delivery.file_number_used)).where(
            Delivery.sender_number == case.sender_number
        )
    )
    number = case.header.file_number
    if last is not None and number != last + 1:
        case.findings.add("ZVVO061", f"erwartet {last + 1}, erhalten {number}", "Dateifolgenummer")


VORLAUF_RULES = (sender_admitted, file_number_unused, file_number_next)


@rule("ZVME100", Scope.STORED)
def office_known(case: Case) -> None:
    """The member and billing office exist and are active."""
    report = case.report
    office = case.view.office(report.member, report.office)
    if office is None or not office.active:
        case.findings.add("ZVME100", f"{report.member}/{report.office}", "Mitgliedsnummer")
    else:
        case.office = office


@rule("ZVVO022", Scope.STORED)
def sender_authorised(case: Case) -> None:
    """The sender may report for the billing office."""
    office = case.office
    assert office is not None
    if not case.view.authorised(office):
        report = case.report
        case.findings.add("ZVVO022", f"{report.member}/{report.office}", "Abrechnungsstelle")


@rule("ZVME061", Scope.STORED)
def meldungs_id_unused(case: Case) -> None:
    """The sender has not used the MeldungsId in an accepted report (this file's included)."""
    if case.view.meldungs_id_used(case.report.meldungs_id):
        case.findings.add("ZVME061", None, "MeldungsId")
