"""Who may log in over SFTP, and how often one may try.

The login name is the sender's Betriebsnummer; the sender logs in with one of its registered
public keys or, if one is set, its password (checked against the argon2 hash). Failed logins are
counted per source address and per account; too many within the window lead to a ban that doubles
with every repeat, so guessing gets slower and slower. Only the SFTP subsystem is offered: no
shell, no exec, no port forwarding. Nothing secret is logged: no password, and the login name only
when it has the shape of a Betriebsnummer (people type passwords into the name field).
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import paramiko
import structlog
from paramiko.common import (
    AUTH_FAILED,
    AUTH_SUCCESSFUL,
    OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED,
    OPEN_SUCCEEDED,
)
from sqlalchemy.orm import Session, sessionmaker

from ingest.receiving.sftp_uploads import Uploads
from ingest.settings import Settings, SftpSettings
from ingest.storing.credentials import key_allowed, password_matches
from ingest.storing.registry import sender_deactivated
from ingest.validating.identifiers import sender_number_shaped

log = structlog.stdlib.get_logger("ingest.sftp")
_PRUNE_ABOVE = 10_000  # subjects kept before quiet ones are forgotten


def loggable(username: str) -> str:
    """The login name for the log, or a placeholder when it could be a mistyped secret."""
    return username if sender_number_shaped(username) else "<unbekannt>"


@dataclass
class _Record:
    failures: deque[float] = field(default_factory=deque)
    bans: int = 0
    banned_until: float = 0.0


class LoginGuard:
    """Failed logins per address and per account, and the bans they earn (in memory)."""

    def __init__(self, settings: SftpSettings, clock: Callable[[], float] = time.monotonic):
        self.settings = settings
        self.clock = clock
        self._records: dict[str, _Record] = defaultdict(_Record)
        self._lock = threading.Lock()

    def banned_for(self, *subjects: str) -> float:
        """Seconds left of the longest ban on any of ``subjects`` (0 when none is banned)."""
        now = self.clock()
        with self._lock:
            until = [self._records[s].banned_until for s in subjects if s in self._records]
        return max([0.0, *(u - now for u in until)])

    def failed(self, *subjects: str) -> None:
        """Count one failed login against each subject; ban those that reached the limit."""
        now = self.clock()
        with self._lock:
            for subject in subjects:
                record = self._records[subject]
                record.failures.append(now)
                window = self.settings.failure_window_seconds
                while record.failures and now - record.failures[0] > window:
                    record.failures.popleft()
                if len(record.failures) >= self.settings.max_failed_logins:
                    self._ban(subject, record, now)
            if len(self._records) > _PRUNE_ABOVE:
                self._prune(now)

    def _prune(self, now: float) -> None:
        """Forget quiet subjects, so that a scan over many addresses cannot fill the memory."""
        window, longest = self.settings.failure_window_seconds, self.settings.max_ban_seconds
        for subject, record in list(self._records.items()):
            quiet = not record.failures or now - record.failures[-1] > window
            if quiet and now - record.banned_until > longest:
                del self._records[subject]

    def _ban(self, subject: str, record: _Record, now: float) -> None:
        record.bans += 1
        seconds = min(
            self.settings.ban_seconds * 2 ** (record.bans - 1), self.settings.max_ban_seconds
        )
        record.banned_until = now + seconds
        record.failures.clear()
        log.warning("sftp login banned", subject=subject, seconds=seconds, bans=record.bans)


class Seats:
    """At most ``limit`` concurrent connections per sender."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._taken: dict[str, set[int]] = defaultdict(set)
        self._lock = threading.Lock()

    def take(self, sender: str, connection: int) -> bool:
        with self._lock:
            seats = self._taken[sender]
            if connection in seats:
                return True
            if len(seats) >= self.limit:
                return False
            seats.add(connection)
            return True

    def give_back(self, sender: str, connection: int) -> None:
        with self._lock:
            self._taken[sender].discard(connection)


@dataclass
class Context:
    """What every connection shares."""

    settings: Settings
    sessions: sessionmaker[Session]
    uploads: Uploads
    guard: LoginGuard
    seats: Seats


class SenderGate(paramiko.ServerInterface):
    """The paramiko server interface of one connection: logs a sender in, offers SFTP only."""

    def __init__(self, context: Context, address: str) -> None:
        self.context = context
        self.address = address
        self.sender = ""  # set once a login succeeded
        self._seat = False

    def get_allowed_auths(self, username: str) -> str:
        return "publickey,password"

    def check_auth_none(self, username: str) -> int:
        return AUTH_FAILED  # the client asking which methods exist; not a failure

    def check_auth_publickey(self, username: str, key: paramiko.PKey) -> int:
        # paramiko asks this for an offered key and again, with its signature verified, to log
        # in; only an unknown key counts as a failure.
        fingerprint = key.fingerprint
        return self._decide(username, "publickey", lambda s: key_allowed(s, username, fingerprint))

    def check_auth_password(self, username: str, password: str) -> int:
        return self._decide(username, "password", lambda s: password_matches(s, username, password))

    def _decide(self, username: str, method: str, check: Callable[[Session], bool]) -> int:
        guard = self.context.guard
        account = f"account:{loggable(username)}"
        address = f"address:{self.address}"
        if guard.banned_for(address, account) > 0:
            log.warning("sftp login while banned", address=self.address, account=loggable(username))
            return AUTH_FAILED
        try:
            with self.context.sessions() as session:
                deactivated = sender_deactivated(session, username)
                ok = not deactivated and sender_number_shaped(username) and check(session)
        except Exception:
            log.exception("sftp login check failed", method=method)
            return AUTH_FAILED
        if deactivated:
            log.warning("sftp login of a deactivated sender refused", account=username)
            return AUTH_FAILED
        if not ok:
            guard.failed(address, account)
            log.warning(
                "sftp login failed", address=self.address, account=loggable(username), method=method
            )
            return AUTH_FAILED
        self.sender = username
        return AUTH_SUCCESSFUL

    def check_channel_request(self, kind: str, chanid: int) -> int:
        if kind != "session" or not self.sender:
            return OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED
        if not self._seat:
            if not self.context.seats.take(self.sender, id(self)):
                log.warning("sftp session limit reached", sender=self.sender)
                return OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED
            self._seat = True
            log.info("sftp login", sender=self.sender, address=self.address)
        return OPEN_SUCCEEDED

    def check_channel_subsystem_request(self, channel: paramiko.Channel, name: str) -> bool:
        return name == "sftp" and bool(super().check_channel_subsystem_request(channel, name))

    # Everything else an SSH server could offer stays closed (paramiko's defaults say no too;
    # spelled out so that nobody has to look it up).
    def check_channel_shell_request(self, channel: paramiko.Channel) -> bool:
        return False

    def check_channel_exec_request(self, channel: paramiko.Channel, command: bytes) -> bool:
        return False

    def check_channel_pty_request(self, *args: Any) -> bool:
        return False

    def check_port_forward_request(self, address: str, port: int) -> int:
        return False  # paramiko: False means refused

    def check_channel_direct_tcpip_request(self, chanid: int, origin: Any, destination: Any) -> int:
        return OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED

    def release(self) -> None:
        """The connection ended: give its seat back."""
        if self._seat:
            self.context.seats.give_back(self.sender, id(self))
            self._seat = False
