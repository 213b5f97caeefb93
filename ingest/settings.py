"""One typed settings object, read once from ``<home>/zvk.toml`` and ``ZVK_<SECTION>__<KEY>``.

Environment variables win over the file, the file over the defaults. Nothing else in the package
reads the environment; the settings object is passed down explicitly.
"""

from __future__ import annotations

import os
import re
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    Field,
    ValidationError,
    field_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from ingest.errors import ConfigurationError
from ingest.settings_portal import MailSettings, PortalSettings
from ingest.settings_section import Section
from ingest.settings_sftp import SftpSettings

CONFIG_FILE = "zvk.toml"
_MERKMAL = re.compile(r"[0-9]{2}")
_RATE_YEAR = re.compile(r"[0-9]{4}|default")
DEFAULT_HOME = Path("~/.local/share/zvk")


class DbSettings(Section):
    url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the database; empty means SQLite at <home>/zvk.sqlite3.",
    )
    echo: bool = Field(
        default=False,
        description="Log every SQL statement, without its values (debugging only).",
    )
    random_page_cost: float | None = Field(
        default=1.1,
        gt=0,
        allow_inf_nan=False,
        description="PostgreSQL: the planner's `random_page_cost` inside a delivery's "
        "transaction (`SET LOCAL`); the server's default of 4 assumes spinning disks and makes "
        "the batch lookups scan whole tables. Empty: the server's own setting.",
    )


class IntakeSettings(Section):
    max_file_bytes: int = Field(
        default=2 * 1024**3, ge=1, description="Largest file accepted (ZVDA005 above it)."
    )
    rescan_seconds: float = Field(
        default=30.0,
        gt=0,
        allow_inf_nan=False,
        description="Interval of the inbox rescan that catches missed events.",
    )
    settle_seconds: float = Field(
        default=2.0,
        ge=0,
        allow_inf_nan=False,
        description="A file without close event counts as complete once its size and mtime "
        "have not changed for this long.",
    )
    polling: bool = Field(
        default=False, description="Poll the inbox instead of inotify (network filesystems)."
    )
    parallel_min_bytes: int | None = Field(
        default=16 * 1024**2,
        ge=1,
        description="Files at least this large are read and checked in a second process while "
        "the first checks stored state and writes (two cores); empty: never.",
    )
    ignore_suffixes: list[str] = Field(
        default=[".part", ".filepart", ".tmp", ".partial"],
        description="Names ending like this are transfers in progress and never picked up.",
    )


class ChecksSettings(Section):
    clock_skew_seconds: int = Field(
        default=300,
        ge=0,
        description="Tolerance for `Erstellt` after the time of receipt (ZVVO054).",
    )
    max_years_back: int = Field(
        default=10, ge=0, le=100, description="Oldest `Zeitraum` accepted (ZVVO030)."
    )
    rates: dict[str, dict[str, Decimal]] = Field(
        default={"10": {"default": Decimal("1.60")}, "20": {"default": Decimal("4.86")}},
        description="ZVVA080 rates in percent per Versicherungsmerkmal, by year or `default`.",
    )
    rate_tolerance: Decimal = Field(
        default=Decimal("0.05"),
        ge=0,
        allow_inf_nan=False,
        description="Allowed difference in EUR for ZVVA080.",
    )
    max_findings_per_report: int = Field(
        default=20,
        ge=1,
        description="Findings of one report kept for the protocol; how many more there were is "
        "said in one ZVSY010 finding.",
    )
    max_findings_per_file: int = Field(
        default=20_000,
        ge=1,
        description="Findings of a file's reports kept for the protocol and the ledger; how many "
        "more there were is said in one ZVSY011 finding (the file's own findings are all kept).",
    )

    @field_validator("rates")
    @classmethod
    def _rates_shaped(cls, rates: dict[str, dict[str, Decimal]]) -> dict[str, dict[str, Decimal]]:
        for merkmal, by_year in rates.items():
            if not _MERKMAL.fullmatch(merkmal):
                raise ValueError(f"{merkmal!r}: a Versicherungsmerkmal is two digits 0-9")
            for year, rate in by_year.items():
                if not _RATE_YEAR.fullmatch(year):
                    raise ValueError(f"{merkmal}.{year}: a year YYYY or `default`")
                if not rate.is_finite() or not 0 <= rate <= 100:
                    raise ValueError(f"{merkmal}.{year}: a rate in percent, 0 to 100")
        return rates


