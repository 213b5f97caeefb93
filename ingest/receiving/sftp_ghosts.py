"""Closed uploads as a sender still sees them for a while: name, size and times, no content.

Clients look at a file right after they sent it: paramiko's ``put`` compares its size, WinSCP
sets its modification time (``SETSTAT``), scripts list the folder to see that it arrived. A
file that vanished at CLOSE makes them report a failure, and their users send it again. So a
complete upload leaves a *ghost* in its folder, seen by every session of the sender for
:data:`GHOST_SECONDS`: it answers ``stat``, appears in listings, takes a new time, can be
renamed or removed (which changes only the ghost: the delivery is under way), and can never be
read. At most :data:`GHOSTS_PER_FOLDER` ghosts are kept per folder; the oldest go first.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

GHOST_SECONDS = 600.0
GHOSTS_PER_FOLDER = 1000

Folder = tuple[str, bool]  # (sender, test)


@dataclass
class Ghost:
    size: int
    mtime: float
    atime: float
    expires: float


class Ghosts:
    """The ghosts of all senders; thread-safe."""

    def __init__(
        self,
        seconds: float = GHOST_SECONDS,
        per_folder: int = GHOSTS_PER_FOLDER,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.seconds = seconds
        self.per_folder = per_folder
        self.clock = clock
        self._folders: dict[Folder, OrderedDict[str, Ghost]] = {}
        self._lock = threading.Lock()

    def _folder(self, folder: Folder) -> OrderedDict[str, Ghost]:
        """The folder's live ghosts (expired ones dropped); call with the lock held."""
        ghosts = self._folders.setdefault(folder, OrderedDict())
        now = self.clock()
        while ghosts and next(iter(ghosts.values())).expires <= now:
            ghosts.popitem(last=False)
        return ghosts

    def add(self, folder: Folder, name: str, size: int, mtime: float) -> None:
        with self._lock:
            ghosts = self._folder(folder)
            ghosts.pop(name, None)
            ghosts[name] = Ghost(size, mtime, mtime, self.clock() + self.seconds)
            while len(ghosts) > self.per_folder:
                ghosts.popitem(last=False)

    def get(self, folder: Folder, name: str) -> Ghost | None:
        with self._lock:
            return self._folder(folder).get(name)

    def names(self, folder: Folder) -> list[str]:
        with self._lock:
            return list(self._folder(folder))

    def set_times(
        self, folder: Folder, name: str, atime: float | None, mtime: float | None
    ) -> bool:
        """Give a ghost the times a client sets; ``False`` when there is no such ghost."""
        with self._lock:
            ghost = self._folder(folder).get(name)
            if ghost is None:
                return False
            ghost.atime = ghost.atime if atime is None else atime
            ghost.mtime = ghost.mtime if mtime is None else mtime
            return True

    def rename(self, folder: Folder, old: str, new: str) -> bool:
        """Move a ghost to another name (replacing a ghost there); ``False`` without one."""
        with self._lock:
            ghosts = self._folder(folder)
            ghost = ghosts.pop(old, None)
            if ghost is None:
                return False
            ghosts.pop(new, None)
            ghost.expires = self.clock() + self.seconds  # keeps the folder ordered by expiry
            ghosts[new] = ghost
            return True

    def remove(self, folder: Folder, name: str) -> bool:
        with self._lock:
            return self._folder(folder).pop(name, None) is not None
