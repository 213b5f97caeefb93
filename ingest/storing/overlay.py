"""What a file's earlier accepted reports changed, kept aside while nothing is written.

A test delivery and a file refused by its Vorlauf are checked report by report as a real one is
(a later report sees what an earlier one did), but no row of theirs is written. Their changes
go here instead, as the answers to the questions a later report asks (is this MeldungsId used,
who has this RVNR, which relationships has this person at this office, …), keyed as the
lookups of :class:`~ingest.storing.view.StoredView` ask them.

A batch's changes are marked as the reports are decided and kept when the batch is done, in a
private temporary SQLite database (a file beside SQLite's small page cache, deleted when it is
closed, as :mod:`ingest.validating.seen` does): memory stays flat for a million reports.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from datetime import date
from typing import Any

Span = tuple[date, date | None]  # an insurance relationship's begin and end
Leave = tuple[date, date, int | None]  # a parental-leave period: begin, end, children


def pair_key(pair: tuple[int, int]) -> str:
    """The key of a (person, billing office) pair."""
    return f"{pair[0]}/{pair[1]}"


class Overlay:
    """Answers kept by kind and key; a kind's answer for a key replaces the stored one."""

    def __init__(self) -> None:
        # "": a private temporary database on disk, removed on close (SQLite's own rule)
        self._db = sqlite3.connect("", isolation_level=None)
        self._db.execute("PRAGMA journal_mode=OFF")
        self._db.execute("PRAGMA synchronous=OFF")
        self._db.execute(
            "CREATE TABLE kept (kind TEXT, key TEXT, value TEXT, PRIMARY KEY (kind, key))"
            " WITHOUT ROWID"
        )
        self._marked: dict[tuple[str, str], Any] = {}

    def mark(self, kind: str, key: str, value: Any) -> None:
        """``value`` answers ``kind`` for ``key`` from now on (read when the batch is kept:
        a list may still grow meanwhile)."""
        self._marked[kind, key] = value

    def keep(self) -> None:
        """Keep the marked answers of the batch that is done."""
        if not self._marked:
            return
        self._db.executemany(
            "INSERT OR REPLACE INTO kept (kind, key, value) VALUES (?, ?, ?)",
            (
                (kind, key, json.dumps(value, default=_day))
                for (kind, key), value in self._marked.items()
            ),
        )
        self._marked.clear()

    def get(self, kind: str, keys: Iterable[str]) -> dict[str, Any]:
        """The kept answers of ``kind`` for those of ``keys`` that have one (the batch's own
        marks included)."""
        keys = list(keys)
        if not keys:
            return {}
        rows = self._db.execute(
            "SELECT key, value FROM kept"
            " WHERE kind = ? AND key IN (SELECT value FROM json_each(?))",
            (kind, json.dumps(keys)),
        )
        found = {key: json.loads(value) for key, value in rows}
        if self._marked:
            for key in keys:
                if (kind, key) in self._marked:
                    found[key] = self._marked[kind, key]
        return found

    def spans(self, pairs: Iterable[tuple[int, int]]) -> dict[tuple[int, int], list[Span]]:
        """The relationships of those pairs whose relationships the file changed."""
        by_key = {pair_key(p): p for p in pairs}
        out: dict[tuple[int, int], list[Span]] = {}
        for key, value in self.get("spans", by_key).items():
            if isinstance(value, list) and value and isinstance(value[0], tuple):
                out[by_key[key]] = list(value)  # marked in this batch: still dates
            else:
                out[by_key[key]] = [(_date(b), _date(e) if e else None) for b, e in value]
        return out

    def spans_at(self, office_id: int) -> dict[int, list[Span]]:
        """The relationships at a billing office that the file changed, by person."""
        suffix = f"/{office_id}"
        rows = self._db.execute(
            "SELECT key, value FROM kept WHERE kind = 'spans' AND key LIKE ?", (f"%{suffix}",)
        )
        found: dict[str, Any] = {key: json.loads(value) for key, value in rows}
        for (kind, key), value in self._marked.items():
            if kind == "spans" and key.endswith(suffix):
                found[key] = value
        return {
            int(key.split("/")[0]): [
                (_date(b), _date(e) if e else None) if isinstance(b, str) else (b, e)
                for b, e in value
            ]
            for key, value in found.items()
        }

    def leave(self, person_id: int, stored: list[Leave]) -> list[Leave]:
        """The person's parental-leave periods, with those of the file's earlier reports."""
        value = self.get("leave", [str(person_id)]).get(str(person_id))
        if value is None:
            return stored
        return [(_date(b), _date(e), c) if isinstance(b, str) else (b, e, c) for b, e, c in value]

    def close(self) -> None:
        self._db.close()
        self._marked.clear()


def _day(value: Any) -> str:
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not kept")


def _date(text: str) -> date:
    return date.fromisoformat(text)
