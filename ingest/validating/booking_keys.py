"""The booking-key catalogue (``rules/buchungsschluessel.toml``)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from functools import cache

from ingest.errors import ConfigurationError
from ingest.resources import rules_path

NO_PAY_TAX_CODE = "00"


@dataclass(frozen=True, slots=True)
class Merkmal:
    code: str
    name: str
    with_pay: bool
    earns_points: bool
    needs_children: bool


@dataclass(frozen=True, slots=True)
class BookingKeys:
    payers: frozenset[str]
    merkmale: dict[str, Merkmal]
    tax_codes: frozenset[str]
    # answers of `problem`, by key: a file uses a handful of keys, a million times over
    _answers: dict[str, str | None] = field(default_factory=dict, compare=False, repr=False)

    def problem(self, key: str) -> str | None:
        """Why a 6-digit booking key is not allowed, or ``None``."""
        try:
            return self._answers[key]
        except KeyError:
            answer = self._answers[key] = self._problem(key)
            return answer

    def _problem(self, key: str) -> str | None:
        payer, merkmal, tax = key[:2], key[2:4], key[4:6]
        if payer not in self.payers:
            return f"Einzahler {payer} unbekannt"
        if merkmal not in self.merkmale:
            return f"Versicherungsmerkmal {merkmal} unbekannt"
        if tax not in self.tax_codes:
            return f"Versteuerungsmerkmal {tax} unbekannt"
        with_pay = self.merkmale[merkmal].with_pay
        if with_pay and tax == NO_PAY_TAX_CODE:
            return f"Versicherungsmerkmal {merkmal} verlangt ein Versteuerungsmerkmal mit Entgelt"
        if not with_pay and tax != NO_PAY_TAX_CODE:
            return (
                f"Versicherungsmerkmal {merkmal} ohne Entgelt erlaubt nur Versteuerungsmerkmal 00"
            )
        return None


@cache
def load_booking_keys() -> BookingKeys:
    with rules_path("buchungsschluessel.toml").open("rb") as fh:
        data = tomllib.load(fh)
    try:
        merkmale = {
            code: Merkmal(
                code=code,
                name=str(entry["name"]),
                with_pay=bool(entry["mit_entgelt"]),
                earns_points=bool(entry.get("versorgungspunkte", False)),
                needs_children=bool(entry.get("kinderzahl", False)),
            )
            for code, entry in data["versicherungsmerkmal"].items()
        }
        return BookingKeys(
            payers=frozenset(data["einzahler"]),
            merkmale=merkmale,
            tax_codes=frozenset(data["versteuerungsmerkmal"]),
        )
    except (KeyError, TypeError) as exc:
        raise ConfigurationError(f"rules/buchungsschluessel.toml: {exc}") from None
