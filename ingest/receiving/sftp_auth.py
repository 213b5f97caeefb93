"""Who may log in over SFTP, and how often one may try.

The login name is the sender's Betriebsnummer; the sender logs in with one of its registered
public keys or, if one is set, its password (checked against its argon2 hash). Bans (see
:mod:`.sftp_guard`) are decided so that strangers cannot lock a sender out:

- every failure counts against the source address, and a banned address is refused everything;
- a wrong password counts against the account only when the account has a password, and an
  account's ban refuses only passwords, and only from addresses the sender has not logged in
  from: a key login is never stopped by a ban of the account;
- unknown keys count once per connection (a client may offer several keys before the right one).

Only the SFTP subsystem is offered: no shell, no exec, no port forwarding. Nothing secret is
logged: no password, and the login name only when it has the shape of a Betriebsnummer (people
type passwords into the name field).
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import paramiko
import structlog
from paramiko.common import (
    AUTH_FAILED,
    AUTH_SUCCESSFUL,
    OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED,
    OPEN_SUCCEEDED,
)
from sqlalchemy.orm import Session, sessionmaker

from ingest.receiving.sftp_guard import LoginGuard, PasswordChecks
from ingest.receiving.sftp_limits import HandleBudget
from ingest.receiving.sftp_uploads import Uploads
from ingest.settings import Settings
from ingest.storing.credentials import key_allowed, password_hash
from ingest.storing.registry import sender_deactivated
from ingest.validating.identifiers import sender_number_shaped

log = structlog.stdlib.get_logger("ingest.sftp")
_T = TypeVar("_T")
__all__ = ["Context", "LoginGuard", "PasswordChecks", "Seats", "SenderGate", "loggable"]


def loggable(username: str) -> str:
    """The login name for the log, or a placeholder when it could be a mistyped secret."""
    return username if sender_number_shaped(username) else "<unbekannt>"


class Seats:
    """At most ``limit`` concurrent connections per sender (or per address)."""

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
        """Free the seat (again: nothing happens)."""
        with self._lock:
            seats = self._taken.get(sender)
            if seats is not None:
                seats.discard(connection)
                if not seats:
                    del self._taken[sender]


@dataclass
class Context:
    """What every connection shares."""

    settings: Settings
    sessions: sessionmaker[Session]
    uploads: Uploads
    guard: LoginGuard
    seats: Seats
    checks: PasswordChecks
    handles: HandleBudget


class SenderGate(paramiko.ServerInterface):
    """The paramiko server interface of one connection: logs a sender in, offers SFTP only."""

    def __init__(self, context: Context, address: str) -> None:
        self.context = context
        self.address = address
        self.sender = ""  # set once a login succeeded
        self._seat = False
        self._key_failure_counted = False
        self._channels: dict[int, paramiko.Channel | None] = {}  # known once it makes a request
        self.last_activity = time.monotonic()

    def touch(self) -> None:
        """The sender did something (an SFTP request): the connection is not idle."""
        self.last_activity = time.monotonic()

    def get_allowed_auths(self, username: str) -> str:
        return "publickey,password"

    def check_auth_none(self, username: str) -> int:
        return AUTH_FAILED  # the client asking which methods exist; not a failure

    def check_auth_publickey(self, username: str, key: paramiko.PKey) -> int:
        # paramiko asks this for an offered key and again, with its signature verified, to log
        # in. An account's ban never applies to keys (a key cannot be guessed).
        if self._address_banned(username):
            return AUTH_FAILED
        fingerprint = key.fingerprint
        ok = self._look_up(username, lambda s: key_allowed(s, username, fingerprint))
        if not ok:
            if not self._key_failure_counted:
                self._key_failure_counted = True
                self.context.guard.failed(self._address)
            log.warning("sftp login failed", **self._who(username), method="publickey")
            return AUTH_FAILED
        return self._succeeded(username)

    def check_auth_password(self, username: str, password: str) -> int:
        guard, checks = self.context.guard, self.context.checks
        if self._address_banned(username):
            checks.pad()
            return AUTH_FAILED
        stored = self._look_up(username, lambda s: password_hash(s, username))
        account = f"account:{username}"
        subjects: tuple[str, ...] = (self._address,)
        # Only an account with a password can be guessed at; from an address the sender logged
        # in from, failures count against that address alone.
        if stored is not None and not guard.known(account, self.address):
            if guard.banned_for(account) > 0:
                log.warning("sftp login while banned", **self._who(username), method="password")
                checks.pad()
                return AUTH_FAILED
            subjects += (account,)
        if not guard.begin(*subjects):
            log.warning("sftp login refused", **self._who(username), reason="too many attempts")
            checks.pad()
            return AUTH_FAILED
        ok = checks.verify(stored, password)
        guard.end(subjects, failed=ok is False)  # no free check (None): not the sender's fault
        if not ok:
            reason = "busy" if ok is None else "wrong"
            log.warning(
                "sftp login failed", **self._who(username), method="password", reason=reason
            )
            return AUTH_FAILED
        return self._succeeded(username)

    @property
    def _address(self) -> str:
        return f"address:{self.address}"

    def _who(self, username: str) -> dict[str, str]:
        return {"address": self.address, "account": loggable(username)}

    def _address_banned(self, username: str) -> bool:
        if self.context.guard.banned_for(self._address) > 0:
            log.warning("sftp login while banned", **self._who(username))
            return True
        return False

    def _look_up(self, username: str, query: Callable[[Session], _T]) -> _T | None:
        """``query`` for a name shaped like a Betriebsnummer; ``None`` for any other name, or
        when the database cannot answer (the login fails, the connection ends normally)."""
        if not sender_number_shaped(username):
            return None
        try:
            with self.context.sessions() as session:
                if sender_deactivated(session, username):
                    log.warning("sftp login of a deactivated sender refused", **self._who(username))
                    return None
                return query(session)
        except Exception:
            log.exception("sftp login check failed")
            return None

    def _succeeded(self, username: str) -> int:
        self.sender = username
        self.touch()
        return AUTH_SUCCESSFUL

    def check_channel_request(self, kind: str, chanid: int) -> int:
        if kind != "session" or not self.sender:
            return OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED
        # Channels this connection holds: those not yet seen in a request, and those not closed.
        self._channels = {n: c for n, c in self._channels.items() if c is None or not c.closed}
        if len(self._channels) >= self.context.settings.sftp.max_channels_per_connection:
            log.warning("sftp channel limit reached", sender=self.sender, address=self.address)
            return OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED
        if not self._seat:
            if not self.context.seats.take(self.sender, id(self)):
                log.warning("sftp session limit reached", sender=self.sender)
                return OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED
            self._seat = True
            log.info("sftp login", sender=self.sender, address=self.address)
        self._channels[chanid] = None
        self.touch()
        # Only here is the login certain: paramiko asks check_auth_publickey also for a key
        # merely offered, without its signature, and public keys are no secret.
        self.context.guard.remember(f"account:{self.sender}", self.address)
        return OPEN_SUCCEEDED

    def _seen(self, channel: paramiko.Channel) -> None:
        self._channels[channel.get_id()] = channel

    def check_channel_subsystem_request(self, channel: paramiko.Channel, name: str) -> bool:
        self._seen(channel)
        return name == "sftp" and bool(super().check_channel_subsystem_request(channel, name))

    # Everything else an SSH server could offer stays closed (paramiko's defaults say no too;
    # spelled out so that nobody has to look it up).
    def check_channel_shell_request(self, channel: paramiko.Channel) -> bool:
        self._seen(channel)
        return False

    def check_channel_exec_request(self, channel: paramiko.Channel, command: bytes) -> bool:
        self._seen(channel)
        return False

    def check_channel_pty_request(self, channel: paramiko.Channel, *args: Any) -> bool:
        self._seen(channel)
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
