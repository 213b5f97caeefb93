"""A dry run: check one report against the fund's data, as if it came in a delivery, and write
nothing.

The report gets the stateless checks a report of a file gets and then the stored-state rules
(:func:`ingest.storing.decide.decide`), reading through the same lookups, with no earlier
reports of its own. It runs in a read-only transaction on a connection that is not the
pipeline's writer: on SQLite a deferred transaction (the writer's ``BEGIN IMMEDIATE`` would wait
for a delivery's write lock; a reader of the write-ahead log never does) with ``query_only`` on,
on PostgreSQL ``READ ONLY`` (a reader never waits for a writer's row locks). So a dry run
returns while a large delivery holds its write transaction open; it sees the stored state as
committed before that delivery.

The sender's admission (ZVVO021) and the file numbers (ZVVO060, ZVVO061) belong to a file's
Vorlauf and are not checked here; whether the sender may report for the billing office (ZVVO022)
is.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from ingest.errors import UsageError
from ingest.settings import ChecksSettings, Settings
from ingest.storing.backend import backend_of
from ingest.storing.db import is_writer, make_engine
from ingest.storing.decide import decide
from ingest.storing.overlay import Overlay
from ingest.storing.registry import find_sender
from ingest.storing.view import StoredView
from ingest.validating.findings import Catalogue, Finding, load_catalogue
from ingest.validating.moments import year_of_period
from ingest.validating.records import ReportData
from ingest.validating.single import check_single
from ingest.validating.submission import Submission


def check_against_stored(
    source: Settings | Engine,
    report: ReportData,
    submission: Submission,
    sender_number: str,
    *,
    checks: ChecksSettings | None = None,
    catalogue: Catalogue | None = None,
) -> list[Finding]:
    """The findings of ``report`` in ``submission`` by ``sender_number``: stateless, then
    against the stored state. Nothing is written, and no write lock is taken or waited for.

    ``source``: the installation's settings (an engine is made and disposed of), or an engine
    that is not the pipeline's writer (a portal keeps one for many dry runs); ``checks`` then
    gives the checks' settings (the defaults when ``None``).
    """
    if isinstance(source, Settings):
        engine = make_engine(source)
        try:
            return check_against_stored(
                engine,
                report,
                submission,
                sender_number,
                checks=source.checks,
                catalogue=catalogue,
            )
        finally:
            engine.dispose()
    if is_writer(source):
        raise UsageError("a dry run needs an engine that is not the pipeline's writer")
    catalogue = catalogue or load_catalogue()
    findings = check_single(report, submission, checks or ChecksSettings(), catalogue)
    with read_only(source) as session:
        view = StoredView(
            session,
            find_sender(session, sender_number),
            sender_number,
            year_of_period(submission.period) if submission.period else None,
            overlay=Overlay(),  # a new person is numbered provisionally: nothing is written
            analyze=False,
        )
        try:
            view.prefetch([report])
            decision = decide(view, catalogue, report, findings)
        finally:
            assert view.overlay is not None
            view.overlay.close()
    return [*findings, *decision.findings]


@contextmanager
def read_only(engine: Engine) -> Iterator[Session]:
    """A session in a transaction that cannot write and takes no write lock."""
    backend = backend_of(engine)
    with engine.connect() as connection:
        backend.begin_read_only(connection)
        try:
            with Session(bind=connection) as session:
                yield session
        finally:
            connection.rollback()
            backend.end_read_only(connection)
