"""A settings mistake in the project's own words: the setting's name, what it allows (its whole
range for a number), never the validation library's phrasing."""

from __future__ import annotations

from typing import Any

import annotated_types
from pydantic import BaseModel
from pydantic_core import ErrorDetails

_RANGE_ERRORS = ("greater_than", "greater_than_equal", "less_than", "less_than_equal")
_WHOLE = ("int_parsing", "int_type", "int_from_float", "int_parsing_size")
_NUMBER = ("float_parsing", "float_type", "decimal_parsing", "decimal_type", "finite_number")


def _field(model: type[BaseModel], loc: tuple[int | str, ...]) -> Any:
    """The field that ``loc`` names, or None when it names no declared field."""
    field: Any = None
    owner: Any = model
    for part in loc:
        fields = getattr(owner, "model_fields", {})
        field = fields.get(str(part))
        if field is None:
            return None
        owner = field.annotation
    return field


def _allowed(field: Any) -> str:
    """The field's range as an operator reads it: ``1 to 65535``, ``at least 1``."""
    low = high = ""
    for item in getattr(field, "metadata", ()):
        if isinstance(item, annotated_types.Ge):
            low = f"{item.ge}"
        elif isinstance(item, annotated_types.Gt):
            low = f"more than {item.gt}"
        elif isinstance(item, annotated_types.Le):
            high = f"{item.le}"
        elif isinstance(item, annotated_types.Lt):
            high = f"less than {item.lt}"
    if low and high:
        return f"{low} to {high}" if not low.startswith("more") else f"{low} and at most {high}"
    if low:
        return low if low.startswith("more") else f"at least {low}"
    return high if high.startswith("less") else f"at most {high}"


def in_own_words(model: type[BaseModel], error: ErrorDetails) -> str:
    """One line: ``setting sftp.port: 99999 is out of range; allowed: 1 to 65535``."""
    loc = tuple(error["loc"])
    where = ".".join(str(p) for p in loc)
    kind = error["type"]
    if kind == "extra_forbidden":
        return f"setting {where}: there is no such setting (docs/configuration.md lists them)"
    if kind in _RANGE_ERRORS:
        field = _field(model, loc)
        allowed = _allowed(field) if field is not None else ""
        value = error.get("input")
        return f"setting {where}: {value} is out of range; allowed: {allowed or 'see the docs'}"
    if kind in _WHOLE:
        return f"setting {where}: must be a whole number written with the digits 0-9"
    if kind in _NUMBER:
        return f"setting {where}: must be a finite number written with the digits 0-9"
    if kind == "bool_parsing" or kind == "bool_type":
        return f"setting {where}: must be true or false"
    if kind == "literal_error":
        return f"setting {where}: must be one of {error.get('ctx', {}).get('expected', '')}"
    if kind == "missing":
        return f"setting {where}: must be given"
    message = error["msg"].removeprefix("Value error, ").removeprefix("Assertion failed, ")
    return f"setting {where}: {message}"
