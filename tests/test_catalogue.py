"""The finding-code catalogue (rules/codes.toml) agrees with the code, the tests and the docs."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from ingest.errors import ConfigurationError
from ingest.validating.findings import load_catalogue, parse_catalogue

ROOT = Path(__file__).resolve().parent.parent
CODE = re.compile(r"\bZV[A-Z]{2}\d{3}\b")


def codes_in(folder: Path, exclude: set[Path] | None = None) -> set[str]:
    found: set[str] = set()
    for path in folder.rglob("*.py"):
        if exclude and path in exclude:
            continue
        found |= set(CODE.findall(path.read_text(encoding="utf-8")))
    return found


def test_every_raised_code_is_catalogued() -> None:
    """No code appears in the package that the catalogue does not define."""
    raised = codes_in(ROOT / "ingest")
    assert raised - set(load_catalogue().codes) == set()


def test_every_catalogued_code_is_raised() -> None:
    """Every catalogued code is produced somewhere in the package."""
    raised = codes_in(ROOT / "ingest")
    assert set(load_catalogue().codes) - raised == set()


def test_every_catalogued_code_is_tested() -> None:
    """Every catalogued code is named by at least one test other than this one."""
    tested = codes_in(ROOT / "tests", exclude={Path(__file__).resolve()})
    assert set(load_catalogue().codes) - tested == set()


def test_every_code_is_documented_with_its_message() -> None:
    """docs/codes.md has a section for every code, with the German message of the catalogue."""
    docs = (ROOT / "docs" / "codes.md").read_text(encoding="utf-8")
    for code, definition in load_catalogue().codes.items():
        assert f"### {code}" in docs or f"## {code}" in docs, code
        assert definition.message in docs, code


def test_catalogue_matches_the_published_table() -> None:
    """Every code of the binding published code table is catalogued with its severity and
    scope; codes added since (new checks get new codes) are not in that table."""
    spec = ROOT.parent / "shared" / "spec" / "codes.md"
    if not spec.exists():
        pytest.skip("the shared specification is not beside the repository")
    rows = re.findall(
        r"^\| (ZV[A-Z]{2}\d{3}) \| ([FH]) \| (Datei|Meldung) \|", spec.read_text(), re.M
    )
    published = {code: (sev, scope) for code, sev, scope in rows}
    ours = {c: (d.severity, d.scope) for c, d in load_catalogue().codes.items()}
    assert {code: ours.get(code) for code in published} == published


def test_version_is_named_and_malformed_catalogues_are_refused() -> None:
    """The catalogue has a version; a bad severity or a missing message is refused at load."""
    with (ROOT / "rules" / "codes.toml").open("rb") as fh:
        data = tomllib.load(fh)
    assert load_catalogue().version == data["version"]
    broken = {
        "version": "x",
        "codes": {"ZVDA001": {"severity": "X", "scope": "Datei", "message": "m"}},
    }
    with pytest.raises(ConfigurationError):
        parse_catalogue(broken)
    with pytest.raises(ConfigurationError):
        parse_catalogue({"version": "x", "codes": {"ZVDA001": {"severity": "F", "scope": "Datei"}}})


def test_parts_of_a_code_are_read_and_checked() -> None:
    """`parts` names the two parts of a code (ZVME096); a part of another name, or parts on a
    code `zvk check` cannot give, are refused at load."""
    assert load_catalogue().codes["ZVME096"].parts == ("stateless", "stored")
    assert load_catalogue().codes["ZVME088"].parts == ()

    def entry(**extra: object) -> dict[str, object]:
        fields = {"severity": "F", "scope": "Meldung", "message": "m", "stateless": True}
        return {"version": "x", "codes": {"ZVME096": {**fields, **extra}}}

    assert parse_catalogue(entry(parts=["stateless", "stored"])).codes["ZVME096"].parts == (
        "stateless",
        "stored",
    )
    with pytest.raises(ConfigurationError, match="bad parts"):
        parse_catalogue(entry(parts=["stateless", "database"]))
    with pytest.raises(ConfigurationError, match="not stateless"):
        parse_catalogue(entry(parts=["stateless", "stored"], stateless=False))
