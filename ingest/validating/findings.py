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
from ingest.validating.registry import Scope as RuleScope
from ingest.validating.registry import rule

Severity = Literal["F", "H"]
Scope = Literal["Datei", "Meldung"]
_CODE = re.compile(r"ZV[A-Z]{2}\d{3}")
_PARTS = frozenset({"stateless", "stored"})
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
    # ("stateless", "stored") for a code with a part in the file and a part on stored state
    parts: tuple[str, ...] = ()
    checks: str = ""  # what the check looks at, for the documentation
    example: str = ""  # an example that gives the finding (Markdown)


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


class Findings:
    """The one way findings are made: bound to where they are found, collected in order.

    Made for a report (its Satz, MeldungsId and line are filled in), for the Vorlauf (``prefix``
    ``"Vorlauf"`` is put before every field) or for the file; :meth:`add` makes a finding from the
    catalogue and appends it to :attr:`items`.
    """

    __slots__ = ("catalogue", "items", "line", "meldungs_id", "prefix", "satz")

    def __init__(
        self,
        catalogue: Catalogue,
        satz: int | None = None,
        meldungs_id: str | None = None,
        line: int | None = None,
        *,
        prefix: str | None = None,
    ) -> None:
        self.catalogue = catalogue
        self.satz = satz
        self.meldungs_id = meldungs_id
        self.line = line
        self.prefix = prefix
        self.items: list[Finding] = []

    def add(
        self,
        code: str,
        detail: str | None = None,
        field: str | None = None,
        *,
        line: int | None = None,
        column: int | None = None,
    ) -> None:
        """Add the finding ``code`` with an optional detail, at ``field`` (and a line/column)."""
        if field and self.prefix is not None:
            field = f"{self.prefix}/{field}"
        self.items.append(
            self.catalogue.finding(
                code,
                detail,
                satz=self.satz,
                meldungs_id=self.meldungs_id,
                field=field,
                line=self.line if line is None else line,
                column=column,
            )
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
        checks, example = entry.get("checks", ""), entry.get("example", "")
        if not isinstance(checks, str) or not isinstance(example, str):
            raise ConfigurationError(f"rules/codes.toml: {code} has a bad checks or example")
        parts = entry.get("parts", [])
        if not isinstance(parts, list) or not set(parts) <= _PARTS or len(set(parts)) != len(parts):
            raise ConfigurationError(f"rules/codes.toml: {code} has bad parts {parts!r}")
        if parts and not entry.get("stateless", False):
            raise ConfigurationError(f"rules/codes.toml: {code} has parts but is not stateless")
        codes[code] = CodeDefinition(
            code=code,
            severity=severity,
            scope=scope,
            stateless=bool(entry.get("stateless", False)),
            title=str(title),
            message=message.strip(),
            parts=tuple(parts),
            checks=checks.strip(),
            example=example.strip(),
        )
    return Catalogue(version=version, codes=codes)


@cache
def load_catalogue() -> Catalogue:
    """The shipped catalogue, loaded and checked once."""
    with rules_path("codes.toml").open("rb") as fh:
        return parse_catalogue(tomllib.load(fh))


@dataclass(slots=True)
class Kept:
    """The findings of one file as the protocol and the ledger keep them, in file order.

    The file's own findings (scope Datei) are all kept. Of each report's findings at most
    ``per_report`` are kept, and one ZVSY010 says how many more it had; of all reports' findings
    at most ``per_file``, and one ZVSY011 at the end says how many more there were. Whether a
    report is accepted is decided on all its findings before they come here, so the counts of
    the protocol stay exact; only the list is bounded.
    """

    catalogue: Catalogue
    per_report: int
    per_file: int
    findings: list[Finding]
    _report_level: int = 0  # report findings (and ZVSY010) kept so far
    _left_out: int = 0  # report findings beyond the file's bound

    def file(self, findings: list[Finding]) -> None:
        """Findings about the file as a whole (or of a schema-invalid header or trailer)."""
        self.findings.extend(findings)

    @rule("ZVSY010", RuleScope.DELIVERY, stateless=True)
    def report(self, findings: list[Finding]) -> None:
        """A report's findings are kept up to the bounds; one ZVSY010 counts the rest."""
        if not findings:
            return
        own = [f for f in findings if not f.file_level]
        if len(own) < len(findings):
            self.findings.extend(f for f in findings if f.file_level)
        room = self.per_file - self._report_level
        take = min(len(own), self.per_report, max(room, 0))
        self.findings.extend(own[:take])
        self._report_level += take
        rest = len(own) - take
        if not rest:
            return
        if take == self.per_report and room > take:
            first = own[0]
            out = Findings(self.catalogue, satz=first.satz, meldungs_id=first.meldungs_id)
            out.add("ZVSY010", f"{rest} weitere Befunde ausgelassen")
            self.findings.extend(out.items)
            self._report_level += 1
        else:
            self._left_out += rest

    @rule("ZVSY011", RuleScope.DELIVERY, stateless=True)
    def close(self) -> None:
        """The reports' findings are kept up to the file's bound; one ZVSY011 counts the rest."""
        if self._left_out:
            out = Findings(self.catalogue)
            out.add(
                "ZVSY011",
                f"{self._left_out} weitere Befunde ausgelassen (höchstens {self.per_file} "
                "Befunde zu Meldungen je Datei)",
            )
            self.findings.extend(out.items)
            self._left_out = 0
