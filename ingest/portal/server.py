"""Serving the portal with uvicorn: alone (`zvk portal`) or beside the service (`zvk serve`)."""

from __future__ import annotations

import contextlib
import signal
import socket
import threading
from collections.abc import Iterator

import structlog
import uvicorn

from ingest.portal.app import create_app
from ingest.settings import Settings
from ingest.storing.db import open_database, session_factory

log = structlog.stdlib.get_logger("ingest.portal")


class _Server(uvicorn.Server):
    """uvicorn that stops on SIGTERM and SIGINT with exit status 0 (uvicorn raises the signal
    again after its shutdown, which ends the process as killed by it)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield  # in `zvk serve`'s thread: the service's own handlers stop it
            return
        signals = (signal.SIGINT, signal.SIGTERM)
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in signals}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def portal_server(settings: Settings) -> uvicorn.Server:
    """A uvicorn server for the portal on the installation's database.

    The access log stays off: request paths carry the tokens of confirmation links. Forwarding
    headers are the application's own business (believed from `portal.trusted_proxies` only).
    """
    app = create_app(settings, session_factory(open_database(settings)))
    config = uvicorn.Config(
        app,
        host=settings.portal.host,
        port=settings.portal.port,
        log_config=None,
        access_log=False,
        proxy_headers=False,
        server_header=False,
    )
    return _Server(config)


def listening_socket(settings: Settings) -> socket.socket:
    """The portal's socket, bound here so that a taken port is an ``OSError`` with its reason."""
    family = socket.AF_INET6 if ":" in settings.portal.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((settings.portal.host, settings.portal.port))
    except OSError:
        sock.close()
        raise
    return sock


class PortalThread:
    """The portal in a thread of `zvk serve`; :meth:`start` returns once it listens."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.server = portal_server(settings)
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        sock = listening_socket(self.settings)
        self._thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [sock]}, name="portal", daemon=True
        )
        self._thread.start()
        while not self.server.started:
            if not self._thread.is_alive():
                raise OSError(f"the portal stopped at its start (port {self.settings.portal.port})")
            self._thread.join(0.05)
        host, port = sock.getsockname()[:2]
        log.info("portal serving", address=f"{host}:{port}", base_url=self.settings.portal.base_url)

    def stop(self) -> None:
        self.server.should_exit = True
        if self._thread is not None:
            self._thread.join()
