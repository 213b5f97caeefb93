"""The published XML schema, compiled once and applied one element at a time.

``meldung-1.xsd`` includes the published ``meldedatei-1.xsd`` and declares the header, trailer and
report types as global elements, so that each top-level element of a streamed file can be
validated on its own, with libxml2's validator.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from lxml import etree

from ingest.resources import schema_path

FILE_SCHEMA = "meldedatei-1.xsd"
ELEMENT_SCHEMA = "meldung-1.xsd"
PROTOCOL_SCHEMA = "protokoll-1.xsd"
_NS_NOISE = re.compile(r"\{urn:zvk-ingest:[a-z]+:1\}")
_PATH_STEP = re.compile(r"/?(?:[A-Za-z]+:)?([A-Za-z]+)(\[\d+\])?")


@dataclass(frozen=True, slots=True)
class SchemaError:
    message: str
    line: int | None
    column: int | None
    field: str | None


@cache
def compiled(name: str) -> etree.XMLSchema:
    """A shipped schema, compiled once per process (no network, no entities)."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    return etree.XMLSchema(etree.parse(str(schema_path(name)), parser))


def validate_element(element: etree._Element, limit: int = 5) -> list[SchemaError]:
    """Schema errors of one top-level element (header, report or trailer)."""
    schema = compiled(ELEMENT_SCHEMA)
    if schema.validate(element):
        return []
    errors: list[SchemaError] = []
    for entry in schema.error_log:
        errors.append(
            SchemaError(
                message=_NS_NOISE.sub("", entry.message),
                line=entry.line or None,
                column=entry.column or None,
                field=_field(entry.path),
            )
        )
        if len(errors) >= limit:
            break
    return errors


def _field(path: str | None) -> str | None:
    """``/ns:Anmeldung/ns:Person/ns:RVNR`` → ``Person/RVNR`` (the element's own name dropped)."""
    if not path:
        return None
    steps = [m.group(1) + (m.group(2) or "") for m in _PATH_STEP.finditer(path)]
    inner = steps[1:]
    return "/".join(inner) if inner else None
