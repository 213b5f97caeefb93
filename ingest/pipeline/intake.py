"""Intake: a delivered file claimed, archived and entered in the ledger, or refused.

Every entry point (drop folder, SFTP, ``zvk ingest``) receives here. The file is claimed into
the spool and archived (:mod:`ingest.receiving.intake`), then entered in the ledger as
``received``; the worker does the rest. A failure that is about the file refuses it alone
(quarantine, ledger row, protocol); a passing one leaves it in the spool, and the recovery pass
registers it later, as it registers whatever an interrupted run left there.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import structlog

from ingest.pipeline.ledger import Ledger
from ingest.pipeline.retries import Retries
from ingest.receiving import intake as spool
from ingest.receiving.quarantine import is_transient, refuse_arrival
from ingest.settings import Settings
from ingest.validating.submission import Channel

log = structlog.stdlib.get_logger("ingest.pipeline")


@dataclass
class Intake:
    """Receives files into the ledger of one installation."""

    settings: Settings
    ledger: Ledger
    retries: Retries

    def receive(
        self,
        source: Path,
        *,
        sender_number: str,
        test: bool,
        channel: Channel,
        keep_source: bool = False,
    ) -> str | None:
        """Claim a file and register it in the ledger; returns its LieferungsId.

        ``None`` when another process claimed it first or it was refused (quarantined and
        answered); a transient failure of the registration leaves it to the recovery pass.
        """
        arrival = spool.claim(
            self.settings,
            source,
            sender_number=sender_number,
            test=test,
            channel=channel,
            keep_source=keep_source,
            taken=self.ledger.taken,
        )
        if arrival is None:
            return None
        try:
            registered = self.register(arrival)
        except Exception as exc:  # transient: claimed, the recovery pass registers it
            self.retries.postpone(arrival.delivery_id, "could not register a delivery now", exc)
            return arrival.delivery_id
        return arrival.delivery_id if registered else None

    def register(self, arrival: spool.Arrival, *, wait: bool = True) -> bool:
        """Archive the spooled file and enter it in the ledger (once, whoever asks).

        A failure that is about this file refuses it alone (quarantine, protocol) and returns
        ``False``; a transient one is raised and the file stays in the spool.
        """
        with spool.registering(self.settings, arrival, wait=wait) as mine:
            if mine:
                try:
                    self.enter(arrival)
                except Exception as exc:
                    if is_transient(exc):
                        raise
                    refuse_arrival(self.settings, self.ledger, arrival, exc)  # transient: raised
                    return False
        return True

    def enter(self, arrival: spool.Arrival) -> None:
        """Archive the arrival, enter it in the ledger and drop its spool note (the caller
        holds the note, see :func:`ingest.receiving.intake.registering`)."""
        archived = spool.archive(self.settings, arrival)
        self.ledger.enter(archived)
        spool.forget(self.settings, arrival)
        log.info(
            "delivery received",
            delivery_id=arrival.delivery_id,
            sender=arrival.sender_number,
            size=archived.size,
            channel=arrival.channel,
        )

    def recover(self) -> None:
        """Register what an interrupted run left in the spool (the worker does the rest).

        Each arrival on its own: one that cannot be registered now stays for the next pass.
        """
        for arrival in spool.pending_arrivals(self.settings):
            if not self.retries.due(arrival.delivery_id):
                continue
            try:
                self.register(arrival, wait=False)  # the receiver may be registering it now
            except Exception as exc:
                self.retries.postpone(arrival.delivery_id, "could not register an arrival now", exc)
                continue
            self.retries.forget(arrival.delivery_id)
