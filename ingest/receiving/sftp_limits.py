"""What one SFTP session may hold: open handles, bounded per session, per sender and in all.

Every open upload or protocol holds a file descriptor, and the process has a limited number of
them, shared with the database, the drop-folder watcher and the worker. :class:`HandleBudget`
counts the handles (file and folder handles alike) every session holds; an OPEN or OPENDIR past
a limit is refused with an SFTP status and a German message, and the session goes on. The total
is derived from the process's descriptor limit, so that no combination of senders can take the
descriptors the rest of the service needs.
"""

from __future__ import annotations

import resource
import threading
from collections import defaultdict
from typing import Any, Protocol, cast

import structlog
from paramiko.sftp import CMD_OPEN, CMD_OPENDIR, SFTP_FAILURE

from ingest.receiving.sftp_fs import TreeServer
from ingest.receiving.sftp_handles import Refusal
from ingest.settings_sftp import SftpSettings

log = structlog.stdlib.get_logger("ingest.sftp")

# Descriptors kept for everything but SFTP handles: database connections, the watcher, the
# worker's files and pipes, logs; plus two per allowed connection (its socket and a spare).
RESERVED_DESCRIPTORS = 256

SESSION_FULL = Refusal(SFTP_FAILURE, "Zu viele offene Dateien in dieser Sitzung.")
SENDER_FULL = Refusal(SFTP_FAILURE, "Zu viele offene Dateien für diesen Absender.")
SERVER_FULL = Refusal(SFTP_FAILURE, "Der Server ist ausgelastet; bitte später erneut versuchen.")


def handle_total(settings: SftpSettings) -> int:
    """Handles all sessions together may hold under the process's descriptor limit."""
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return settings.max_handles_per_sender * settings.max_connections
    return max(0, soft - RESERVED_DESCRIPTORS - 2 * settings.max_connections)


class HandleBudget:
    """Open handles per session, per sender and in all."""

    def __init__(self, per_session: int, per_sender: int, total: int) -> None:
        self.per_session, self.per_sender, self.total = per_session, per_sender, total
        self._held: dict[str, int] = defaultdict(int)
        self._all = 0
        self._lock = threading.Lock()

    @classmethod
    def of(cls, settings: SftpSettings) -> HandleBudget:
        budget = cls(
            settings.max_handles_per_session,
            settings.max_handles_per_sender,
            handle_total(settings),
        )
        log.info(
            "sftp handles bounded",
            per_session=budget.per_session,
            per_sender=budget.per_sender,
            total=budget.total,
        )
        return budget

    def take(self, sender: str, in_session: int) -> Refusal | None:
        """Reserve one handle for a session of ``sender`` that holds ``in_session``; the
        refusal when a limit is reached."""
        if in_session >= self.per_session:
            return SESSION_FULL
        with self._lock:
            if self._held[sender] >= self.per_sender:
                return SENDER_FULL
            if self._all >= self.total:
                return SERVER_FULL
            self._held[sender] += 1
            self._all += 1
        return None

    def give_back(self, sender: str, count: int) -> None:
        with self._lock:
            self._held[sender] -= count
            self._all -= count
            if self._held[sender] <= 0:
                del self._held[sender]

    def held(self, sender: str) -> int:
        with self._lock:
            return self._held.get(sender, 0)


class _Shared(Protocol):
    handles: HandleBudget


class Gate(Protocol):
    """What the session needs of its connection's gatekeeper (``SenderGate``)."""

    sender: str
    context: _Shared

    def touch(self) -> None: ...


class BoundedTreeServer(TreeServer):
    """The SFTP subsystem of one session, holding no more handles than its budget allows, and
    telling its connection's gate about every request (the idle timeout)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        gate = cast(Gate, self.get_server())
        self._gate = gate
        self._budget = gate.context.handles
        self._sender = gate.sender
        self._reserved = 0  # handles this session took from the budget
        self._refused = 0

    def _process(self, t: int, request_number: int, msg: Any) -> None:
        self._gate.touch()
        if t in (CMD_OPEN, CMD_OPENDIR):
            refusal = self._budget.take(self._sender, self._reserved)
            if refusal is not None:
                self._refuse(request_number, refusal)
                return
            self._reserved += 1
        try:
            super()._process(t, request_number, msg)  # type: ignore[misc]
        finally:
            self._settle()

    def _refuse(self, request_number: int, refusal: Refusal) -> None:
        self._refused += 1
        if self._refused == 1:  # once per session: a client in a loop must not flood the log
            log.warning("sftp handle limit reached", sender=self._sender, reason=refusal.message)
        self._send_status(request_number, refusal)

    def _settle(self) -> None:
        """Give back what the session took but does not hold (refused opens, closed handles)."""
        holding = len(self.file_table) + len(self.folder_table)
        if holding < self._reserved:
            self._budget.give_back(self._sender, self._reserved - holding)
            self._reserved = holding

    def finish_subsystem(self) -> None:
        try:
            super().finish_subsystem()
        finally:
            self._settle()
