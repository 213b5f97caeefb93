"""What a report is checked in: the submission, independent of any file.

A report arrives in a file (its Vorlauf says the kind and period) or typed into a form of the
portal (the form says them). The checks ask the submission, never the file header.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from ingest.localtime import BERLIN
from ingest.validating.records import ALLOWED_BY_FILE_KIND, Header, ReportKind


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

    @classmethod
    def of_report(
        cls,
        kind: ReportKind,
        *,
        received_at: datetime,
        year: int | None = None,
        month: str | None = None,
        test: bool = False,
        channel: Channel = Channel.PORTAL,
        sender: str | None = None,
    ) -> Submission:
        """The submission of one report sent without a file (a form of the portal): the
        Dateiart a file holding it would have, with its Zeitraum.

        A Jahresmeldung names its ``year``; a Storno with a ``year`` is one of a Jahresmeldung.
        Every other report is one of a Monatsmeldung for ``month`` (``YYYY-MM``; a
        Monatsabrechnung passes its own Monat), by default the month of ``received_at`` in
        the fund's time zone.
        """
        if kind == "Jahresmeldung" and year is None:
            raise ValueError("a Jahresmeldung names its year")
        if year is not None and kind in ALLOWED_BY_FILE_KIND["Jahresmeldung"]:
            file_kind, period = "Jahresmeldung", f"{year:04d}"
        else:
            file_kind = "Monatsmeldung"
            moment = received_at if received_at.tzinfo else received_at.replace(tzinfo=UTC)
            period = month or moment.astimezone(BERLIN).strftime("%Y-%m")
        return cls(
            received_at=received_at,
            test=test,
            channel=channel,
            file_kind=file_kind,
            period=period,
            sender=sender,
        )

    @property
    def year(self) -> int | None:
        """The year of a Jahresmeldung submission, else None."""
        if self.file_kind != "Jahresmeldung" or self.period is None or not self.period.isdigit():
            return None
        return int(self.period)
