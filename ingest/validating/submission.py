"""What a report is checked in: the submission, independent of any file.

A report arrives in a file (its Vorlauf says the kind and period) or typed into a form of the
portal (the form says them). The checks ask the submission, never the file header.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from ingest.validating.records import Header


class Channel(StrEnum):
    """How a delivery reached the fund."""

    SFTP = "sftp"
    DROPFOLDER = "dropfolder"
    PORTAL = "portal"
    CLI = "cli"


@dataclass(frozen=True, slots=True)
class Submission:
    """The context of the reports of one delivery.

    ``file_kind`` and ``period`` are the Dateiart and Zeitraum (``"2026-05"`` for a
    Monatsmeldung, ``"2026"`` for a Jahresmeldung); ``None`` when unknown (a Vorlauf that is not
    schema-valid, or ``zvk check`` of such a file).
    """

    received_at: datetime
    test: bool
    channel: Channel
    file_kind: str | None = None
    period: str | None = None
    sender: str | None = None  # the Betriebsnummer of the sender, when known

    @classmethod
    def of_header(
        cls, header: Header | None, *, received_at: datetime, test: bool, channel: Channel
    ) -> Submission:
        """The submission a file's Vorlauf describes (``header`` None: not schema-valid)."""
        if header is None:
            return cls(received_at=received_at, test=test, channel=channel)
        return cls(
            received_at=received_at,
            test=test or header.test,
            channel=channel,
            file_kind=header.file_kind,
            period=header.period,
            sender=header.sender,
        )

    @property
    def year(self) -> int | None:
        """The year of a Jahresmeldung submission, else None."""
        if self.file_kind != "Jahresmeldung" or self.period is None or not self.period.isdigit():
            return None
        return int(self.period)
