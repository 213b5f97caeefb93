"""Times as people read them: the fund's local time (Europe/Berlin) with its UTC offset.

The database keeps moments in UTC; SQLite hands them back without a zone, so a moment without
one is taken as UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

BERLIN = ZoneInfo("Europe/Berlin")


def local_text(moment: datetime) -> str:
    """``2026-11-28 10:30:00 +01:00``: the moment in Europe/Berlin, its offset spelled out."""
    return _with_offset(moment, "%Y-%m-%d %H:%M:%S %z")


def local_german(moment: datetime) -> str:
    """``02.12.2026 14:28 +01:00``: German date and minute in Europe/Berlin, with its offset
    (as the protocols give it), so the summer and the winter hour cannot be mistaken."""
    return _with_offset(moment, "%d.%m.%Y %H:%M %z")


def _with_offset(moment: datetime, layout: str) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    text = moment.astimezone(BERLIN).strftime(layout)
    return f"{text[:-2]}:{text[-2:]}"
