"""The SFTP server of ``zvk serve``: our own, so that we decide when an upload is complete.

One thread accepts connections; each connection gets a paramiko transport (its own thread) with
the host keys from ``<home>/keys``, only current algorithms (:mod:`.sftp_algorithms`), the tuning
of ``sftp.*`` (window, packet size, ciphers: the levers of throughput) and
:class:`~ingest.receiving.sftp_auth.SenderGate` as its gatekeeper.
The SFTP threads only read the ledger (logins, busy names): complete uploads and acknowledgements
go through a queue to one hand-over thread, which registers each upload in the ledger exactly as
the drop folder does and wakes the worker of ``zvk serve`` to process it.
"""

from __future__ import annotations

import ipaddress
import logging
import queue
import socket
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import paramiko
import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ingest.errors import ConfigurationError
from ingest.pipeline import Service
from ingest.receiving.names import escaped_name, ledger_name
from ingest.receiving.sftp_algorithms import check_ciphers, restrict
from ingest.receiving.sftp_auth import Context, LoginGuard, PasswordChecks, Seats, SenderGate
from ingest.receiving.sftp_fs import SenderTree
from ingest.receiving.sftp_limits import BoundedTreeServer, HandleBudget
from ingest.receiving.sftp_uploads import Acknowledged, Completed, Pending, Refused, Uploads, Work
from ingest.settings import Settings
from ingest.storing.credentials import record_acknowledgement
from ingest.storing.db import open_database, session_factory
from ingest.storing.models import Delivery
from ingest.validating.submission import Channel

log = structlog.stdlib.get_logger("ingest.sftp")

HOST_KEYS = (("ssh_host_ecdsa_key", paramiko.ECDSAKey), ("ssh_host_rsa_key", paramiko.RSAKey))


def load_host_keys(keys: Path) -> list[paramiko.PKey]:
    """The host keys `zvk init` made; without them the server must not start."""
    loaded: list[paramiko.PKey] = []
    for name, kind in HOST_KEYS:
        path = keys / name
        if path.is_file():
            loaded.append(kind.from_private_key_file(str(path)))
    if not loaded:
        raise ConfigurationError(f"no SFTP host key in {keys}: run `zvk init` first")
    return loaded


class Handoff(threading.Thread):
    """Registers complete uploads in the ledger and records acknowledgements, one at a time."""

    def __init__(self, service: Service, uploads: Uploads, wake: threading.Event) -> None:
        super().__init__(name="sftp-handoff", daemon=True)
        self.service = service
        self.uploads = uploads
        self.wake = wake
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                work = self.uploads.work.get(timeout=0.2)
            except queue.Empty:
                continue
            self.handle(work)

    def handle(self, work: Work) -> None:
        if isinstance(work, Completed):
            self._deliver(work)
        elif isinstance(work, Refused):
            self._refuse(work)
        else:
            self._acknowledge(work)

    def _deliver(self, work: Completed) -> None:
        staged = work.staged
        try:
            self.service.receive(
                staged.path, sender_number=staged.sender, test=staged.test, channel=Channel.SFTP
            )
        except Exception:
            # Left in its `.ready` folder (or in the spool): registered at the next start.
            log.exception("could not register an upload", sender=staged.sender)
        finally:
            self.uploads.finished(staged)
        self.wake.set()

    def _refuse(self, work: Refused) -> None:
        """Enter a refused upload in the ledger; the worker writes its protocol."""
        service = self.service
        try:
            service.enter_refusal(work.upload)
        except Exception:
            log.exception("could not record a refused upload", sender=work.upload.sender_number)
            self.uploads.release(work.key)  # its note stays: recorded at the next start
            return
        self.uploads.recorded(work)
        self.wake.set()

    def _acknowledge(self, work: Acknowledged) -> None:
        try:
            with self.service.sessions.begin() as session:
                delivery_id = record_acknowledgement(session, work.sender, work.filename)
            log.info("acknowledgement recorded", sender=work.sender, delivery_id=delivery_id)
        except Exception:
            log.exception("could not record an acknowledgement", sender=work.sender)


# paramiko logs a client's broken-off handshake as an error with its traceback, one log line per
# traceback line: a flood of idle connections would flood the log. The connection's end is
# logged here, with its address, in one line.
logging.getLogger("paramiko.transport").setLevel(logging.CRITICAL)


