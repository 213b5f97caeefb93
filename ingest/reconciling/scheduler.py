"""The nightly job inside ``zvk serve``: APScheduler 3 with a cron trigger in Europe/Berlin.

APScheduler 3 keeps its jobs in memory and cannot share them between processes, so the guard
against double runs is in the database: the run claims its night (``nightly:YYYY-MM-DD``) and
holds the reconciliation lock (:mod:`ingest.reconciling.lock`). Jobs coalesce (missed fire times
collapse into one run), never overlap (``max_instances=1``) and may start late within the
misfire grace time. A service that was down at the nightly time catches the run up once at
start-up. The payments inbox is scanned on an interval by the same scheduler.
"""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import structlog
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ingest.reconciling.lock import LockBusy
from ingest.reconciling.models import ReconciliationRun
from ingest.reconciling.payments import scan_inbox
from ingest.reconciling.publish import build_reports
from ingest.reconciling.runs import RunSummary, run_reconciliation
from ingest.settings import Settings
from ingest.storing.db import open_database, session_factory

log = structlog.stdlib.get_logger("ingest.scheduler")
BERLIN = ZoneInfo("Europe/Berlin")
NIGHTLY, CATCH_UP, PAYMENTS = "nightly-reconciliation", "nightly-catch-up", "payments-inbox"


def nightly_time(settings: Settings) -> tuple[int, int, int]:
    parts = [int(p) for p in settings.reconcile.nightly_time.split(":")]
    return parts[0], parts[1], parts[2] if len(parts) > 2 else 0


def nightly_slot(settings: Settings, now: datetime) -> date:
    """The day of the latest nightly time at or before ``now`` (Europe/Berlin)."""
    local = now.astimezone(BERLIN)
    hour, minute, second = nightly_time(settings)
    scheduled = local.replace(hour=hour, minute=minute, second=second, microsecond=0)
    return local.date() if local >= scheduled else local.date() - timedelta(days=1)


def slot_name(day: date) -> str:
    return f"nightly:{day.isoformat()}"


class ReconcileScheduler(BackgroundScheduler):  # type: ignore[misc]
    """A background scheduler whose shutdown also ends a nightly job's wait for the lock."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.stopping = threading.Event()

    def shutdown(self, wait: bool = True) -> None:
        self.stopping.set()
        super().shutdown(wait=wait)


def nightly_job(
    settings: Settings,
    sessions: sessionmaker[Session],
    stopping: threading.Event | None = None,
) -> RunSummary | None:
    """Import the payments inbox, reconcile as of tonight's day, write the reports; once a night."""
    day = nightly_slot(settings, datetime.now(UTC))
    try:
        scan_inbox(settings, sessions)
        summary = run_reconciliation(
            settings,
            sessions,
            day,
            trigger="nightly",
            slot=slot_name(day),
            wait_seconds=settings.reconcile.lock_wait_seconds,
            cancelled=stopping.is_set if stopping is not None else lambda: False,
        )
        if summary is not None:
            build_reports(settings, sessions, day)
        return summary
    except LockBusy:
        log.warning("nightly reconciliation skipped: another run holds the lock", day=str(day))
    except Exception as exc:  # the scheduler thread must survive; the run row has the details
        log.error("nightly reconciliation failed", day=str(day), error=type(exc).__name__)
    return None


def payments_job(settings: Settings, sessions: sessionmaker[Session]) -> None:
    try:
        scan_inbox(settings, sessions)
    except Exception as exc:
        log.error("payments inbox scan failed", error=type(exc).__name__)


def missed_night(settings: Settings, sessions: sessionmaker[Session], now: datetime) -> bool:
    """A nightly run happened before, but not for the latest night (so it was missed)."""
    with sessions() as session:
        slots = set(
            session.scalars(
                select(ReconciliationRun.slot).where(ReconciliationRun.trigger == "nightly")
            )
        )
    return bool(slots) and slot_name(nightly_slot(settings, now)) not in slots


def start_scheduler(
    settings: Settings, sessions: sessionmaker[Session] | None = None
) -> BackgroundScheduler:
    """Start the background scheduler with the nightly and payments jobs; the caller shuts it
    down (``scheduler.shutdown()``). With ``reconcile.enabled`` off it starts without jobs."""
    if sessions is None:
        sessions = session_factory(open_database(settings))
    cfg = settings.reconcile
    scheduler = ReconcileScheduler(
        timezone=BERLIN,
        job_defaults={
            "coalesce": True,
            "max_instances": 1,
            "misfire_grace_time": cfg.misfire_grace_seconds,
        },
    )
    if cfg.enabled:
        hour, minute, second = nightly_time(settings)
        scheduler.add_job(
            nightly_job,
            CronTrigger(hour=hour, minute=minute, second=second, timezone=BERLIN),
            args=[settings, sessions, scheduler.stopping],
            id=NIGHTLY,
            name="nightly reconciliation",
        )
        scheduler.add_job(
            payments_job,
            IntervalTrigger(seconds=cfg.payments_scan_seconds, timezone=BERLIN),
            args=[settings, sessions],
            id=PAYMENTS,
            name="payments inbox",
        )
        now = datetime.now(UTC)
        if cfg.catch_up and missed_night(settings, sessions, now):
            log.info("catching up the missed nightly run", day=str(nightly_slot(settings, now)))
            scheduler.add_job(
                nightly_job,
                "date",
                run_date=now,
                args=[settings, sessions, scheduler.stopping],
                id=CATCH_UP,
            )
    scheduler.start()
    log.info("scheduler started", nightly_time=cfg.nightly_time, enabled=cfg.enabled)
    return scheduler
