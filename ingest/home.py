"""Creating the home folder and opening an installation."""

from __future__ import annotations

from pathlib import Path

from ingest.logs import ensure_log_key
from ingest.settings import Settings, refuse_file_as_home
from ingest.storing.db import make_engine, migrate

FOLDERS = ("inbox", "outbox", "archive", "spool", "quarantine", "keys")
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
    if not home.exists():
        made.append(f"created {home}")
    home.mkdir(parents=True, exist_ok=True)
    for name in FOLDERS:
        folder = home / name
        if not folder.exists():
            folder.mkdir(parents=True)
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
    return made


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
        folder.mkdir(parents=True, exist_ok=True)
