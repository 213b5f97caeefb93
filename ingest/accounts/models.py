"""The portal's tables, in the same metadata as the fund's registry (one migration history).

No column holds a password or a one-time password in clear: only Argon2id hashes, and for
random tokens (links, cookies, recovery codes) their SHA-256.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime

from sqlalchemy import BigInteger, Boolean, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ingest.storing.models import Base


class Role(enum.StrEnum):
    """Who an account is; each role reaches its own pages only."""

    KASSE = "kasse"
    ADMINISTRATOR = "administrator"
    SACHBEARBEITER = "sachbearbeiter"
    RECHENZENTRUM = "rechenzentrum"

    @property
    def label(self) -> str:
        return _ROLE_LABELS[self]


_ROLE_LABELS = {
    Role.KASSE: "Kasse",
    Role.ADMINISTRATOR: "Administrator",
    Role.SACHBEARBEITER: "Sachbearbeiter",
    Role.RECHENZENTRUM: "Rechenzentrum",
}


class ApplicationKind(enum.StrEnum):
    ADMINISTRATOR = "administrator"
    RECHENZENTRUM = "rechenzentrum"


class ApplicationState(enum.StrEnum):
    """Where an application stands (``zvk applications list --state``)."""

    UNCONFIRMED = "unbestaetigt"
    WAITING = "wartet"
    APPROVED = "genehmigt"
    REJECTED = "abgelehnt"

    @property
    def label(self) -> str:
        return _STATE_LABELS[self]


_STATE_LABELS = {
    ApplicationState.UNCONFIRMED: "E-Mail-Adresse noch nicht bestätigt",
    ApplicationState.WAITING: "wartet auf das unterschriebene Antragsformular",
    ApplicationState.APPROVED: "genehmigt",
    ApplicationState.REJECTED: "abgelehnt",
}


def utc(moment: datetime) -> datetime:
    """A stored moment as an aware UTC datetime (SQLite hands them back naive)."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


class Account(Base):
    __tablename__ = "accounts"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    phone: Mapped[str] = mapped_column(String(50), default="")
    role: Mapped[str] = mapped_column(String(20))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    sender_id: Mapped[int | None] = mapped_column(ForeignKey("senders.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    password_hash: Mapped[str | None] = mapped_column(String(200))
    otp_hash: Mapped[str | None] = mapped_column(String(200))
    otp_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    must_set_password: Mapped[bool] = mapped_column(Boolean, default=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    first_failure_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # The authenticator app's shared secret (RFC 6238 needs it to compute codes) and the time
    # step of the last code accepted, so that no code works twice.
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}"


class AccountOffice(Base):
    """A billing office an administrator or a clerk holds."""

    __tablename__ = "account_offices"
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), primary_key=True)
    billing_office_id: Mapped[int] = mapped_column(
        ForeignKey("billing_offices.id"), primary_key=True
    )


class Application(Base):
    __tablename__ = "applications"
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    state: Mapped[str] = mapped_column(String(20))
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    email: Mapped[str] = mapped_column(String(254))
    phone: Mapped[str] = mapped_column(String(50))
    member_number: Mapped[str | None] = mapped_column(String(6))
    offices: Mapped[str] = mapped_column(String(400), default="")
    center_name: Mapped[str | None] = mapped_column(String(200))
    betriebsnummer: Mapped[str | None] = mapped_column(String(8))
    confirm_token: Mapped[str] = mapped_column(String(64), unique=True)
    form_token: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reason: Mapped[str | None] = mapped_column(Text)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))


class RecoveryCode(Base):
    """A recovery code of the second factor (its SHA-256); burnt when used."""

    __tablename__ = "recovery_codes"
    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(200))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class PortalSession(Base):
    """A signed-in browser; the cookie carries the token, the row its SHA-256."""

    __tablename__ = "portal_sessions"
    token: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # False between the password and the second factor's code: only the code page is reachable.
    verified: Mapped[bool] = mapped_column(Boolean, default=True)
    # The authenticator app's secret offered on the setup page, until a code confirms it.
    pending_totp_secret: Mapped[str | None] = mapped_column(String(64))
    # What the page a form redirects to shows once (see ``ingest.portal.flash``); a one-time
    # password only sealed, its key in the browser.
    flash: Mapped[str | None] = mapped_column(Text)


class PortalKey(Base):
    """A random key of the portal's own (e.g. for signing the anonymous forms' tokens), shared
    by every portal process on the database."""

    __tablename__ = "portal_keys"
    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[str] = mapped_column(String(128))


class AuditEntry(Base):
    """One event: a login, a failure, a lock, an account change, a decision."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_client_at", "client", "at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    action: Mapped[str] = mapped_column(String(40))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    actor: Mapped[str] = mapped_column(String(254))
    subject_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"), index=True)
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    client: Mapped[str] = mapped_column(String(64))
    details: Mapped[str] = mapped_column(Text, default="")
