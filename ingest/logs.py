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
import logging.handlers
import os
import secrets
import sqlite3
import sys
import traceback
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

import structlog
from sqlalchemy.exc import StatementError

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


def database_errors_without_values(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """Log a database error by its traceback and a message without the values it quotes.

    The engine hides a statement's parameters (``hide_parameters``), but PostgreSQL quotes
    values itself, in the message's DETAIL: "Key (versicherungsnummer)=(…) already exists",
    "Failing row contains (…)". When an exception or one it was raised from is a database
    error, each is written with its kind, its SQLSTATE and the names of the constraint, table
    and column. An SQLite message names only those anyway, and is kept.
    """
    exc_info = event_dict.get("exc_info")
    if exc_info is True:
        exc_info = sys.exc_info()
    error = exc_info[1] if isinstance(exc_info, tuple) else exc_info
    if not isinstance(error, BaseException):
        return event_dict
    chain: list[BaseException] = []
    link: BaseException | None = error
    while link is not None and link not in chain:
        chain.append(link)
        link = link.__cause__ or (None if link.__suppress_context__ else link.__context__)
    if not any(_database_error(e) for e in chain):
        return event_dict
    parts = []
    for link in reversed(chain):  # the first cause first, as Python prints them
        parts.append(
            "Traceback (most recent call last):\n"
            + "".join(traceback.format_tb(link.__traceback__))
            + f"{type(link).__module__}.{type(link).__qualname__}: {_message(link)}\n"
        )
    del event_dict["exc_info"]
    event_dict["exception"] = "\nThe above exception led to the following:\n\n".join(parts)
    return event_dict


def _database_error(error: BaseException) -> bool:
    return isinstance(error, StatementError) or hasattr(error, "diag")  # psycopg's errors


def _message(error: BaseException) -> str:
    if isinstance(error, StatementError):
        orig = error.orig
        return _message(orig) if orig is not None else "(statement failed)"
    diag = getattr(error, "diag", None)
    if diag is None:
        return str(error) if isinstance(error, sqlite3.Error) or not _quotes(error) else "…"
    named = [
        f"{what} {name}"
        for what, name in (
            ("SQLSTATE", getattr(error, "sqlstate", None)),
            ("constraint", diag.constraint_name),
            ("table", diag.table_name),
            ("column", diag.column_name),
        )
        if name
    ]
    return ", ".join(named) or "(values left out)"


def _quotes(error: BaseException) -> bool:
    """Whether a message of ours may carry a database error's text (it is then left out)."""
    return any(_database_error(e) for e in (error.__cause__, error.__context__) if e)


LOG_FILE = "logs/zvk.log"


def log_file_for_terminal(settings: Settings, service: bool) -> Path | None:
    """Where a command run by a person at a terminal writes its log lines, or ``None``.

    A command whose standard output is a terminal keeps the terminal for its own lines: its
    log lines go to ``<home>/logs/zvk.log`` (when the home exists; ``zvk check`` needs none).
    The service (``zvk serve``, ``zvk worker``) does the same when its standard error is a
    terminal. Commands run by scripts and the service under a supervisor or in a container
    (standard error not a terminal) log to standard error, where they are collected.
    """
    at_terminal = sys.stderr.isatty() if service else sys.stdout.isatty()
    if not at_terminal or not settings.home.is_dir():
        return None
    return settings.home / LOG_FILE


def configure(settings: Settings, stream: Any = None, file: Path | None = None) -> None:
    """Configure structlog and route the standard library's loggers through it: to ``file``
    when given (JSON lines, appended; reopened after a log rotation), else to ``stream`` or
    standard error."""
    global _key
    with contextlib.suppress(OSError):  # no home yet (or no key): this process's own key
        _key = (settings.keys / LOG_KEY_FILE).read_bytes()
    level = getattr(logging, settings.log.level)
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if settings.log.json_output or file is not None
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        redact_personal_data,
        database_errors_without_values,
    ]
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    handler: logging.Handler
    if file is not None:
        file.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.handlers.WatchedFileHandler(file, encoding="utf-8")
    else:
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
    for noisy in ("paramiko", "watchdog", "apscheduler", "alembic", "fontTools"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))


def get_logger(name: str) -> Any:
    return structlog.stdlib.get_logger(name)
