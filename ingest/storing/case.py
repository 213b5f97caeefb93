"""One report as the stored-state rules look at it: the report, where its findings go, and what
the rules before have found out about it (its billing office, its person)."""

from __future__ import annotations

from dataclasses import dataclass

from ingest.storing.history import StoredRelationship, StoredReport
from ingest.storing.overlay import Span
from ingest.storing.view import Office, PersonRef, StoredView
from ingest.validating.findings import Findings
from ingest.validating.records import ReportData


@dataclass(slots=True)
class Case:
    """What a stored-state rule is given. A rule reads through ``view`` and adds to
    ``findings``; it never writes.

    The rules of a report run in a fixed order (see :mod:`ingest.storing.decide`): ``office``
    is set for the rules after ZVME100, ``person`` (``None``: unknown to the fund) for those
    after ZVME097, a Storno's ``target`` and ``relationship`` for those after ZVME160.
    """

    view: StoredView
    report: ReportData
    findings: Findings
    office: Office | None = None
    person: PersonRef | None = None
    year_spans: list[Span] | None = None  # a Jahresmeldung's relationships in the year
    target: StoredReport | None = None  # a Storno's report, once ZVME160 has passed
    relationship: StoredRelationship | None = None  # the relationship it opened, if any

    @property
    def office_id(self) -> int:
        office = self.office
        assert office is not None, "the billing office is known once ZVME100 has passed"
        return office.id
