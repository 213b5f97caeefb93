"""The ledger check: a protocol the sender deleted (its acknowledgement) is not missing."""

from __future__ import annotations

import csv
import io
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import SENDER, Deliver, wait_for
from sqlalchemy import select, update

# The SFTP fixtures: the real `zvk serve` and the real OpenSSH client.
from test_sftp_e2e import (  # noqa: F401
    Keys,
    Server,
    acknowledgements,
    good_file,
    home,
    keys,
    server,
    start_server,
    zvk,
)

from ingest.reconciling import ledger
from ingest.reconciling.ledger import ledger_checks
from ingest.samples.builder import FileBuilder
from ingest.settings import Settings
from ingest.storing.credentials import record_acknowledgement
from ingest.storing.db import make_engine, session_factory
from ingest.storing.models import Delivery, DeliveryState

LATER = timedelta(hours=2)


def test_every_ledger_state_has_exactly_one_place_in_the_check() -> None:
    """No state is forgotten: each is in progress, unanswered, answered or acknowledged."""
    groups = [ledger.IN_PROGRESS, ledger.UNANSWERED, ledger.ANSWERED, ledger.ACKNOWLEDGED]
    named = [state for group in groups for state in group]
    assert sorted(named) == sorted(s.value for s in DeliveryState)


def _delivered(settings: Settings, deliver: Deliver, person: int = 1) -> tuple[str, Path]:
    builder = FileBuilder()
    builder.anmeldung(person)
    verdict = deliver(builder)
    with session_factory(make_engine(settings))() as session:
        path = session.scalar(
            select(Delivery.protocol_path).where(Delivery.delivery_id == verdict.delivery_id)
        )
    assert path is not None
    return verdict.delivery_id, settings.home / path


def _kinds(settings: Settings) -> set[tuple[str, str | None]]:
    with session_factory(make_engine(settings))() as session:
        now = datetime.now(UTC) + LATER
        return {(f.kind, f.reference) for f in ledger_checks(session, settings, now)}


def test_acknowledged_protocol_is_not_missing_but_a_lost_one_is(
    settings: Settings, deliver: Deliver
) -> None:
    """The sender deleted one protocol (acknowledged); the other vanished without a trace."""
    fetched, fetched_protocol = _delivered(settings, deliver)
    lost, lost_protocol = _delivered(settings, deliver, 2)
    sessions = session_factory(make_engine(settings))
    fetched_protocol.unlink()
    with sessions.begin() as session:
        assert record_acknowledgement(session, SENDER, fetched_protocol.name) == fetched
    lost_protocol.unlink()
    with sessions() as session:
        states = {d: s for d, s in session.execute(select(Delivery.delivery_id, Delivery.state))}
    assert states == {fetched: "acknowledged", lost: "answered"}
    assert _kinds(settings) == {("protokoll_fehlt", lost)}


def test_failed_delivery_whose_protocol_the_sender_deleted(
    settings: Settings, deliver: Deliver
) -> None:
    """A failed delivery keeps its state when the sender deletes its protocol: still no loss."""
    failed, protocol = _delivered(settings, deliver)
    sessions = session_factory(make_engine(settings))
    with sessions.begin() as session:
        session.execute(
            update(Delivery).where(Delivery.delivery_id == failed).values(state="failed")
        )
    protocol.unlink()
    assert ("protokoll_fehlt", failed) in _kinds(settings)
    with sessions.begin() as session:
        record_acknowledgement(session, SENDER, protocol.name)
    assert ("protokoll_fehlt", failed) not in _kinds(settings)


@pytest.mark.parametrize("state", ["committed", "rejected"])
def test_delivery_decided_but_never_answered_is_unfinished(
    settings: Settings, deliver: Deliver, state: str
) -> None:
    """Committed or rejected without a protocol an hour later: the answer is overdue."""
    delivery_id, _protocol = _delivered(settings, deliver)
    with session_factory(make_engine(settings)).begin() as session:
        session.execute(
            update(Delivery).where(Delivery.delivery_id == delivery_id).values(state=state)
        )
    assert ("lieferung_unerledigt", delivery_id) in _kinds(settings)


@pytest.mark.e2e
def test_protocol_fetched_and_deleted_over_sftp_is_no_finding(
    server: Server,  # noqa: F811
    keys: Keys,  # noqa: F811
    tmp_path: Path,
) -> None:
    """Upload, fetch the protocol, delete it: `zvk reconcile` and the export find nothing."""
    good_file(tmp_path)
    done = server.sftp(keys.sender, "put monat.xml /inbox/monat.xml\n", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    protocol = wait_for("monat.*.protokoll.xml", server.home / "outbox" / SENDER)
    commands = f"get /outbox/{protocol.name} {tmp_path / 'p.xml'}\nrm /outbox/{protocol.name}\n"
    done = server.sftp(keys.sender, commands, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    deadline = time.monotonic() + 15
    while not acknowledgements(server.home) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(acknowledgements(server.home)) == 1
    done = zvk(server.home, "reconcile")
    assert done.returncode == 0, done.stderr
    assert "protokoll_fehlt" not in done.stdout
    done = zvk(server.home, "export", "abgleich", "--format", "csv")
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    assert [r["art"] for r in rows if r["art"] == "protokoll_fehlt"] == []
