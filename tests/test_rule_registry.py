"""The rule registry and the catalogue (rules/codes.toml) name the same codes, each once, and
agree on where each rule runs; docs/codes.md and `zvk rules list` are made from both."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from ingest.cli.main import app
from ingest.validating.codes_doc import reference
from ingest.validating.findings import load_catalogue
from ingest.validating.registry import (
    RULE_MODULES,
    STATELESS_SCOPES,
    Scope,
    registered,
    rule,
    rules_in,
)

ROOT = Path(__file__).resolve().parent.parent


def test_every_catalogued_code_has_a_rule() -> None:
    """Each code of the catalogue is given by a registered rule."""
    assert set(load_catalogue().codes) - set(registered()) == set()


def test_every_registered_code_is_catalogued() -> None:
    """No rule gives a code the catalogue does not define."""
    assert set(registered()) - set(load_catalogue().codes) == set()


def test_a_code_is_registered_once() -> None:
    """A second rule for a code is refused when it is registered."""
    registered()
    with pytest.raises(RuntimeError, match="ZVVA080 is registered twice"):
        rule("ZVVA080", Scope.PERIOD)(lambda: None)


def test_stateless_flag_says_where_the_rule_runs() -> None:
    """The catalogue's `stateless` (what `zvk check` can give) is the rule's."""
    catalogue = load_catalogue().codes
    differ = {
        code: (catalogue[code].stateless, found.stateless)
        for code, found in registered().items()
        if code in catalogue and catalogue[code].stateless != found.stateless
    }
    assert differ == {}


def test_a_code_in_two_parts_has_a_stored_part() -> None:
    """A code whose catalogue entry has `parts` (ZVME096) has a registered stored part, and
    only such a code has one."""
    parts = {code for code, d in load_catalogue().codes.items() if d.parts}
    stored = {code for code, found in registered().items() if found.stored_part is not None}
    assert "ZVME096" in parts
    assert parts == stored


def test_stateless_rules_are_in_stateless_scopes() -> None:
    """A rule of the file, the Vorlauf, a report, an Abschnitt or the Nachlauf runs without a
    database; a rule on stored state does not."""
    for found in registered().values():
        if found.scope in STATELESS_SCOPES:
            assert found.stateless, found.code
        elif found.scope is Scope.STORED:
            assert not found.stateless, found.code


def test_every_rule_says_what_it_checks() -> None:
    """The first line of each rule's docstring says what it checks (docs and `rules list`)."""
    assert [code for code, found in registered().items() if not found.summary] == []


def test_rules_run_in_the_order_of_their_modules() -> None:
    """Rules are listed by module (as in RULE_MODULES), then as they are defined."""
    places = [RULE_MODULES.index(found.check.__module__) for found in registered().values()]
    assert places == sorted(places)
    assert [found.code for found in rules_in(Scope.HEADER)] == [
        "ZVVO020",
        "ZVVO030",
        "ZVVO054",
        "ZVVO055",
    ]


def test_docs_are_generated() -> None:
    """Regenerate with: zvk rules doc > docs/codes.md"""
    assert (ROOT / "docs" / "codes.md").read_text(encoding="utf-8") == reference()


def test_rules_list() -> None:
    """`zvk rules list` prints a line per code: severity, scope, where it runs, the function."""
    result = CliRunner().invoke(app, ["rules", "list"])
    assert result.exit_code == 0, result.output
    rows = {line.split()[0]: line.split() for line in result.output.splitlines()[1:]}
    assert set(rows) == set(load_catalogue().codes)
    assert rows["ZVVA080"] == [
        "ZVVA080",
        "H",
        "period",
        "stateless",
        "ingest.validating.rules_period.amount_at_rate",
    ]
    assert rows["ZVVO062"][1:4] == ["F", "delivery", "stored"]
    assert rows["ZVME096"][3] == "stateless+stored"


def test_rules_doc() -> None:
    """`zvk rules doc` prints docs/codes.md."""
    result = CliRunner().invoke(app, ["rules", "doc"])
    assert result.exit_code == 0, result.output
    assert result.output == reference()
