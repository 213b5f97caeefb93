"""Dates, times and periods of a report file, as far as Python can hold them.

The schema lets through values that ``datetime`` and ``date`` cannot represent: an `Erstellt`
of ``2026-11-02T24:00:00`` (midnight at the end of the day), years of five digits or below 1
(``xs:dateTime`` has no limit on the year), and a `Zeitraum` or `Monat` of year ``0000``
(their patterns only ask for four digits). Every function here accepts every value the schema
accepts and never raises for one of them: what cannot be represented is clamped to the first
or last representable moment and marked, so that the rules can answer it with a finding.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

BERLIN = ZoneInfo("Europe/Berlin")
EARLIEST = datetime.min.replace(tzinfo=UTC)
LATEST = datetime.max.replace(tzinfo=UTC)
# the lexical form of xs:dateTime (the schema has checked it; anything else is refused below)
_DATETIME = re.compile(
    r"(-?)([0-9]{4,})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]+))?"
    r"(Z|[+-][0-9]{2}:[0-9]{2})?"
)
_MONTH = re.compile(r"([0-9]{4})-([0-9]{2})")


@dataclass(frozen=True, slots=True)
class Moment:
    """A parsed `Erstellt`: the moment in UTC, or the nearest representable one."""

    value: datetime
    representable: bool  # False: before year 1 or after year 9999, ``value`` is clamped


def parse_created(text: str) -> Moment:
    """`Erstellt` (``xs:dateTime``): local time in Europe/Berlin unless it carries an offset.

    ``24:00:00`` is the first moment of the next day, as in XML Schema. A value outside
    the years 1 to 9999 (also after applying its offset) is clamped and marked.
    """
    match = _DATETIME.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"Erstellt {text!r} is no xs:dateTime")
    sign, year_text, month, day, hour, minute, second, fraction, zone = match.groups()
    year = int(year_text) * (-1 if sign else 1)
    if year < 1:
        return Moment(EARLIEST, False)
    if year > 9999:
        return Moment(LATEST, False)
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    end_of_day = int(hour) == 24
    try:
        local = datetime(
            year, int(month), int(day), 0 if end_of_day else int(hour), int(minute), int(second)
        ).replace(microsecond=micro)
        if end_of_day:
            local += timedelta(days=1)
        tz = BERLIN if zone is None else _offset(zone)
        return Moment(local.replace(tzinfo=tz).astimezone(UTC), True)
    except OverflowError:
        return Moment(EARLIEST if year < 5000 else LATEST, False)


def _offset(zone: str) -> timezone:
    if zone == "Z":
        return UTC
    hours, minutes = int(zone[1:3]), int(zone[4:6])
    delta = timedelta(hours=hours, minutes=minutes)
    return timezone(-delta if zone[0] == "-" else delta)


def month_bounds(month: str) -> tuple[date, date | None]:
    """The first day of a ``YYYY-MM`` month and the first day after it, for the question
    which dates lie in the month (``first <= day < after``).

    A month of the year 0000 lies before every date: both bounds become 0001-01-01 (for
    0000-12 the day after is that day), so no date lies in it. The day after 9999-12 cannot be
    held: ``None`` means no upper bound.
    """
    match = _MONTH.fullmatch(month)
    if match is None:
        raise ValueError(f"{month!r} is no month")
    year, number = int(match.group(1)), int(match.group(2))
    if year < 1:
        return date.min, date.min
    after_year, after_month = year + number // 12, number % 12 + 1
    return date(year, number, 1), date(after_year, after_month, 1) if after_year <= 9999 else None


def year_of_period(period: str) -> int | None:
    """The year of a `Zeitraum` (``YYYY`` or ``YYYY-MM``) when ``date`` can hold it."""
    head = period[:4]
    if not head.isascii() or not head.isdigit():
        return None
    year = int(head)
    return year if 1 <= year <= 9999 else None


def german_date(day: date) -> str:
    """A date as German text: ``31.12.2026``."""
    return f"{day.day:02d}.{day.month:02d}.{day.year:04d}"
