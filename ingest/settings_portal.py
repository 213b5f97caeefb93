"""Settings of the online portal (``[portal]``) and of the mail it sends (``[mail]``)."""

from __future__ import annotations

import ipaddress
from typing import Literal

from pydantic import Field, SecretStr, field_validator

from ingest.settings_section import Section

ROLE_MAILBOXES = [
    "info",
    "personal",
    "personalabteilung",
    "verwaltung",
    "poststelle",
    "kontakt",
    "office",
    "mail",
    "post",
    "zentrale",
    "lohn",
    "buchhaltung",
]


class PortalSettings(Section):
    """The online portal: served by `zvk serve` and `zvk portal`; TLS is a reverse proxy's job."""

    enabled: bool = Field(
        default=True,
        description="`zvk serve` serves the portal too; false: only `zvk portal` serves it.",
    )
    host: str = Field(default="127.0.0.1", description="Address the portal listens on.")
    port: int = Field(default=8080, ge=1, le=65535, description="TCP port of the portal (HTTP).")
    base_url: str = Field(
        default="http://127.0.0.1:8080",
        description="The portal's address as people reach it, for links in e-mails; when it "
        "starts with https, cookies are marked Secure.",
    )
    session_idle_minutes: int = Field(
        default=30, ge=1, description="A session ends after this many minutes without a request."
    )
    otp_valid_days: int = Field(
        default=28, ge=1, description="Days a one-time password (Einmalpasswort) stays valid."
    )
    role_mailboxes: list[str] = Field(
        default=ROLE_MAILBOXES,
        description="Local parts of e-mail addresses refused as logins (shared mailboxes).",
    )
    fund_address: str = Field(
        default="Zusatzversorgungskasse\nPostfach 10 00 00\n12345 Musterstadt",
        description="The fund's postal address printed on the application form (lines "
        "separated by a line break).",
    )

    trusted_proxies: list[str] = Field(
        default=[],
        description="Addresses or networks (CIDR) of reverse proxies whose X-Forwarded-For and "
        "X-Forwarded-Proto are believed; the client address (audit, limits) is then the one "
        "the proxy names. Empty: the connection's own address.",
    )
    confirmation_valid_days: int = Field(
        default=7,
        ge=1,
        description="Days an application's confirmation link can confirm the e-mail address.",
    )
    registrations_per_address: int = Field(
        default=10,
        ge=1,
        description="Applications one client address may file within 24 hours.",
    )
    registrations_per_email: int = Field(
        default=3,
        ge=1,
        description="Applications for one e-mail address within 24 hours.",
    )

    second_factor: Literal["optional", "required"] = Field(
        default="optional",
        description="optional: an account may add an authenticator app (TOTP) with recovery "
        "codes; required: the roles in `second_factor_roles` must set it up before anything else.",
    )
    second_factor_roles: list[
        Literal["kasse", "administrator", "sachbearbeiter", "rechenzentrum"]
    ] = Field(
        default=["kasse", "administrator"],
        description='The roles for which `second_factor = "required"` makes it compulsory.',
    )

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for entry in value:
            ipaddress.ip_network(entry, strict=False)  # ValueError names a wrong entry
        return value

    @field_validator("base_url")
    @classmethod
    def _http(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")


class MailSettings(Section):
    """Outgoing e-mail of the portal; without a host each mail is written as an `.eml` file
    into `<home>/mail/outgoing/`."""

    host: str | None = Field(default=None, description="SMTP server; empty: write .eml files.")
    port: int = Field(default=25, ge=1, le=65535, description="SMTP port.")
    starttls: bool = Field(default=False, description="Switch to TLS with STARTTLS.")
    username: str | None = Field(default=None, description="SMTP login, if the server asks.")
    password: SecretStr | None = Field(default=None, description="SMTP password.")
    sender: str = Field(
        default="portal@zvk.example", description="The From address of the portal's mails."
    )
