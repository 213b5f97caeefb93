"""The ``[sftp]`` section: where the SFTP server listens, what it offers, how it limits and bans."""

from __future__ import annotations

from pydantic import Field

from ingest.settings_section import Section


class SftpSettings(Section):
    enabled: bool = Field(default=True, description="Start the SFTP server with `zvk serve`.")
    host: str = Field(
        default="127.0.0.1",
        description="Address the SFTP server listens on; loopback unless configured otherwise "
        "(`0.0.0.0` for every interface).",
    )
    port: int = Field(default=2222, ge=1, le=65535, description="Port of the SFTP server.")
    max_file_bytes: int | None = Field(
        default=None,
        ge=1,
        description="Largest upload over SFTP; empty means `intake.max_file_bytes`. The upload "
        "is stopped with ZVDA005 the moment it grows past the limit.",
    )
    max_sessions_per_sender: int = Field(
        default=4, ge=1, description="Concurrent SFTP connections one sender may hold."
    )
    max_connections: int = Field(
        default=64,
        ge=1,
        description="Concurrent SFTP connections in all (logged in or not); more are closed at "
        "once, so that a flood of connections cannot exhaust the server.",
    )
    max_channels_per_connection: int = Field(
        default=2,
        ge=1,
        description="SSH sessions (channels) one connection may hold open at once; an SFTP "
        "client needs one.",
    )
    max_handles_per_session: int = Field(
        default=32,
        ge=1,
        description="Files and folders one SFTP session may hold open at once; more are refused "
        "with an SFTP error and the session goes on.",
    )
    max_handles_per_sender: int = Field(
        default=64,
        ge=1,
        description="Files and folders all sessions of one sender may hold open at once. All "
        "senders together hold at most the process's descriptor limit less 256 and less two per "
        "`max_connections`; `zvk serve` raises its descriptor limit to the hard limit at start.",
    )
    max_failed_logins: int = Field(
        default=10,
        ge=1,
        description="Failed logins from one address, or for one account, within "
        "`failure_window_seconds` that lead to a ban.",
    )
    failure_window_seconds: float = Field(
        default=600.0,
        gt=0,
        allow_inf_nan=False,
        description="Time over which failed logins are counted.",
    )
    ban_seconds: float = Field(
        default=60.0,
        ge=0,
        allow_inf_nan=False,
        description="Length of the first ban; each further ban doubles it.",
    )
    max_ban_seconds: float = Field(
        default=3600.0, ge=0, allow_inf_nan=False, description="Longest ban."
    )
    max_password_checks: int = Field(
        default=1,
        ge=1,
        description="Login passwords hashed at the same time (one argon2 check takes 64 MiB and "
        "four threads); further password logins wait for a free check up to "
        "`login_grace_seconds`.",
    )
    login_grace_seconds: float = Field(
        default=10.0,
        gt=0,
        allow_inf_nan=False,
        description="Time a client has to log in and open its SFTP session; a connection that "
        "lets it pass counts as a failed login of its address.",
    )
    max_unauthenticated_per_address: int = Field(
        default=8,
        ge=1,
        description="Connections from one address that have not yet opened an SFTP session; "
        "more are closed at once, so that idle connections cannot take every slot.",
    )
    idle_timeout_seconds: float = Field(
        default=600.0,
        gt=0,
        allow_inf_nan=False,
        description="A logged-in connection without an SFTP request for this long is closed.",
    )
    window_bytes: int = Field(
        default=8 * 1024**2,
        ge=32 * 1024,
        le=2**32 - 1,
        description="SSH channel window the server grants (larger: fewer stalls, more memory).",
    )
    max_packet_bytes: int = Field(
        default=256 * 1024,
        ge=32 * 1024,
        le=2**32 - 1,
        description="Largest SSH packet the server accepts on a channel.",
    )
    ciphers: list[str] = Field(
        default=[
            "aes128-gcm@openssh.com",
            "aes256-gcm@openssh.com",
            "aes128-ctr",
            "aes256-ctr",
        ],
        description="Ciphers offered, in the server's order (the client's preference decides "
        "among them); GCM needs no separate MAC and is the fastest paramiko offers. Only "
        "AES-GCM and AES-CTR may be named; anything else stops the start.",
    )
