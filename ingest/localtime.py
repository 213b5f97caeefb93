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
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    text = moment.astimezone(BERLIN).strftime("%Y-%m-%d %H:%M:%S %z")
    return f"{text[:-2]}:{text[-2:]}"
