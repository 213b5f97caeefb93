"""Findings and the finding-code catalogue (``rules/codes.toml``).

A finding is data: a bad report becomes a finding in the protocol, never an exception.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from typing import Literal

from ingest.errors import ConfigurationError
from ingest.resources import rules_path

Severity = Literal["F", "H"]
Scope = Literal["Datei", "Meldung"]
_CODE = re.compile(r"ZV[A-Z]{2}\d{3}")
_GERMAN_DIGITS = str.maketrans({",": ".", ".": ","})


def money(amount: Decimal) -> str:
    """An amount as German money for a finding's text: ``1.234,56 EUR``, ``-0,05 EUR``.

    Every amount in a text for people is written this way; the file's own notation
    (``1234.56``) appears only where a finding quotes what the file says."""
    cents = amount.quantize(Decimal("0.01"), ROUND_HALF_UP)
    text = f"{abs(cents):,.2f}".translate(_GERMAN_DIGITS)
    return f"{'-' if cents < 0 else ''}{text} EUR"


def percent(rate: Decimal) -> str:
    """A rate in percent in German notation: ``1,60 %``."""
    return f"{rate:.2f}".replace(".", ",") + " %"


@dataclass(frozen=True, slots=True)
class CodeDefinition:
    code: str
    severity: Severity
    scope: Scope
    stateless: bool
    title: str
    message: str


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem (F) or hint (H) about a file or one of its reports."""

    code: str
    severity: Severity
    scope: Scope
    message: str
    satz: int | None = None
    meldungs_id: str | None = None
    field: str | None = None
    line: int | None = None
    column: int | None = None

    @property
    def rejects(self) -> bool:
        return self.severity == "F"

    @property
    def file_level(self) -> bool:
        return self.scope == "Datei"


@dataclass(frozen=True, slots=True)
class Catalogue:
    """The finding codes with severity, scope and German message, in one versioned set."""

    version: str
    codes: dict[str, CodeDefinition]

    def finding(
        self,
        code: str,
        detail: str | None = None,
        *,
        satz: int | None = None,
        meldungs_id: str | None = None,
        field: str | None = None,
        line: int | None = None,
        column: int | None = None,
    ) -> Finding:
        definition = self.codes.get(code)
        if definition is None:
            raise ConfigurationError(f"finding code {code} is not in the catalogue")
        message = definition.message
        if detail:
            message = f"{message.rstrip('.')}: {detail.rstrip('.')}."
        return Finding(
            code=code,
            severity=definition.severity,
            scope=definition.scope,
            message=message,
            satz=satz,
            meldungs_id=meldungs_id,
            field=field,
            line=line,
            column=column,
        )


def parse_catalogue(data: dict[str, object]) -> Catalogue:
    """Build and check a catalogue from the parsed TOML; refuse anything malformed."""
    version = data.get("version")
    raw_codes = data.get("codes")
    if not isinstance(version, str) or not isinstance(raw_codes, dict) or not raw_codes:
        raise ConfigurationError("rules/codes.toml needs `version` and a [codes] table")
    codes: dict[str, CodeDefinition] = {}
    for code, entry in raw_codes.items():
        if not _CODE.fullmatch(code):
            raise ConfigurationError(f"rules/codes.toml: {code!r} is not a finding code")
        if not isinstance(entry, dict):
            raise ConfigurationError(f"rules/codes.toml: {code} is not a table")
        severity, scope = entry.get("severity"), entry.get("scope")
        if severity not in ("F", "H") or scope not in ("Datei", "Meldung"):
            raise ConfigurationError(f"rules/codes.toml: {code} has a bad severity or scope")
        message, title = entry.get("message"), entry.get("title", "")
        if not isinstance(message, str) or not message.strip():
            raise ConfigurationError(f"rules/codes.toml: {code} has no message")
        codes[code] = CodeDefinition(
            code=code,
            severity=severity,
            scope=scope,
            stateless=bool(entry.get("stateless", False)),
            title=str(title),
            message=message.strip(),
        )
    return Catalogue(version=version, codes=codes)


@cache
def load_catalogue() -> Catalogue:
    """The shipped catalogue, loaded and checked once."""
    with rules_path("codes.toml").open("rb") as fh:
        return parse_catalogue(tomllib.load(fh))