class ReconcileSettings(Section):
    """Payments, nightly reconciliation, pension points and evaluations (docs/reconciliation.md)."""

    enabled: bool = Field(
        default=True,
        description="Run the nightly reconciliation and the payments-inbox scan in `zvk serve`.",
    )
    nightly_time: str = Field(
        default="02:30",
        pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$",
        description="Local time (Europe/Berlin) of the nightly run, HH:MM or HH:MM:SS.",
    )
    misfire_grace_seconds: int = Field(
        default=6 * 3600,
        ge=1,
        description="A nightly run that could not start on time still starts within this delay.",
    )
    catch_up: bool = Field(
        default=True,
        description="At start-up, run the last nightly run if it was missed (once, however many "
        "were missed).",
    )
    deadline: str = Field(
        default="02-28",
        pattern=r"^(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$",
        description="MM-DD of the following year by which the Jahresmeldungen of a year are due; "
        "after it, missing ones are findings.",
    )
    due_day: int = Field(
        default=15,
        ge=1,
        le=28,
        description="Day of the following month by which a month's Monatsabrechnung and payment "
        "are due; the month is reconciled after that day.",
    )
    tolerance: Decimal = Field(
        default=Decimal("0.10"),
        ge=0,
        allow_inf_nan=False,
        description="Allowed difference in EUR between payments and Gesamtbetrag, and between "
        "the annual sums.",
    )
    start_month: str | None = Field(
        default=None,
        pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$",
        description="First month reconciled (YYYY-MM); empty: the month of the earliest "
        "committed Monatsabrechnung.",
    )
    payments_inbox: Path = Field(
        default=Path("payments"),
        description="Folder for bank statements (camt.053 or CSV) to import; relative to the home.",
    )
    payments_scan_seconds: float = Field(
        default=60.0,
        gt=0,
        allow_inf_nan=False,
        description="How often `zvk serve` looks into the payments inbox.",
    )
    lock_wait_seconds: float = Field(
        default=600.0,
        ge=0,
        allow_inf_nan=False,
        description="How long a nightly run waits for the lock held by another run.",
    )


class LogSettings(Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", description="Lowest level written to the log."
    )
    json_output: bool = Field(default=True, alias="json", description="JSON lines, else console.")


class Settings(BaseSettings):
    """All settings of one installation."""

    model_config = SettingsConfigDict(
        env_prefix="ZVK_",
        env_nested_delimiter="__",
        extra="forbid",
        populate_by_name=True,
    )

    home: Path = Field(default=DEFAULT_HOME, description="The folder holding all state.")
    db: DbSettings = DbSettings()
    intake: IntakeSettings = IntakeSettings()
    checks: ChecksSettings = ChecksSettings()
    sftp: SftpSettings = SftpSettings()
    log: LogSettings = LogSettings()
    reconcile: ReconcileSettings = ReconcileSettings()
    portal: PortalSettings = PortalSettings()
    mail: MailSettings = MailSettings()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_file = settings_cls.model_config.get("toml_file")
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if toml_file:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml_file))
        return tuple(sources)

    # Paths inside the home -------------------------------------------------------------
    @property
    def inbox(self) -> Path:
        return self.home / "inbox"

    @property
    def outbox(self) -> Path:
        return self.home / "outbox"

    @property
    def archive(self) -> Path:
        return self.home / "archive"

    @property
    def spool(self) -> Path:
        return self.home / "spool"

    @property
    def quarantine(self) -> Path:
        return self.home / "quarantine"

    @property
    def keys(self) -> Path:
        return self.home / "keys"

    @property
    def database_url(self) -> str:
        return self.db.url or f"sqlite:///{self.home / 'zvk.sqlite3'}"


def refuse_file_as_home(home: Path) -> None:
    """A home that exists must be a folder (a clear message instead of an OS error later)."""
    if home.exists() and not home.is_dir():
        raise ConfigurationError(f"home {home} is not a folder")


def resolve_home(home: Path | str | None, environ: dict[str, str] | None = None) -> Path:
    """``--home``, else ``ZVK_HOME``, else the documented default."""
    env = os.environ if environ is None else environ
    chosen = Path(home) if home else Path(env.get("ZVK_HOME") or DEFAULT_HOME)
    return chosen.expanduser().resolve()


def load_settings(home: Path | str | None = None, **overrides: Any) -> Settings:
    """Read the settings of the installation at ``home`` (see :func:`resolve_home`)."""
    root = resolve_home(home)
    toml = root / CONFIG_FILE

    class _HomeSettings(Settings):
        model_config = SettingsConfigDict(toml_file=toml if toml.is_file() else None)

    try:
        loaded = _HomeSettings(home=root, **overrides)
    except ValidationError as exc:
        from ingest.settings_words import in_own_words

        raise ConfigurationError(in_own_words(Settings, exc.errors()[0])) from None
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"{toml}: {exc}") from None
    return Settings.model_validate(loaded.model_dump(by_alias=True))
