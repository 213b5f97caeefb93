"""The journey of one delivery, in parts one can name.

- :mod:`~ingest.pipeline.intake` receives: a file is claimed, archived and entered in the
  ledger as ``received`` (or refused: quarantined, entered, answered), and what an interrupted
  run left in the spool is registered by its recovery pass.
- :mod:`~ingest.pipeline.worker` processes: it claims a delivery of the ledger, checks it,
  commits what it accepts and writes the protocol; it retries or postpones what fails for a
  passing reason (:mod:`~ingest.pipeline.retries`).
- :mod:`~ingest.pipeline.ledger` holds every state change of a delivery, its verdict (the
  protocol's content) and the queries of ``zvk deliveries``.
- :mod:`~ingest.pipeline.results` decides the result (``Ergebnis``) of a delivery.

:class:`Service` (:mod:`~ingest.pipeline.facade`) opens the three parts on one installation
and passes each call on to the part that does it: the entry points (``zvk serve``, ``zvk
worker``, ``zvk ingest``, the SFTP server) need all of them and one object to hold, and it
decides nothing itself. Code that needs one part only takes it (``service.ledger``).

The parts are imported when first asked for: the results are a leaf that the answering and
storing modules import, and they must not pull in the pipeline that imports them.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from ingest.pipeline.results import Result, grade

if TYPE_CHECKING:
    from ingest.pipeline.facade import Service
    from ingest.pipeline.worker import AnswerFailed

__all__ = ["AnswerFailed", "Result", "Service", "grade"]

_LAZY = {"Service": "ingest.pipeline.facade", "AnswerFailed": "ingest.pipeline.worker"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
