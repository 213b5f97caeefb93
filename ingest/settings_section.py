"""The base of every settings section: unknown keys refused, numbers in the digits 0-9 only."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator


class Section(BaseModel):
    """A section of ``zvk.toml`` (``ZVK_<SECTION>__<KEY>``): a key it does not know is a
    mistake, reported like a wrong value, never silently ignored (``[db] urll = …`` would
    otherwise leave the service on SQLite)."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="before")
    @classmethod
    def _ascii_digits(cls, value: Any, info: ValidationInfo) -> Any:
        """A number is written with the digits 0-9 only: Python's ``int`` and ``Decimal`` also
        read other scripts' digits (Arabic-Indic, fullwidth …); a number setting refuses them."""
        field = cls.model_fields.get(info.field_name or "")
        if field is not None and _numeric(field.annotation) and _foreign_digit(value):
            raise ValueError("digits must be 0-9")
        return value


def _numeric(annotation: Any) -> bool:
    if annotation in (int, float, Decimal):
        return True
    return any(_numeric(arg) for arg in getattr(annotation, "__args__", ()))


def _foreign_digit(value: Any) -> bool:
    """Whether a digit other than 0-9 stands anywhere in ``value`` (keys of tables too)."""
    if isinstance(value, str):
        return any(ch.isdigit() and not "0" <= ch <= "9" for ch in value)
    if isinstance(value, dict):
        return any(_foreign_digit(k) or _foreign_digit(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_foreign_digit(v) for v in value)
    return False
