"""Senders' SFTP credentials and the acknowledgements of their protocols.

A sender logs in with one of its public keys or, optionally, a password. Only the public half of a
key and an argon2 hash of a password are stored; neither the password nor a private key ever
reaches the database or the log. Deleting a protocol from ``/outbox`` is the sender's
acknowledgement; it is recorded here, so the fund can see who fetched what and when.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import DateTime, ForeignKey, String, Text, UniqueConstraint, delete, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from ingest.errors import UsageError
from ingest.storing.models import Base, Delivery, DeliveryState, Sender

KEY_TYPES = (
    "ssh-ed25519",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "ssh-rsa",
)
_DELIVERY_ID = re.compile(r"\.([0-9]{8}-[0-9]{6}-[0-9A-F]{6})\.protokoll\.(?:xml|txt)$")
_hasher = PasswordHasher()


class SenderKey(Base):
    """A public key a sender may log in with (any number per sender)."""

    __tablename__ = "sender_keys"
    __table_args__ = (UniqueConstraint("sender_id", "fingerprint"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    sender_id: Mapped[int] = mapped_column(ForeignKey("senders.id"), index=True)
    key_type: Mapped[str] = mapped_column(String(40))
    key_data: Mapped[str] = mapped_column(Text)  # base64 of the public key blob
    fingerprint: Mapped[str] = mapped_column(String(60))  # "SHA256:…" as OpenSSH prints it
    comment: Mapped[str | None] = mapped_column(String(200))
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class SenderPassword(Base):
    """The argon2 hash of a sender's SFTP password (at most one per sender)."""

    __tablename__ = "sender_passwords"
    sender_id: Mapped[int] = mapped_column(ForeignKey("senders.id"), primary_key=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    set_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class OutboxAcknowledgement(Base):
    """A sender deleted a protocol from its ``/outbox``: it has fetched the answer."""

    __tablename__ = "outbox_acknowledgements"
    id: Mapped[int] = mapped_column(primary_key=True)
    sender_number: Mapped[str] = mapped_column(String(8), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    delivery_id: Mapped[str | None] = mapped_column(String(40), index=True)
    acknowledged_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


@dataclass(frozen=True, slots=True)
class PublicKey:
    """One line of an OpenSSH ``.pub`` or ``authorized_keys`` file."""

    key_type: str
    data: str
    comment: str | None

    @property
    def fingerprint(self) -> str:
        """The SHA-256 fingerprint exactly as ``ssh-keygen -l`` prints it."""
        digest = hashlib.sha256(base64.b64decode(self.data)).digest()
        return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")

    @classmethod
    def parse(cls, line: str) -> PublicKey:
        parts = line.strip().split(None, 2)
        if len(parts) < 2 or parts[0] not in KEY_TYPES:
            raise UsageError("not an OpenSSH public key (expected e.g. 'ssh-ed25519 AAAA… name')")
        try:
            blob = base64.b64decode(parts[1], validate=True)
        except (binascii.Error, ValueError):
            raise UsageError("the public key's base64 part is damaged") from None
        # The blob starts with its own type name; a mismatch means a mangled line.
        if blob[4 : 4 + len(parts[0])] != parts[0].encode():
            raise UsageError("the public key's type and data do not match")
        return cls(parts[0], parts[1], parts[2].strip() if len(parts) > 2 else None)


def read_public_keys(path: Path) -> list[PublicKey]:
    """Every key in a ``.pub`` or ``authorized_keys`` file (blank lines and comments skipped)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    keys = [PublicKey.parse(line) for line in lines if line.strip() and not line.startswith("#")]
    if not keys:
        raise UsageError(f"{path}: no public key in the file")
    return keys


def _sender(session: Session, number: str) -> Sender:
    sender = session.scalar(select(Sender).where(Sender.number == number))
    if sender is None:
        raise UsageError(f"sender {number} is not registered (zvk senders add)")
    return sender


def add_key(session: Session, number: str, key: PublicKey) -> bool:
    """Let the sender log in with ``key``; ``False`` when it could already."""
    sender = _sender(session, number)
    exists = session.scalar(
        select(SenderKey.id).where(
            SenderKey.sender_id == sender.id, SenderKey.fingerprint == key.fingerprint
        )
    )
    if exists is not None:
        return False
    session.add(
        SenderKey(
            sender_id=sender.id,
            key_type=key.key_type,
            key_data=key.data,
            fingerprint=key.fingerprint,
            comment=key.comment,
            added_at=datetime.now(UTC),
        )
    )
    session.flush()
    return True


def remove_key(session: Session, number: str, fingerprint: str) -> bool:
    """Withdraw one key (named by its fingerprint); ``False`` when the sender had no such key."""
    sender = _sender(session, number)
    gone = session.execute(
        delete(SenderKey).where(
            SenderKey.sender_id == sender.id, SenderKey.fingerprint == fingerprint
        )
    )
    return bool(getattr(gone, "rowcount", 0))


def keys_of(session: Session, number: str) -> list[SenderKey]:
    sender = _sender(session, number)
    return list(
        session.scalars(select(SenderKey).where(SenderKey.sender_id == sender.id).order_by("id"))
    )


def set_password(session: Session, number: str, password: str) -> None:
    """Store the argon2 hash of ``password``; the clear text goes no further."""
    if len(password) < 12:
        raise UsageError("the password must have at least 12 characters")
    sender = _sender(session, number)
    row = session.get(SenderPassword, sender.id)
    hashed = _hasher.hash(password)
    if row is None:
        session.add(
            SenderPassword(sender_id=sender.id, password_hash=hashed, set_at=datetime.now(UTC))
        )
    else:
        row.password_hash, row.set_at = hashed, datetime.now(UTC)
    session.flush()


def has_password(session: Session, number: str) -> bool:
    sender = _sender(session, number)
    return session.get(SenderPassword, sender.id) is not None


def key_allowed(session: Session, number: str, fingerprint: str) -> bool:
    """May the active sender ``number`` log in with the key of this fingerprint?"""
    found = session.scalar(
        select(SenderKey.id)
        .join(Sender, Sender.id == SenderKey.sender_id)
        .where(Sender.number == number, Sender.active.is_(True))
        .where(SenderKey.fingerprint == fingerprint)
    )
    return found is not None


def password_hash(session: Session, number: str) -> str | None:
    """The stored hash of the active sender ``number``'s password; ``None`` when it has none."""
    return session.scalar(
        select(SenderPassword.password_hash)
        .join(Sender, Sender.id == SenderPassword.sender_id)
        .where(Sender.number == number, Sender.active.is_(True))
    )


@functools.cache
def _stand_in_hash() -> str:
    """A hash nobody knows the password of, made with the current parameters."""
    return _hasher.hash(secrets.token_urlsafe(32))


def verify_password(stored: str | None, password: str) -> bool:
    """Check ``password`` against ``stored`` (constant-time inside argon2). Without a stored
    hash the check runs against a stand-in and fails, taking as long as a real one."""
    try:
        return _hasher.verify(stored or _stand_in_hash(), password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def password_matches(session: Session, number: str, password: str) -> bool:
    """Check a login password against the stored hash of the sender ``number``."""
    return verify_password(password_hash(session, number), password)


def delivery_of_protocol(filename: str) -> str | None:
    """The LieferungsId in a protocol's name ``<stem>.<LieferungsId>.protokoll.xml``."""
    match = _DELIVERY_ID.search(filename)
    return match.group(1) if match else None


def record_acknowledgement(session: Session, sender_number: str, filename: str) -> str | None:
    """Record that the sender deleted ``filename`` from its outbox.

    Deleting the XML protocol moves its delivery from ``answered`` to ``acknowledged``; the
    text version is recorded too but changes nothing. Returns the LieferungsId, if any.
    """
    delivery_id = delivery_of_protocol(filename)
    session.add(
        OutboxAcknowledgement(
            sender_number=sender_number,
            filename=filename,
            delivery_id=delivery_id,
            acknowledged_at=datetime.now(UTC),
        )
    )
    if delivery_id is not None and filename.endswith(".xml"):
        delivery = session.scalar(
            select(Delivery).where(
                Delivery.delivery_id == delivery_id, Delivery.sender_number == sender_number
            )
        )
        if delivery is not None and delivery.state == DeliveryState.ANSWERED.value:
            delivery.state = DeliveryState.ACKNOWLEDGED.value
    session.flush()
    return delivery_id
