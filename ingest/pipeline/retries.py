"""When a delivery that failed for a passing reason is tried again."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import structlog

from ingest.receiving.intake import NotYetComplete
from ingest.receiving.quarantine import reason_of

log = structlog.stdlib.get_logger("ingest.pipeline")

RETRY_SECONDS = (1.0, 600.0)  # a failing delivery is tried again after 1 s, 2 s, … 10 min


@dataclass
class Retries:
    """The deliveries (or arrivals) that wait for their next attempt, by LieferungsId.

    Shared by the intake (an arrival that cannot be registered now) and the worker (a
    delivery that cannot be processed now); in memory: after a restart everything is due.
    """

    settle_seconds: float  # how often a file still being written is looked at
    # LieferungsId -> (failures so far, monotonic time before which it is not tried again,
    # whether the sender's later deliveries wait for it)
    _waiting: dict[str, tuple[int, float, bool]] = field(default_factory=dict)

    def due(self, delivery_id: str) -> bool:
        return self._waiting.get(delivery_id, (0, 0.0, True))[1] <= time.monotonic()

    def blocks(self, delivery_id: str) -> bool:
        """Whether the sender's later deliveries wait for this one (it is not yet checked)."""
        return self._waiting.get(delivery_id, (0, 0.0, False))[2]

    def postpone(
        self, delivery_id: str, event: str, exc: BaseException, *, blocks: bool = True
    ) -> None:
        """Try a delivery again later, waiting twice as long after every failure; ``blocks``:
        the sender's later deliveries wait for it (it is not yet checked)."""
        failures = self._waiting.get(delivery_id, (0, 0.0, True))[0] + 1
        delay = min(RETRY_SECONDS[0] * 2 ** (failures - 1), RETRY_SECONDS[1])
        quiet = isinstance(exc, NotYetComplete)
        if quiet:  # a file still being written: looked at again as often as the inbox
            failures, delay = 0, max(RETRY_SECONDS[0], self.settle_seconds)
        self._waiting[delivery_id] = (failures, time.monotonic() + delay, blocks)
        (log.info if quiet else log.error)(
            event,
            delivery_id=delivery_id,
            reason=reason_of(exc),
            failures=failures,
            retry_seconds=delay,
            exc_info=failures == 1,
        )

    def forget(self, delivery_id: str) -> None:
        """It went through: the next failure counts from one again."""
        self._waiting.pop(delivery_id, None)
