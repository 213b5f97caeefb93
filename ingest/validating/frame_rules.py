"""The check engine of the Vorlauf and the Nachlauf: runs the registered HEADER and TRAILER
rules (``rules_header``, ``rules_trailer``) in the order they are registered."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

from ingest.validating.findings import Catalogue, Finding, Findings
from ingest.validating.records import Header, Trailer
from ingest.validating.registry import Scope, rules_in
from ingest.validating.report_rules import CheckContext
from ingest.validating.rules_trailer import Totals


@cache
def _checks(scope: Scope) -> tuple[Callable[..., Any], ...]:
    return tuple(dict.fromkeys(found.check for found in rules_in(scope)))


def check_header(header: Header, ctx: CheckContext) -> list[Finding]:
    """Every stateless finding about the Vorlauf, in a stable order."""
    out = Findings(ctx.catalogue, line=header.line, prefix="Vorlauf")
    for check in _checks(Scope.HEADER):
        check(header, ctx, out)
    return out.items


def check_trailer(trailer: Trailer, catalogue: Catalogue, totals: Totals) -> list[Finding]:
    """Every finding about the Nachlauf against what the reports add up to."""
    out = Findings(catalogue, line=trailer.line, prefix="Nachlauf")
    for check in _checks(Scope.TRAILER):
        check(trailer, totals, out)
    return out.items
