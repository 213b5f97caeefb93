"""Structured logging: JSON lines via structlog, personal data never in clear.

Every log call goes through :func:`redact_personal_data`, which replaces the values of keys that
can carry personal data by a short keyed hash, so that two lines about the same person can still be
matched by an operator while the name or number itself does not appear. The key is the home's
``keys/log_pseudonym_key`` (made by ``zvk init``): without it, a birth date or a ten-digit
number could be found again by hashing every possible value.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import logging
import os
import secrets
import sys
from collections.abc import MutableMapping
from pathlib import Path
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


LOG_KEY_FILE = "log_pseudonym_key"
# Until configure() reads the home's key: one of this process's own (tokens then match only
# within the process, and still cannot be reversed).
_key = secrets.token_bytes(32)


def ensure_log_key(folder: Path) -> list[str]:
    """Make the home's pseudonym key once (readable by the service's user only)."""
    path = folder / LOG_KEY_FILE
    if path.exists():
        return []
    folder.mkdir(parents=True, exist_ok=True)
    with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as out:
        out.write(secrets.token_bytes(32))
    return [f"keys/{LOG_KEY_FILE}"]


def pseudonym(value: object) -> str:
    """A stable short token for a personal value: an HMAC with the home's key, so that it
    cannot be reversed by trying every possible value."""
    digest = hmac.new(_key, str(value).encode(), hashlib.sha256).hexdigest()
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
    global _key
    with contextlib.suppress(OSError):  # no home yet (or no key): this process's own key
        _key = (settings.keys / LOG_KEY_FILE).read_bytes()
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
