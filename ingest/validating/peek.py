"""Reading just the `Absender` of a file, for ``zvk ingest`` without ``--sender``."""

from __future__ import annotations

from pathlib import Path

from ingest.validating.identifiers import sender_number_shaped
from ingest.validating.reader import HEADER, NS, Reader
from ingest.validating.rules_frame import sniff


def peek_sender(path: Path) -> str | None:
    """The Absender from the header, or ``None`` when the file does not get that far."""
    if sniff(path) is not None:
        return None
    with path.open("rb") as stream:
        for item in Reader(stream).items():
            if item.element.tag != HEADER:
                return None
            value = item.element.findtext(f"{{{NS}}}Absender")
            text = (value or "").strip()
            return text if sender_number_shaped(text) else None
    return None
