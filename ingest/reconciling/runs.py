"""A reconciliation run: under the lock, re-match payments, refresh points, store the findings.

Every run stores its complete set of findings as of its day; the finished run of the latest day
is the current state (``zvk export abgleich``), whenever other runs for earlier days ran. A
nightly run claims its slot first, so it happens once per night whatever number of schedulers
start it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import structlog
from sqlalchemy import Select, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from ingest.reconciling import lock
from ingest.reconciling.asof import cancelled_by_day, known_reports
from ingest.reconciling.checks import Found, annual_checks, monthly_checks, unmatched_payments
from ingest.reconciling.ledger import ledger_checks
from ingest.reconciling.models import ReconciliationFinding, ReconciliationRun
from ingest.reconciling.payments import rematch
from ingest.reconciling.points import refresh_points
from ingest.settings import Settings

log = structlog.stdlib.get_logger("ingest.reconcile")
KEEP_RUNS = 60


@dataclass
class RunSummary:
    run_id: int
    as_of: date
    trigger: str
    findings: list[Found]
    points_added: int = 0  # for Jahresmeldungen that had arrived by the day
    points_dropped: int = 0  # for Jahresmeldungen cancelled by a Storno that had arrived by it
    points_later: int = 0  # added or dropped for what arrived after the day (counted from then)
    by_member: dict[str, Counter[str]] = field(default_factory=dict)

    def counts(self) -> Counter[str]:
        return Counter(f.kind for f in self.findings)


def find_all(session: Session, settings: Settings, as_of: date) -> list[Found]:
    """Every difference as of ``as_of`` (no side effects)."""
    cfg = settings.reconcile
    return [
        *monthly_checks(session, cfg, as_of),
        *unmatched_payments(session, as_of),
        *annual_checks(session, cfg, as_of),
        *ledger_checks(session, settings, as_of=as_of),
    ]


class AlreadyDone(Exception):
    """The nightly slot was claimed by another scheduler."""


def run_reconciliation(
    settings: Settings,
    sessions: sessionmaker[Session],
    as_of: date,
    *,
    trigger: str = "manual",
    slot: str | None = None,
    wait_seconds: float = 0.0,
    cancelled: Callable[[], bool] = lambda: False,
) -> RunSummary | None:
    """Run once under the lock; ``None`` when ``slot`` was run already (raises LockBusy)."""
    with lock.held(sessions, wait_seconds=wait_seconds, cancelled=cancelled):
        try:
            with sessions.begin() as session:
                run = ReconciliationRun(
                    trigger=trigger,
                    slot=slot,
                    as_of=as_of,
                    started_at=datetime.now(UTC),
                    status="running",
                    findings=0,
                )
                session.add(run)
                session.flush()
                run_id = run.id
        except IntegrityError:
            log.info("nightly run already done elsewhere", slot=slot)
            return None
        log.info("reconciliation started", run_id=run_id, as_of=as_of.isoformat(), trigger=trigger)
        try:
            return _execute(settings, sessions, run_id, as_of, trigger)
        except Exception as exc:
            with sessions.begin() as session:
                failed = session.get(ReconciliationRun, run_id)
                if failed is not None:
                    failed.status, failed.finished_at = "failed", datetime.now(UTC)
                    failed.error = f"{type(exc).__name__}: {exc}"[:2000]
            log.error("reconciliation failed", run_id=run_id, error=type(exc).__name__)
            raise


def _execute(
    settings: Settings, sessions: sessionmaker[Session], run_id: int, as_of: date, trigger: str
) -> RunSummary:
    with sessions.begin() as session:
        rematched = rematch(session)
        added_ids, dropped_ids = refresh_points(session)
        added = _count_of(session, added_ids, known_reports(as_of))
        dropped = _count_of(session, dropped_ids, cancelled_by_day(as_of))
        later = len(added_ids) + len(dropped_ids) - added - dropped
    with sessions() as session:
        found = find_all(session, settings, as_of)
    with sessions.begin() as session:
        session.add_all(
            ReconciliationFinding(
                run_id=run_id,
                kind=f.kind,
                member_id=f.member_id,
                billing_office_id=f.office_id,
                period=f.period,
                component=f.component,
                person_id=f.person_id,
                expected=f.expected,
                actual=f.actual,
                difference=f.difference,
                reference=f.reference,
                detail=f.detail,
            )
            for f in found
        )
        run = session.get(ReconciliationRun, run_id)
        assert run is not None
        run.status, run.finished_at, run.findings = "done", datetime.now(UTC), len(found)
        _prune(session, run_id)
    summary = RunSummary(run_id, as_of, trigger, found, added, dropped, later)
    for f in found:
        summary.by_member.setdefault(f.member or "-", Counter())[f.kind] += 1
    log.info(
        "reconciliation finished",
        run_id=run_id,
        findings=len(found),
        payments_rematched=rematched,
        points_added=added,
        points_dropped=dropped,
        **{f"count_{kind}": n for kind, n in sorted(summary.counts().items())},
    )
    return summary


def _count_of(session: Session, ids: list[int], known: Select[int]) -> int:
    """How many of the report ``ids`` are among ``known``."""
    count = 0
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        count += len(list(session.scalars(known.where(known.selected_columns[0].in_(chunk)))))
    return count


def _prune(session: Session, newest: int) -> None:
    """Keep the findings of the latest ``KEEP_RUNS`` runs (the runs themselves stay listed)."""
    cutoff = newest - KEEP_RUNS
    if cutoff > 0:
        session.execute(delete(ReconciliationFinding).where(ReconciliationFinding.run_id <= cutoff))


def latest_run(session: Session, on_or_before: date | None = None) -> ReconciliationRun | None:
    """The finished run of the latest day (of those up to ``on_or_before``), the newest of that
    day's runs: a run for a day in the past, started later, does not replace it."""
    query = select(ReconciliationRun).where(ReconciliationRun.status == "done")
    if on_or_before is not None:
        query = query.where(ReconciliationRun.as_of <= on_or_before)
    order = (ReconciliationRun.as_of.desc(), ReconciliationRun.id.desc())
    return session.scalar(query.order_by(*order).limit(1))


def finished_run(session: Session, run_id: int) -> ReconciliationRun | None:
    """The run numbered ``run_id`` if it finished; ``None`` for an unknown or unfinished one."""
    run = session.get(ReconciliationRun, run_id)
    return run if run is not None and run.status == "done" else None
