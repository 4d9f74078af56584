"""The web server in a thread of `custodes serve`: if it fails, recording goes on.

uvicorn runs in its own thread with its own event loop. If it stops by itself (a crash, a
port in use), it is restarted with back-off; the recorder threads are never touched.

It speaks as `domain/transport.py` decided: TLS with the installation's certificate, or plain
HTTP; forwarded headers are believed from the named proxies only (uvicorn believes them from
127.0.0.1 by default, which would let any local process choose the address the log-in
throttle and the ledger see).
"""

from __future__ import annotations

import logging
import threading

import uvicorn
from fastapi import FastAPI

from custodes.domain.backoff import Backoff
from custodes.domain.transport import Transport
from custodes.entrypoints.web.app import create_app
from custodes.services import tls as tls_service
from custodes.services.context import Context

log = logging.getLogger(__name__)


class WebServer(threading.Thread):
    def __init__(self, ctx: Context, host: str, port: int, transport: Transport) -> None:
        super().__init__(name="web", daemon=True)
        self.ctx = ctx
        self.host = host
        self.port = port
        self.transport = transport
        self._halt = threading.Event()
        self._server: uvicorn.Server | None = None
        self.app: FastAPI | None = None  # the running application (benchmarks read its state)

    def run(self) -> None:
        backoff = Backoff(initial_s=1, cap_s=30)
        while not self._halt.is_set():
            self.app = create_app(self.ctx, transport=self.transport)
            files = tls_service.files(self.ctx.data)
            config = uvicorn.Config(
                self.app,
                host=self.host,
                port=self.port,
                log_level="warning",
                access_log=False,
                lifespan="on",
                proxy_headers=bool(self.transport.proxies),
                forwarded_allow_ips=list(self.transport.proxies) or None,
                server_header=False,
                ssl_certfile=files.cert if self.transport.tls else None,
                ssl_keyfile=files.key if self.transport.tls else None,
            )
            self._server = uvicorn.Server(config)
            try:
                self._server.run()
            except BaseException:
                log.exception("web server failed; recording continues")
            if self._halt.is_set():
                break
            delay = backoff.next_delay()
            log.error("web server stopped on port %s; restarting in %.0f s", self.port, delay)
            self._halt.wait(delay)

    def stop(self) -> None:
        self._halt.set()
        if self._server is not None:
            self._server.should_exit = True
        self.join(10)
