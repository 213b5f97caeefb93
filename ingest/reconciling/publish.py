"""Writing the evaluations: one folder per member and day, and one for the fund as a whole.

Members: ``outbox/mitglieder/<Mitgliedsnummer>/auswertungen/<YYYY-MM-DD>/``; the fund:
``reports/kasse/<YYYY-MM-DD>/``. Each folder holds ``bericht.html``, ``auswertung.xlsx`` and one
CSV per table. A folder is written under a hidden name and renamed into place, so a reader never
sees half a report; writing the same day again replaces it.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ingest.answering.outbox import write_atomically
from ingest.reconciling.evaluations import Evaluation, evaluate, write_tables
from ingest.reconciling.points import refresh_points
from ingest.reconciling.runs import latest_run
from ingest.settings import Settings
from ingest.storing.models import Member

log = structlog.stdlib.get_logger("ingest.reports")
FUND = "kasse"


@dataclass(frozen=True, slots=True)
class Published:
    member: str | None  # None: the fund
    as_of: date
    folder: Path
    run_day: date | None = None  # the day of the reconciliation run used; None: there was none


def member_folder(settings: Settings, member: str) -> Path:
    return settings.outbox / "mitglieder" / member / "auswertungen"


def fund_folder(settings: Settings) -> Path:
    return settings.home / "reports" / FUND


def build_reports(
    settings: Settings,
    sessions: sessionmaker[Session],
    as_of: date,
    *,
    members: list[str] | None = None,
    fund: bool = True,
) -> list[Published]:
    """Evaluate (with the findings of the run of the latest day up to ``as_of``) and write."""
    with sessions.begin() as session:
        refresh_points(session)
    with sessions() as session:
        run = latest_run(session, on_or_before=as_of)
        evaluation = evaluate(session, as_of, run.id if run else None, run.as_of if run else None)
        registered = list(
            session.execute(select(Member.number, Member.name).order_by(Member.number))
        )
    published = []
    for number, name in registered:
        if members is not None and number not in members:
            continue
        own = evaluation.of_member(number, f"{name} ({number})")
        published.append(_write(own, member_folder(settings, number) / as_of.isoformat(), number))
    if fund and members is None:
        published.append(_write(evaluation, fund_folder(settings) / as_of.isoformat(), None))
    log.info("reports written", count=len(published), as_of=as_of.isoformat())
    return published


def _write(evaluation: Evaluation, target: Path, member: str | None) -> Published:
    # matplotlib is imported only when reports are built: it slows every command's start.
    from ingest.reconciling.report_html import render

    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        write_tables(evaluation, staging)
        write_atomically(staging / "bericht.html", render(evaluation).encode("utf-8"))
        os.chmod(staging, 0o755)  # noqa: S103  (mkdtemp makes it 0700; readers need 0755)
        old = None
        if target.exists():
            old = target.with_name(f".{target.name}-old-{os.getpid()}")
            os.rename(target, old)
        os.rename(staging, target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return Published(member, evaluation.as_of, target, evaluation.run_day)


def list_reports(settings: Settings, member: str | None = None) -> list[Published]:
    """The written reports, newest day first; the fund's after the members' of the same day."""
    found = []
    root = settings.outbox / "mitglieder"
    if root.is_dir():
        for folder in sorted(root.iterdir()):
            if member is None or folder.name == member:
                found.extend(_days(folder / "auswertungen", folder.name))
    if member is None:
        found.extend(_days(fund_folder(settings), None))
    return sorted(found, key=lambda p: (-p.as_of.toordinal(), p.member is None, p.member or ""))


def _days(folder: Path, member: str | None) -> list[Published]:
    if not folder.is_dir():
        return []
    out = []
    for day in folder.iterdir():
        if day.name.startswith(".") or not (day / "bericht.html").is_file():
            continue
        try:
            as_of = date.fromisoformat(day.name)
        except ValueError:
            continue
        out.append(Published(member, as_of, day))
    return out
