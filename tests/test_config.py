"""Settings: the documented reference stays current, `zvk config show` tells what is in effect."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

from zvk_inprocess import zvk_in

from ingest.cli.config import entries, reference
from ingest.home import CONFIG_TEMPLATE
from ingest.settings import Settings, load_settings

ROOT = Path(__file__).resolve().parents[1]


def test_docs_configuration_is_the_generated_reference() -> None:
    """Regenerate with: zvk config reference > docs/configuration.md"""
    assert (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8") == reference()


def test_every_setting_is_described() -> None:
    undocumented = [f"{e.section}.{e.key}" for e in entries() if not e.description]
    assert undocumented == []


def test_example_configuration_and_home_template_are_valid(tmp_path: Path) -> None:
    """config/zvk.example.toml loads; every key in it is a real setting."""
    example = tomllib.loads((ROOT / "config" / "zvk.example.toml").read_text(encoding="utf-8"))
    known = {(e.section, e.key) for e in entries()}
    for section, values in example.items():
        for key in values:
            assert (section, key) in known, f"{section}.{key}"
    (tmp_path / "zvk.toml").write_text(
        (ROOT / "config" / "zvk.example.toml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    assert load_settings(tmp_path).sftp.port == example["sftp"]["port"]
    assert tomllib.loads(CONFIG_TEMPLATE) == {}  # the template is all comments
    uncommented = tomllib.loads(
        "\n".join(line.removeprefix("# ") for line in CONFIG_TEMPLATE.splitlines()[2:])
    )
    for section, values in uncommented.items():
        for key in values:
            assert (section, key) in known, f"{section}.{key}"


def test_config_show_masks_the_password_and_follows_the_environment(tmp_path: Path) -> None:
    (tmp_path / "zvk.toml").write_text(
        '[db]\nurl = "postgresql+psycopg://zvk:geheim@db.example:5432/zvk"\n', encoding="utf-8"
    )
    done = zvk_in(tmp_path, "config", "show", env={"ZVK_SFTP__PORT": "2022"})
    assert done.returncode == 0, done.stderr
    shown = json.loads(done.stdout)
    assert "geheim" not in done.stdout
    assert shown["db"]["url"] == "postgresql+psycopg://zvk:***@db.example:5432/zvk"
    assert shown["sftp"]["port"] == 2022
    assert set(shown) == set(Settings.model_fields)


def test_an_unknown_key_in_a_section_stops_the_command(tmp_path: Path) -> None:
    """A misspelt key in the file or the environment is a configuration mistake (exit 2 with
    the key named), not a setting that is silently left at its default."""
    for toml, env in (
        ('[db]\nurll = "postgresql+psycopg://zvk@db.example/zvk"\n', {}),
        ("", {"ZVK_SFTP__PROT": "2022"}),
        ("[log]\njson_output = false\n", {}),
    ):
        (tmp_path / "zvk.toml").write_text(toml, encoding="utf-8")
        done = zvk_in(tmp_path, "config", "show", env=env)
        assert done.returncode == 2, (toml, env, done.stdout)
        key = "db.urll" if "urll" in toml else "sftp.prot" if env else "log.json_output"
        assert f"setting {key}:" in done.stderr and "Traceback" not in done.stderr
