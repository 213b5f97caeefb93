"""Structured logging: JSON lines via structlog, personal data never in clear.

Every log call goes through :func:`redact_personal_data`, which replaces the values of keys that
can carry personal data by a short keyed hash, so that two lines about the same person can still be
matched by an operator while the name or number itself does not appear.
"""

from __future__ import annotations

import hashlib
import logging
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

from ingest.settings import Settings

PERSONAL_KEYS = frozenset(
    {
        "rvnr",
        "versicherungsnummer",
        "familienname",
        "vorname",
        "geburtsname",
        "geburtsdatum",
        "name",
        "person",
        "personalnummer",
        "password",
        "secret",
    }
)


def pseudonym(value: object) -> str:
    """A stable, non-reversible short token for a personal value."""
    digest = hashlib.sha256(f"zvk-log:{value}".encode()).hexdigest()
    return f"~{digest[:12]}"


def redact_personal_data(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    for key in list(event_dict):
        if key.lower() in PERSONAL_KEYS and event_dict[key] is not None:
            event_dict[key] = pseudonym(event_dict[key])
    return event_dict


def configure(settings: Settings, stream: Any = None) -> None:
    """Configure structlog and route the standard library's loggers through it."""
    level = getattr(logging, settings.log.level)
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if settings.log.json_output
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        redact_personal_data,
    ]
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("paramiko", "watchdog", "apscheduler", "alembic"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))


def get_logger(name: str) -> Any:
    return structlog.stdlib.get_logger(name)
