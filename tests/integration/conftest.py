"""Fixtures for integration tests: a real SMTP server, a real HTTP server, and a directory.

`smtp_sink` is an aiosmtpd server on a free port on 127.0.0.1 that keeps every message it
accepts (parsed), and can refuse chosen recipients with a 5xx; `stopped_smtp_sink` is the same
before `start()` (an outage). `live_server` serves an ASGI app with uvicorn on a free port in a
background thread, so tests follow links over real HTTP.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import httpx
import pytest
import uvicorn
from aiosmtpd.controller import Controller

from tests.support import admin_accounts, web_app


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class SmtpSink:
    """A real SMTP server that keeps what it receives; `refuse` holds addresses it answers 550."""

    host = "127.0.0.1"

    def __init__(self) -> None:
        self.port = free_port()
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.refuse: set[str] = set()
        self._controller: Controller | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        self._controller = Controller(self, hostname=self.host, port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:  # noqa: N802
        if address in self.refuse:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802
        message = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        with self._lock:
            self.messages.append(message)
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[EmailMessage]:
        """The messages received for `address`, oldest first."""
        return [m for m in self.messages if m["To"] == address]


@pytest.fixture
def smtp_sink() -> Iterator[SmtpSink]:
    sink = SmtpSink()
    sink.start()
    yield sink
    sink.stop()


@pytest.fixture
def stopped_smtp_sink() -> Iterator[SmtpSink]:
    """An SMTP server that is down until the test calls `start()`."""
    sink = SmtpSink()
    yield sink
    sink.stop()


class LiveServer:
    """An ASGI app served by uvicorn on 127.0.0.1 in a background thread."""

    def __init__(self, app: Any, port: int) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        config = uvicorn.Config(
            app, host="127.0.0.1", port=port, log_level="warning", lifespan="off", ws="none"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    def start(self) -> None:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError(f"uvicorn did not start on port {self.port}")
            time.sleep(0.01)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)


@pytest.fixture
def live_server() -> Iterator[Callable[[Callable[[str], Any]], LiveServer]]:
    """Serve the app `make_app(base_url)` builds; it learns its own URL before it starts."""
    servers: list[LiveServer] = []

    def serve(make_app: Callable[[str], Any]) -> LiveServer:
        port = free_port()
        server = LiveServer(make_app(f"http://127.0.0.1:{port}"), port)
        server.start()
        servers.append(server)
        return server

    yield serve
    for server in servers:
        server.stop()


SITE_NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


@pytest.fixture
def site(engine, tmp_path, live_server):
    """The app over HTTP, its clock stopped at SITE_NOW, with one account and one API token per
    role; returns (client, clock, tokens, settings)."""
    tokens = admin_accounts(engine, now=SITE_NOW)
    app, settings = web_app(engine, data_dir=tmp_path / "data", now=SITE_NOW)
    server = live_server(lambda _: app)
    client = httpx.Client(base_url=server.url, timeout=30)
    yield client, app.state.web.clock, tokens, settings
    client.close()
