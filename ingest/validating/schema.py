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
from ingest.validating.schema_messages import explain

FILE_SCHEMA = "meldedatei-1.xsd"
ELEMENT_SCHEMA = "meldung-1.xsd"
PROTOCOL_SCHEMA = "protokoll-1.xsd"
_NS_NOISE = re.compile(r"\{urn:zvk-ingest:[a-z]+:1\}")
_STEP = re.compile(r"/([^/\[]+)(?:\[(\d+)\])?")
REPEATED = frozenset({"Abschnitt"})
_XS = "http://www.w3.org/2001/XMLSchema"


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
        field, node = _walk(element, entry.path)
        # in German, naming the field that is wrong (for a missing one: that one)
        explained = explain(_NS_NOISE.sub("", entry.message), field, node)
        errors.append(
            SchemaError(
                message=explained.text,
                line=entry.line or None,
                column=entry.column or None,
                field=explained.field,
            )
        )
        if len(errors) >= limit:
            break
    return errors


@cache
def declared_names() -> frozenset[str]:
    """Every element name the report file's schema declares."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    names: set[str] = set()
    for name in (FILE_SCHEMA, ELEMENT_SCHEMA):
        tree = etree.parse(str(schema_path(name)), parser)
        names.update(str(e.get("name")) for e in tree.iter(f"{{{_XS}}}element") if e.get("name"))
    return frozenset(names)


def field_path(element: etree._Element, path: str | None) -> str | None:
    """The error's element below ``element`` as a field path such as ``Abschnitt[2]/Betrag``.

    libxml2 reports positions like ``/*/*[4]/*[2]`` (the first step is ``element`` itself);
    the path is walked on the element to name each step.
    """
    return _walk(element, path)[0]


def _walk(element: etree._Element, path: str | None) -> tuple[str | None, etree._Element | None]:
    """:func:`field_path`, and the element it names."""
    if not path:
        return None, None
    steps = _STEP.findall(path)[1:]
    names: list[str] = []
    node = element
    for _name, index in steps:
        children = [c for c in node if isinstance(c.tag, str)]
        position = int(index) if index else 1
        if position > len(children):
            break
        node = children[position - 1]
        local = etree.QName(node).localname
        if local in REPEATED:
            same = [c for c in children[:position] if etree.QName(c).localname == local]
            local = f"{local}[{len(same)}]"
        names.append(local)
    return "/".join(names) or None, node
