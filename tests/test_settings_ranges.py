"""Every number setting is checked when the settings are read: a value out of its range, not
finite, or written with other scripts' digits stops every command with one line naming it."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from ingest.errors import ConfigurationError
from ingest.settings import Settings, load_settings


def _numeric(annotation: Any) -> bool:
    if annotation in (int, float, Decimal):
        return True
    return any(_numeric(a) for a in getattr(annotation, "__args__", ()))


NUMBER_SETTINGS = [
    (section, name, sub.annotation)
    for section, field in Settings.model_fields.items()
    if isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel)
    for name, sub in field.annotation.model_fields.items()
    if _numeric(sub.annotation) and sub.annotation is not bool
]
SCALAR_SETTINGS = [(s, n) for s, n, a in NUMBER_SETTINGS if not str(a).startswith("dict")]


def test_the_number_settings_are_found() -> None:
    assert ("sftp", "port") in SCALAR_SETTINGS and ("intake", "rescan_seconds") in SCALAR_SETTINGS
    assert len(SCALAR_SETTINGS) >= 20


@pytest.mark.parametrize(("section", "name"), SCALAR_SETTINGS)
@pytest.mark.parametrize("value", ["-1", "١", "٢٢٢٢", "inf"])
def test_a_number_setting_out_of_range_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, section: str, name: str, value: str
) -> None:
    monkeypatch.setenv(f"ZVK_{section.upper()}__{name.upper()}", value)
    with pytest.raises(ConfigurationError, match=rf"setting {section}\.{name}"):
        load_settings(tmp_path)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("ZVK_SFTP__PORT", "99999"),
        ("ZVK_SFTP__PORT", "0"),
        ("ZVK_SFTP__PORT", "65536"),
        ("ZVK_SFTP__MAX_CONNECTIONS", "0"),
        ("ZVK_SFTP__LOGIN_GRACE_SECONDS", "0"),
        ("ZVK_SFTP__MAX_PACKET_BYTES", "100"),
        ("ZVK_INTAKE__RESCAN_SECONDS", "nan"),
        ("ZVK_INTAKE__MAX_FILE_BYTES", "0"),
        ("ZVK_RECONCILE__TOLERANCE", "NaN"),
        ("ZVK_CHECKS__RATE_TOLERANCE", "٠.٠٥"),
        ("ZVK_CHECKS__RATES", '{"١٠": {"default": "1.60"}}'),
        ("ZVK_CHECKS__RATES", '{"10": {"٢٠٢٦": "1.60"}}'),
        ("ZVK_CHECKS__RATES", '{"10": {"default": "١.٦٠"}}'),
        ("ZVK_CHECKS__RATES", '{"10": {"default": "-1"}}'),
        ("ZVK_CHECKS__RATES", '{"10": {"jahr": "1.60"}}'),
    ],
)
def test_named_values_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, key: str, value: str
) -> None:
    monkeypatch.setenv(key, value)
    with pytest.raises(ConfigurationError, match="setting "):
        load_settings(tmp_path)


def test_values_in_range_are_taken(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZVK_SFTP__PORT", "65535")
    monkeypatch.setenv("ZVK_CHECKS__RATES", '{"10": {"2026": "1.80", "default": "1.60"}}')
    settings = load_settings(tmp_path)
    assert settings.sftp.port == 65535
    assert settings.checks.rates["10"]["2026"] == Decimal("1.80")


def test_a_file_setting_out_of_range_is_refused(tmp_path: Path) -> None:
    (tmp_path / "zvk.toml").write_text("[sftp]\nport = 99999\n", encoding="utf-8")
    with pytest.raises(ConfigurationError, match=r"setting sftp\.port"):
        load_settings(tmp_path)