class SftpServer:
    """Listens on ``sftp.host:sftp.port`` until :meth:`stop`."""

    def __init__(self, settings: Settings, service: Service, wake: threading.Event) -> None:
        self.settings = settings
        self.host_keys = load_host_keys(settings.keys)
        self.ciphers = check_ciphers(settings.sftp.ciphers)
        # Logins and look-ups only read: a reader engine never waits for the worker's write lock.
        readers = session_factory(open_database(settings))
        uploads = Uploads(settings, pending=unanswered(readers))
        self.context = Context(
            settings=settings,
            sessions=readers,
            uploads=uploads,
            guard=LoginGuard(settings.sftp),
            seats=Seats(settings.sftp.max_sessions_per_sender),
            handles=HandleBudget.of(settings.sftp),
            checks=PasswordChecks(
                settings.sftp.max_password_checks, settings.sftp.login_grace_seconds
            ),
        )
        self.handoff = Handoff(service, uploads, wake)
        self.stopping = threading.Event()
        self.listening = threading.Event()
        self._transports: set[paramiko.Transport] = set()
        # Connections per address that have no SFTP session yet, and how often one was refused.
        self._waiting = Seats(settings.sftp.max_unauthenticated_per_address)
        self._refused_waiting: dict[str, int] = defaultdict(int)
        self._lock = threading.Lock()
        self._acceptor: threading.Thread | None = None

    def start(self) -> None:
        """Listen, answer what an earlier run left, then accept connections (in background
        threads). Raises ``OSError`` when the address cannot be had (port taken, no such
        address, no permission): nothing has been started then."""
        listener = self._bind()
        self.context.uploads.recover()
        self.context.checks.warm_up()
        self.handoff.start()
        self._acceptor = threading.Thread(
            target=self._accept_loop, args=(listener,), name="sftp-accept", daemon=True
        )
        self._acceptor.start()

    def stop(self) -> None:
        """Stop accepting, end every connection (open uploads become ZVDA006), let the
        hand-over finish the delivery at hand; queued uploads stay ready for the next start."""
        self.stopping.set()
        if self._acceptor is None:
            return
        self._acceptor.join(timeout=5)
        with self._lock:
            transports = list(self._transports)
        for transport in transports:
            transport.close()
        for transport in transports:
            transport.join(timeout=5)
        self.handoff.stopping.set()
        self.handoff.join(timeout=600)
        log.info("sftp stopped")

    # -- listening -----------------------------------------------------------------------
    def _bind(self) -> socket.socket:
        host, port = self.settings.sftp.host, self.settings.sftp.port
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        listener = socket.socket(family, socket.SOCK_STREAM)
        try:
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind((host, port))
            listener.listen(64)
            listener.settimeout(0.5)
        except BaseException:
            listener.close()
            raise
        log.info("sftp listening", host=host, port=port)
        return listener

    def _accept_loop(self, listener: socket.socket) -> None:
        self.listening.set()
        with listener:
            accept_connections(listener, self.stopping, self._start_connection)

    def _start_connection(self, client: socket.socket, address: str) -> None:
        threading.Thread(target=self._serve, args=(client, address), daemon=True).start()

    # -- one connection ------------------------------------------------------------------
    def _serve(self, client: socket.socket, address: str) -> None:
        address = plain_address(address)
        if self.context.guard.banned_for(f"address:{address}") > 0:
            log.warning("sftp connection from a banned address closed", address=address)
            client.close()
            return
        if not self._waiting.take(address, id(client)):
            if len(self._refused_waiting) > 10_000:  # a scan over many addresses
                self._refused_waiting.clear()
            self._refused_waiting[address] += 1
            refused = self._refused_waiting[address]
            if refused & (refused - 1) == 0:  # the 1st, 2nd, 4th, 8th … refusal: a bounded log
                log.warning(
                    "sftp connections without login from one address",
                    address=address,
                    refused=refused,
                )
            client.close()
            return
        try:
            self._connect(client, address)
        finally:
            self._waiting.give_back(address, id(client))

    def _connect(self, client: socket.socket, address: str) -> None:
        gate = SenderGate(self.context, address)
        transport = self._transport(client)
        with self._lock:
            full = len(self._transports) >= self.settings.sftp.max_connections
            if not full:
                self._transports.add(transport)
        if full:
            log.warning("sftp connection limit reached", address=address)
            transport.close()
            client.close()
            return
        try:
            channel = self._first_channel(transport, gate)
            self._waiting.give_back(address, id(client))
            if channel is None:
                if transport.is_active():  # it held its slot for the whole grace time
                    self.context.guard.failed(f"address:{address}")
                log.info("sftp connection without session closed", address=address)
                return
            self._session(transport, gate)
        except (paramiko.SSHException, EOFError, OSError) as exc:
            log.info("sftp connection ended", address=address, reason=type(exc).__name__)
        except Exception:
            log.exception("sftp connection failed", address=address)
        finally:
            transport.close()
            gate.release()
            with self._lock:
                self._transports.discard(transport)

    def _first_channel(
        self, transport: paramiko.Transport, gate: SenderGate
    ) -> paramiko.Channel | None:
        """The connection's first SFTP channel, if the client gets that far within
        ``login_grace_seconds`` of connecting: banner, key exchange, login and channel all
        count against that one deadline."""
        deadline = time.monotonic() + self.settings.sftp.login_grace_seconds
        transport.start_server(event=threading.Event(), server=gate)  # returns at once
        while transport.is_active() and not self.stopping.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            channel = transport.accept(timeout=min(left, 0.5))
            if channel is not None:
                return channel
        return None

    def _session(self, transport: paramiko.Transport, gate: SenderGate) -> None:
        """Wait while the sender works; end the connection after ``idle_timeout_seconds``
        without an SFTP request."""
        idle = self.settings.sftp.idle_timeout_seconds
        while transport.is_active() and not self.stopping.is_set():
            transport.join(timeout=0.5)
            if time.monotonic() - gate.last_activity > idle:
                log.info("sftp idle connection closed", sender=gate.sender, address=gate.address)
                return

    def _transport(self, client: socket.socket) -> paramiko.Transport:
        tuning = self.settings.sftp
        client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        transport = paramiko.Transport(
            client,
            default_window_size=tuning.window_bytes,
            default_max_packet_size=tuning.max_packet_bytes,
        )
        transport.banner_timeout = tuning.login_grace_seconds
        restrict(transport, self.ciphers)
        for key in self.host_keys:
            transport.add_server_key(key)
        transport.set_subsystem_handler("sftp", BoundedTreeServer, SenderTree)
        return transport


