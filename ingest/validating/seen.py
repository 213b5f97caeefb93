"""The MeldungsIds a file has used so far, for ``zvk check`` (which has no database to ask).

A set in memory grew with the file (about 125 bytes per id: 186 MiB of peak RSS for a million
reports). The ids go into a private temporary SQLite database instead, which SQLite keeps in a
file beside its small page cache and deletes when it is closed: memory stays flat. The pipeline
does not need this: there, the fund's database answers for the file's earlier reports too.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence


class SeenIds:
    """Which ids were seen before; asked and filled a batch at a time (one statement each)."""

    def __init__(self) -> None:
        # "": a private temporary database on disk, removed on close (SQLite's own rule)
        self._db = sqlite3.connect("", isolation_level=None)
        self._db.execute("PRAGMA journal_mode=OFF")
        self._db.execute("PRAGMA synchronous=OFF")
        self._db.execute("CREATE TABLE seen (id TEXT PRIMARY KEY) WITHOUT ROWID")

    def earlier(self, ids: Sequence[str]) -> set[str]:
        """Those of ``ids`` that were added before."""
        if not ids:
            return set()
        rows = self._db.execute(
            "SELECT id FROM seen WHERE id IN (SELECT value FROM json_each(?))", (json.dumps(ids),)
        )
        return {found for (found,) in rows}

    def add(self, ids: Iterable[str]) -> None:
        self._db.executemany("INSERT OR IGNORE INTO seen (id) VALUES (?)", ((i,) for i in ids))

    def close(self) -> None:
        self._db.close()
