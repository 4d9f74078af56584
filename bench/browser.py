"""What the browser benchmarks share: the service on a loopback port, and Debian's Chromium."""

from __future__ import annotations

import time

from playwright.sync_api import Browser, Playwright

from custodes.adapters.simulator.process import free_port
from custodes.domain.transport import LOOPBACK_PLAIN
from custodes.entrypoints.web.server import WebServer
from custodes.services.context import Context

CHROMIUM = "/usr/bin/chromium"


def serve(ctx: Context) -> tuple[WebServer, int]:
    """The web service on a free loopback port (plain HTTP), started and given time to bind."""
    port = free_port()
    web = WebServer(ctx, "127.0.0.1", port, LOOPBACK_PLAIN)
    web.start()
    time.sleep(1.5)
    return web, port


def chromium(pw: Playwright) -> Browser:
    """Headless Chromium as the benchmarks drive it: no GPU, video plays without a gesture."""
    return pw.chromium.launch(
        executable_path=CHROMIUM,
        args=[
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--autoplay-policy=no-user-gesture-required",
        ],
    )
