"""The result of a delivery (its protocol's `Ergebnis`), decided in one place."""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum

from ingest.validating.findings import Finding


class Result(StrEnum):
    """What became of a delivery as a whole; the values are those of the protocol and the
    ledger's ``result`` column."""

    FEHLERFREI = "fehlerfrei"
    HINWEISE = "hinweise"
    TEILWEISE_ABGEWIESEN = "teilweise_abgewiesen"
    ABGEWIESEN = "abgewiesen"
    DOPPELT = "doppelt"

    @property
    def all_accepted(self) -> bool:
        """Every report was accepted (``zvk ingest`` and ``zvk check`` exit with 0)."""
        return self in (Result.FEHLERFREI, Result.HINWEISE)

    @property
    def commits(self) -> bool:
        """Reports of a real (not test) delivery with this result are stored."""
        return self not in (Result.ABGEWIESEN, Result.DOPPELT)


def grade(total: int, accepted: int, findings: Sequence[Finding]) -> Result:
    """The result of a checked file (a duplicate is :attr:`Result.DOPPELT` before any check).

    A finding that rejects the file, or no report accepted of some, rejects it as a whole;
    some reports rejected: partly; only notes: ``hinweise``; nothing found: ``fehlerfrei``.
    """
    if any(f.rejects and f.file_level for f in findings):
        return Result.ABGEWIESEN
    if total and accepted == 0:
        return Result.ABGEWIESEN
    if accepted < total:
        return Result.TEILWEISE_ABGEWIESEN
    if findings:
        return Result.HINWEISE
    return Result.FEHLERFREI
