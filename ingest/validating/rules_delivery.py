"""Findings about the handling of a delivery (scope DELIVERY), given by the service itself.

A file already processed (ZVVO062) and an internal error (ZVSY999) are decided by the
pipeline, which makes their findings here. The bounds on a protocol's findings (ZVSY010,
ZVSY011) are given by :class:`~ingest.validating.findings.Kept`.
"""

from __future__ import annotations

from ingest.validating.findings import Catalogue, Finding, Findings
from ingest.validating.registry import Scope, rule

SYSTEM_ERROR = "ZVSY999"


@rule("ZVVO062", Scope.DELIVERY)
def duplicate_file(catalogue: Catalogue, first: str) -> Finding:
    """The file is not one this sender delivered before (same SHA-256); ``first``: the
    LieferungsId of that delivery."""
    out = Findings(catalogue)
    out.add("ZVVO062", f"erste Lieferung {first}")
    return out.items[0]


@rule(SYSTEM_ERROR, Scope.DELIVERY)
def internal_error(catalogue: Catalogue) -> Finding:
    """The service checked the file to the end; when it could not, the protocol says so
    without internals and the file is kept for a re-run."""
    out = Findings(catalogue)
    out.add(SYSTEM_ERROR)
    return out.items[0]
