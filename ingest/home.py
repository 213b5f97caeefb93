"""The home folder: creating what is missing (``zvk init``), the senders' folders, the modes.

The home holds personal data (delivered files, the database, protocols): it is the service
user's alone. Folders are 0700, files 0600, archived originals 0400, whatever the umask.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from ingest.logs import ensure_log_key
from ingest.settings import Settings, refuse_file_as_home
from ingest.storing.db import make_engine, migrate

FOLDERS = ("inbox", "outbox", "archive", "spool", "quarantine", "keys", "payments")
PRIVATE_UMASK = 0o077
FOLDER_MODE = 0o700
FILE_MODE = 0o600
ARCHIVE_MODE = 0o400
SQLITE_FILES = ("zvk.sqlite3", "zvk.sqlite3-wal", "zvk.sqlite3-shm", "zvk.sqlite3-journal")
CONFIG_TEMPLATE = """\
# zvk-ingest configuration. Every setting can also be given as ZVK_<SECTION>__<KEY>.
# All settings and their defaults: docs/configuration.md, or `zvk config reference`.
# [db]
# url = "postgresql+psycopg://zvk@127.0.0.1:5432/zvk"
#
# [intake]
# max_file_bytes = 2147483648
# rescan_seconds = 30
# settle_seconds = 2
#
# [sftp]
# enabled = true
# host = "127.0.0.1"
# port = 2222
#
# [reconcile]
# enabled = true
# nightly_time = "02:30"
# deadline = "02-28"
"""


def initialise(settings: Settings) -> list[str]:
    """Create what is missing (folders, configuration, schema, host keys, the logs' pseudonym
    key); say what was done, a line each."""
    made: list[str] = []
    home = settings.home
    refuse_file_as_home(home)
    keep_private()
    if not home.exists():
        made.append(f"created {home}")
    home.mkdir(parents=True, exist_ok=True, mode=FOLDER_MODE)
    for name in FOLDERS:
        folder = home / name
        if not folder.exists():
            folder.mkdir(parents=True, mode=FOLDER_MODE)
            made.append(f"created {name}/")
    config = home / "zvk.toml"
    if not config.exists():
        config.write_text(CONFIG_TEMPLATE, encoding="utf-8")
        made.append("created zvk.toml")
    migrated = migrate(make_engine(settings))
    if migrated is not None:
        made.append(migrated)
    made.extend(f"created {key}" for key in ensure_host_keys(settings.keys))
    made.extend(f"created {key}" for key in ensure_log_key(settings.keys))
    fixed = restrict_home(home)
    if fixed:
        made.append(f"restricted the permissions of {fixed} entries (folders 0700, files 0600)")
    return made


def keep_private() -> None:
    """Files and folders this process creates are its user's alone (umask 077)."""
    os.umask(PRIVATE_UMASK)


def protect(settings: Settings) -> None:
    """What the service makes sure of at every start: the home and the SQLite files private."""
    keep_private()
    _chmod(settings.home, FOLDER_MODE)
    for name in SQLITE_FILES:
        _chmod(settings.home / name, FILE_MODE)


def restrict_home(home: Path) -> int:
    """Give every entry of the home its mode (``zvk init`` on an existing home); the number of
    entries changed. Symbolic links are neither followed nor changed."""
    changed = int(_chmod(home, FOLDER_MODE))
    archive = home / "archive"
    for root, folders, files in os.walk(home):
        here = Path(root)
        for name in folders:
            changed += _chmod(here / name, FOLDER_MODE)
        in_archive = here == archive or archive in here.parents
        for name in files:
            changed += _chmod(here / name, ARCHIVE_MODE if in_archive else FILE_MODE)
    return changed


def _chmod(path: Path, mode: int) -> bool:
    """Set ``mode`` on a file or folder (never through a symbolic link); ``True`` if changed."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return False
    if stat.S_ISLNK(info.st_mode) or stat.S_IMODE(info.st_mode) == mode:
        return False
    if not (stat.S_ISDIR(info.st_mode) or stat.S_ISREG(info.st_mode)):
        return False
    os.chmod(path, mode)
    return True


def ensure_host_keys(folder: Path) -> list[str]:
    """Generate the SFTP server's host keys once; later runs keep them."""
    import paramiko  # imported here: only `init` needs key generation

    made = []
    for name, generate in (
        ("ssh_host_ecdsa_key", lambda: paramiko.ECDSAKey.generate(bits=256)),
        ("ssh_host_rsa_key", lambda: paramiko.RSAKey.generate(bits=3072)),
    ):
        path = folder / name
        if path.exists():
            continue
        folder.mkdir(parents=True, exist_ok=True)
        key = generate()
        key.write_private_key_file(str(path))
        path.chmod(0o600)
        made.append(f"keys/{name}")
    return made


def sender_folders(settings: Settings, sender_number: str) -> None:
    for folder in (
        settings.inbox / sender_number,
        settings.inbox / sender_number / "test",
        settings.outbox / sender_number,
    ):
        folder.mkdir(parents=True, exist_ok=True, mode=FOLDER_MODE)
        _chmod(folder, FOLDER_MODE)
