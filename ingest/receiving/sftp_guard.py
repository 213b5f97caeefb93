"""Failed logins, the bans they earn, and the password checks (in memory, per `zvk serve`).

Failures are counted per subject: ``address:<ip>`` for the source address and ``account:<number>``
for a sender. A subject that reaches ``sftp.max_failed_logins`` within the window is banned, and
every further ban of it lasts twice as long. What counts against whom is decided by the caller
(:class:`~ingest.receiving.sftp_auth.SenderGate`); this module guarantees:

- an attempt is counted *before* its password is hashed: while attempts are in flight, they count
  towards the limit, so a burst of simultaneous guesses cannot all be hashed before the ban;
- at most ``sftp.max_password_checks`` passwords are hashed at once, whoever sends them;
- a refused password costs the sender as long as a checked one, so that the answer's time does
  not tell whether an account has a password or is banned;
- the addresses a sender logged in from are remembered, so that a ban of its account earned by
  strangers elsewhere does not lock it out there.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field

import structlog

from ingest.settings_sftp import SftpSettings
from ingest.storing.credentials import verify_password

log = structlog.stdlib.get_logger("ingest.sftp")
_PRUNE_ABOVE = 10_000  # subjects kept before quiet ones are forgotten
_KNOWN_PER_ACCOUNT = 32  # addresses remembered per account (the most recent ones)


@dataclass
class _Record:
    failures: deque[float] = field(default_factory=deque)
    in_flight: int = 0
    bans: int = 0
    banned_until: float = 0.0


class LoginGuard:
    """Failed logins per address and per account, and the bans they earn."""

    def __init__(self, settings: SftpSettings, clock: Callable[[], float] = time.monotonic):
        self.settings = settings
        self.clock = clock
        self._records: dict[str, _Record] = defaultdict(_Record)
        self._known: dict[str, OrderedDict[str, None]] = {}
        self._lock = threading.Lock()

    def banned_for(self, *subjects: str) -> float:
        """Seconds left of the longest ban on any of ``subjects`` (0 when none is banned)."""
        now = self.clock()
        with self._lock:
            until = [self._records[s].banned_until for s in subjects if s in self._records]
        return max([0.0, *(u - now for u in until)])

    def begin(self, *subjects: str) -> bool:
        """Admit one attempt against ``subjects``, counted as in flight until :meth:`end`;
        ``False`` (nothing counted) when one is banned or its failures and the attempts in
        flight already reach the limit."""
        now = self.clock()
        with self._lock:
            records = [self._records[s] for s in subjects]
            for record in records:
                self._forget_old(record, now)
                busy = len(record.failures) + record.in_flight
                if record.banned_until > now or busy >= self.settings.max_failed_logins:
                    return False
            for record in records:
                record.in_flight += 1
        return True

    def end(self, subjects: tuple[str, ...], *, failed: bool) -> None:
        """The attempt admitted by :meth:`begin` is decided: a failure counts now."""
        with self._lock:
            for subject in subjects:
                record = self._records[subject]
                record.in_flight = max(0, record.in_flight - 1)
        if failed:
            self.failed(*subjects)

    def failed(self, *subjects: str) -> None:
        """Count one failed login against each subject; ban those that reached the limit."""
        now = self.clock()
        with self._lock:
            for subject in subjects:
                record = self._records[subject]
                record.failures.append(now)
                self._forget_old(record, now)
                if len(record.failures) >= self.settings.max_failed_logins:
                    self._ban(subject, record, now)
            if len(self._records) > _PRUNE_ABOVE:
                self._prune(now)

    def remember(self, account: str, address: str) -> None:
        """``account`` logged in from ``address``."""
        with self._lock:
            known = self._known.setdefault(account, OrderedDict())
            known[address] = None
            known.move_to_end(address)
            while len(known) > _KNOWN_PER_ACCOUNT:
                known.popitem(last=False)

    def known(self, account: str, address: str) -> bool:
        """Has ``account`` logged in from ``address`` since the service started?"""
        with self._lock:
            return address in self._known.get(account, ())

    def _forget_old(self, record: _Record, now: float) -> None:
        window = self.settings.failure_window_seconds
        while record.failures and now - record.failures[0] > window:
            record.failures.popleft()

    def _prune(self, now: float) -> None:
        """Forget quiet subjects, so that a scan over many addresses cannot fill the memory."""
        window, longest = self.settings.failure_window_seconds, self.settings.max_ban_seconds
        for subject, record in list(self._records.items()):
            quiet = not record.failures or now - record.failures[-1] > window
            if quiet and not record.in_flight and now - record.banned_until > longest:
                del self._records[subject]

    def _ban(self, subject: str, record: _Record, now: float) -> None:
        record.bans += 1
        seconds = min(
            self.settings.ban_seconds * 2 ** (record.bans - 1), self.settings.max_ban_seconds
        )
        record.banned_until = now + seconds
        record.failures.clear()
        log.warning("sftp login banned", subject=subject, seconds=seconds, bans=record.bans)


class PasswordChecks:
    """Hashes login passwords, at most ``concurrent`` at a time."""

    def __init__(self, concurrent: int, wait_seconds: float) -> None:
        self._slots = threading.BoundedSemaphore(concurrent)
        self.wait_seconds = wait_seconds
        self._typical = 0.0  # seconds one check takes here (a moving average)

    def verify(self, stored: str | None, password: str) -> bool | None:
        """Does ``password`` match ``stored`` (``None``: no password, checked all the same)?
        ``None`` when no check could start within ``wait_seconds``."""
        if not self._slots.acquire(timeout=self.wait_seconds):
            return None
        started = time.monotonic()
        try:
            return verify_password(stored, password)
        finally:
            took = time.monotonic() - started
            self._slots.release()
            self._typical = took if not self._typical else 0.8 * self._typical + 0.2 * took

    def warm_up(self) -> None:
        """Learn how long a check takes before the first refusal has to match it."""
        self.verify(None, "")

    def pad(self) -> None:
        """Take as long as a check, for an answer given without one."""
        time.sleep(self._typical)
