"""Serving the portal with uvicorn: alone (`zvk portal`) or beside the service (`zvk serve`)."""

from __future__ import annotations

import threading

import structlog
import uvicorn

from ingest.portal.app import create_app
from ingest.settings import Settings
from ingest.storing.db import open_database, session_factory

log = structlog.stdlib.get_logger("ingest.portal")


def portal_server(settings: Settings) -> uvicorn.Server:
    """A uvicorn server for the portal on the installation's database.

    The access log stays off: request paths carry the tokens of confirmation links.
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
    return uvicorn.Server(config)


class PortalThread:
    """The portal in a thread of `zvk serve`; :meth:`start` returns once it listens."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.server = portal_server(settings)
        self._thread = threading.Thread(target=self.server.run, name="portal", daemon=True)

    def start(self) -> None:
        self._thread.start()
        while not self.server.started:
            if not self._thread.is_alive():
                raise OSError(f"port {self.settings.portal.port} cannot be used")
            self._thread.join(0.05)
        log.info("portal serving", url=self.settings.portal.base_url)

    def stop(self) -> None:
        self.server.should_exit = True
        self._thread.join()
