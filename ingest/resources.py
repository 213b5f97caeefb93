"""Where the data that ships with the package lives: schemas, rules, default configuration.

In a wheel they lie inside the package (``ingest/_data``); in a source checkout they are the
top-level folders ``schemas/``, ``rules/`` and ``config/``.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def data_dir(name: str) -> Path:
    """Return the folder of shipped data called ``name`` (``schemas``, ``rules`` or ``config``)."""
    installed = _PACKAGE / "_data" / name
    if installed.is_dir():
        return installed
    checkout = _PACKAGE.parent / name
    if checkout.is_dir():
        return checkout
    raise FileNotFoundError(f"shipped data folder {name!r} not found")


def schema_path(filename: str) -> Path:
    return data_dir("schemas") / filename


def rules_path(filename: str) -> Path:
    return data_dir("rules") / filename
