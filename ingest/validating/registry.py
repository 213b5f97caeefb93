"""The rule registry: every finding code has exactly one rule, registered with its code.

A rule is a small function that looks at one thing (the file's frame, the Vorlauf, one report,
one Abschnitt, the Nachlauf, or one report against the fund's stored state) and adds its
findings. It is registered with :func:`rule`, which records the code, the scope and whether the
rule runs without a database (``zvk check`` runs only those). ``rules/codes.toml`` is the
catalogue of codes; ``tests/test_rule_registry.py`` proves that catalogue and registry name the
same codes, each once, and that the catalogue's ``stateless`` flag says where the rule runs.

Codes that the service itself gives (a duplicate file, an internal error, the bound on the
findings of a protocol) are registered the same way, with the function that gives them.

Where the rules of a scope run: FRAME rules at the stage of reading where each can be known
(``rules_frame``); HEADER and TRAILER rules in ``frame_rules``; REPORT and PERIOD rules in
``report_rules`` (per report kind, the period rules per Abschnitt); STORED rules in the pipeline,
after the stateless ones. Each runs its rules in the order of :func:`registered`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


class Scope(StrEnum):
    """What a rule looks at, in the order a file is checked."""

    FRAME = "frame"  # the delivered bytes: size, name, encoding, XML, the schema of the frame
    HEADER = "header"  # the values of the Vorlauf
    REPORT = "report"  # one report by itself
    PERIOD = "period"  # one Abschnitt of a report
    TRAILER = "trailer"  # the Nachlauf against the reports read
    STORED = "stored"  # the Vorlauf or one report against the fund's stored state
    DELIVERY = "delivery"  # the handling of the delivery: duplicates, bounds, internal errors


STATELESS_SCOPES = frozenset({Scope.FRAME, Scope.HEADER, Scope.REPORT, Scope.PERIOD, Scope.TRAILER})


@dataclass(frozen=True, slots=True)
class Rule:
    code: str
    scope: Scope
    check: Callable[..., Any]
    stateless: bool  # runs without a database: `zvk check` gives this finding
    # A code whose published meaning has a second part that needs the stored state (ZVME096:
    # "fails its check digit, or the fund does not know it"): the function of that part.
    stored_part: Callable[..., Any] | None = None
    # The report kinds a REPORT or PERIOD rule applies to (None: every kind).
    kinds: frozenset[str] | None = None
    # A REPORT rule that looks at all Abschnitte together runs after the PERIOD rules.
    after_periods: bool = False
    # A PERIOD rule runs only for the booking keys this says yes to (asked once per key and
    # year, not per Abschnitt); None: for every Abschnitt.
    when: Callable[[Any], bool] | None = None

    @property
    def where(self) -> str:
        """The function that gives the finding, as ``module.name``."""
        return f"{self.check.__module__}.{self.check.__qualname__}"

    @property
    def summary(self) -> str:
        """The first line of the rule's docstring."""
        doc = (self.check.__doc__ or "").strip()
        return doc.splitlines()[0] if doc else ""


_RULES: dict[str, Rule] = {}

# The modules that register rules; importing them fills the registry.
RULE_MODULES: tuple[str, ...] = (
    "ingest.validating.rules_frame",
    "ingest.validating.rules_header",
    "ingest.validating.rules_report",
    "ingest.validating.rules_period",
    "ingest.validating.rules_trailer",
    "ingest.validating.rules_delivery",
    "ingest.validating.findings",
    "ingest.storing.rules_access",
    "ingest.storing.rules_person",
    "ingest.storing.rules_history",
)


def rule(
    code: str,
    scope: Scope,
    *,
    stateless: bool | None = None,
    kinds: frozenset[str] | None = None,
    after_periods: bool = False,
    when: Callable[[Any], bool] | None = None,
) -> Callable[[F], F]:
    """Register the decorated function as the rule that gives ``code``.

    ``stateless`` defaults to whether ``scope`` needs no database. A code registered twice is a
    programming error and raises at import time. One function may be registered for several
    codes when they are the exclusive outcomes of one check (the RVNR gives the first of its
    problems only); it runs once. ``kinds`` limits a report rule to those report kinds;
    ``after_periods`` makes a report rule run after the rules of the Abschnitte; ``when`` limits
    a period rule to the booking keys it says yes to.
    """

    def register(check: F) -> F:
        if code in _RULES:
            raise RuntimeError(f"{code} is registered twice: {_RULES[code].where} and {check}")
        runs_alone = scope in STATELESS_SCOPES if stateless is None else stateless
        _RULES[code] = Rule(
            code=code,
            scope=scope,
            check=check,
            stateless=runs_alone,
            kinds=kinds,
            after_periods=after_periods,
            when=when,
        )
        return check

    return register


def stored_part(code: str) -> Callable[[F], F]:
    """Register the stored-state part of a stateless rule's code (see ``Rule.stored_part``).

    The code's catalogue entry must say that it has two parts (``parts = ["stateless",
    "stored"]``); the registry test holds the two together.
    """

    def register(check: F) -> F:
        _PARTS[code] = check
        return check

    return register


_PARTS: dict[str, Callable[..., Any]] = {}


def _position(found: Rule) -> tuple[int, int]:
    """Where a rule is defined: its module's place in ``RULE_MODULES``, then its line."""
    module = found.check.__module__
    place = RULE_MODULES.index(module) if module in RULE_MODULES else len(RULE_MODULES)
    return place, found.check.__code__.co_firstlineno


def registered() -> dict[str, Rule]:
    """Every registered rule by code, after importing the modules that register them, in the
    order they run: by module (as in ``RULE_MODULES``), then as defined in the module."""
    for module in RULE_MODULES:
        importlib.import_module(module)
    ordered = sorted(_RULES.values(), key=lambda found: (_position(found), found.code))
    return {
        found.code: replace(found, stored_part=_PARTS[found.code])
        if found.code in _PARTS
        else found
        for found in ordered
    }


def rules_in(scope: Scope) -> list[Rule]:
    """The rules of one scope, in the order they run (see :func:`registered`)."""
    return [r for r in registered().values() if r.scope is scope]
