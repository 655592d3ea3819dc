"""A real HTTP server for webhook tests: started on 127.0.0.1 at a free port in a thread, it records every request it
receives and answers as the test tells it (a status, a body, a redirect, or waiting before it answers)."""

from __future__ import annotations

import contextlib
import dataclasses
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from django.conf import settings
from standardwebhooks import Webhook


@dataclasses.dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]  # lower-cased names
    body: bytes

    def verify(self, secret: str) -> dict:
        """The payload, when `secret` signed this request (standardwebhooks raises WebhookVerificationError if not)."""
        return Webhook(secret).verify(self.body, self.headers)


class Receiver:
    def __init__(self) -> None:
        self.received: list[Received] = []
        self.status = 204
        self.body = b""
        self.headers: dict[str, str] = {}
        self.hold: threading.Event | None = None  # set by the test to let a held request answer
        self.arrived = threading.Event()  # set when a request has come in (before it is answered)
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the http.server name
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                with receiver._lock:
                    receiver.received.append(Received(self.path, {k.lower(): v for k, v in self.headers.items()},
                                                      body))
                receiver.arrived.set()
                if receiver.hold is not None:
                    receiver.hold.wait(30)
                try:
                    self.send_response(receiver.status)
                    for name, value in receiver.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(receiver.body)))
                    self.end_headers()
                    self.wfile.write(receiver.body)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up waiting (a timeout test)
                    pass

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, name="webhook-receiver", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def answer(self, status: int, body: bytes = b"", **headers: str) -> None:
        self.status, self.body, self.headers = status, body, headers


@contextlib.contextmanager
def running_receiver() -> Iterator[Receiver]:
    assert settings.WEBHOOK_ALLOW_PRIVATE_DESTINATIONS, "the receiver listens on 127.0.0.1: allow private addresses"
    receiver = Receiver()
    receiver.thread.start()
    try:
        yield receiver
    finally:
        if receiver.hold is not None:
            receiver.hold.set()
        receiver.server.shutdown()
        receiver.server.server_close()
