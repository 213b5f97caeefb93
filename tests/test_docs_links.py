"""Every document the README and docs/ name (`something.md`, a link to one) is in the repo."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NAMED = re.compile(r"[`(/]([\w./-]+\.md)\b")


def test_named_documents_exist() -> None:
    documents = [ROOT / "README.md", ROOT / "CHANGELOG.md", *sorted((ROOT / "docs").glob("*.md"))]
    known = {p.name for p in ROOT.rglob("*.md") if ".venv" not in p.parts}
    missing = [
        f"{doc.relative_to(ROOT)}: {name}"
        for doc in documents
        for name in NAMED.findall(doc.read_text(encoding="utf-8"))
        if Path(name).name not in known
    ]
    assert missing == []