def plain_address(address: str) -> str:
    """The address a peer is counted and banned by: an IPv4 address mapped into IPv6
    (``::ffff:192.0.2.1``, from a dual-stack listener) is the IPv4 address it carries."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    mapped = getattr(parsed, "ipv4_mapped", None)
    return str(mapped or parsed)


def accept_connections(
    listener: socket.socket,
    stopping: threading.Event,
    start: Callable[[socket.socket, str], None],
) -> None:
    """Accept connections and ``start`` each, until ``stopping``.

    When the process is out of descriptors, threads or buffers, the pending connection stays in
    the backlog and ``accept`` would fail again at once: after any failure the loop pauses
    (doubling up to a second) and logs once when the failures start and once when they end, so
    that a shortage neither burns a core nor floods the log.
    """
    pause, failed = 0.0, 0
    while not stopping.is_set():
        try:
            client, peer = listener.accept()
            try:
                start(client, str(peer[0]))
            except RuntimeError:  # no thread can be started
                client.close()
                raise
        except TimeoutError:
            continue
        except (OSError, RuntimeError) as exc:
            if not failed:
                log.error("sftp cannot accept, pausing", error=str(exc))
            failed += 1
            pause = min(max(2 * pause, 0.05), 1.0)
            stopping.wait(pause)
            continue
        if failed:
            log.warning("sftp accepting again", attempts_failed=failed)
            pause, failed = 0.0, 0


def unanswered(sessions: sessionmaker[Session]) -> Pending:
    """Is a delivery of this name in the ledger and still without its protocol?"""

    def pending(sender: str, test: bool, name: str) -> bool:
        with sessions() as session:
            found = session.scalar(
                select(Delivery.id)
                .where(Delivery.sender_number == sender)
                .where(Delivery.filename == ledger_name(escaped_name(name)))
                .where(Delivery.test.is_(test), Delivery.protocol_path.is_(None))
                .limit(1)
            )
        return found is not None

    return pending


def fingerprints(keys: Path) -> list[str]:
    """One line per host key, ``<type> SHA256:…`` as `ssh-keygen -l` shows it to senders."""
    return [f"{key.get_name()} {key.fingerprint}" for key in load_host_keys(keys)]
