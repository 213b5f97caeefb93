"""Operators' maintenance commands: workers, re-runs, the quarantine, person search."""

from __future__ import annotations
