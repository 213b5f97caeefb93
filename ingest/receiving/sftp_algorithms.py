"""The SSH algorithms the SFTP server offers: only current ones, in the server's order.

paramiko's defaults still include SHA-1 and MD5 MACs and CBC ciphers; every list here is an
allow-list intersected with what the installed paramiko implements, so a paramiko upgrade never
brings a weak algorithm back. Every list keeps at least one algorithm the OpenSSH client of
Debian 12 (OpenSSH 9.2) accepts with its defaults.
"""

from __future__ import annotations

from collections.abc import Iterable

import paramiko

from ingest.errors import ConfigurationError

# Key exchange: ML-KEM hybrid and curve25519 first, then NIST curves and large DH groups (SHA-2).
KEX = (
    "mlkem768x25519-sha256",
    "curve25519-sha256",
    "curve25519-sha256@libssh.org",
    "ecdh-sha2-nistp256",
    "ecdh-sha2-nistp384",
    "ecdh-sha2-nistp521",
    "diffie-hellman-group16-sha512",
    "diffie-hellman-group18-sha512",
    "diffie-hellman-group-exchange-sha256",
    "diffie-hellman-group14-sha256",
)
# Encrypt-then-MAC first; SHA-2 only (no SHA-1, no MD5, no truncated -96 variants).
MACS = (
    "hmac-sha2-256-etm@openssh.com",
    "hmac-sha2-512-etm@openssh.com",
    "hmac-sha2-256",
    "hmac-sha2-512",
)
# Host key signatures: no `ssh-rsa` (SHA-1).
HOST_KEYS = (
    "ssh-ed25519",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "rsa-sha2-512",
    "rsa-sha2-256",
)
# Ciphers `sftp.ciphers` may name: AES in GCM or CTR mode (no CBC, no 3DES).
CIPHERS = (
    "aes128-gcm@openssh.com",
    "aes256-gcm@openssh.com",
    "aes128-ctr",
    "aes192-ctr",
    "aes256-ctr",
)


def check_ciphers(configured: Iterable[str]) -> list[str]:
    """The configured ciphers, refused as a whole when one is not current or none is left."""
    chosen = list(configured)
    weak = [name for name in chosen if name not in CIPHERS]
    if weak:
        allowed = ", ".join(CIPHERS)
        raise ConfigurationError(
            f"setting sftp.ciphers: {', '.join(weak)} is not offered (allowed: {allowed})"
        )
    if not chosen:
        raise ConfigurationError("setting sftp.ciphers: name at least one cipher")
    return chosen


def restrict(transport: paramiko.Transport, ciphers: list[str]) -> None:
    """Offer only the current algorithms (and of the ciphers those configured) on ``transport``."""
    options = transport.get_security_options()
    options.ciphers = _known(ciphers, options.ciphers)
    options.digests = _known(MACS, options.digests)
    options.kex = _known(KEX, options.kex)
    options.key_types = _known(HOST_KEYS, options.key_types)


def _known(wanted: Iterable[str], available: Iterable[str]) -> tuple[str, ...]:
    have = set(available)
    return tuple(name for name in wanted if name in have)
