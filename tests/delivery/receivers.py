"""Real webhook receivers for the tests: small HTTP servers on 127.0.0.1.

Each verifies every delivery with the ``standardwebhooks`` library, as a
receiver written from the specification would, and keeps what it accepted.
What it answers is scripted: a status per request (then 200), a delay per request,
or a hold that keeps the request waiting until released (a slow or dead receiver).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


@dataclass
class Delivery:
    """One request a receiver got: its headers, its body parsed, whether it verified."""

    headers: dict[str, str]
    body: dict[str, Any]
    raw: bytes
    verified: bool


@dataclass
class Receiver:
    """What a receiver got and how it answers."""

    url: str
    secrets: list[str] = field(default_factory=list)
    answers: list[int] = field(default_factory=list)  # statuses for the next requests
    hold: threading.Event | None = None  # while set is False, requests wait
    delays: list[float] = field(default_factory=list)  # seconds before answering the next ones
    requests: list[Delivery] = field(default_factory=list)
    arrived: int = 0  # requests received, answered or not yet
    lock: threading.Lock = field(default_factory=threading.Lock)

    def accepted(self) -> list[Delivery]:
        """Requests answered 2xx, in arrival order."""
        with self.lock:
            return [d for d in self.requests if d.headers.get("x-answered") == "2xx"]

    def accepted_positions(self) -> list[int]:
        return [int(delivery.body["data"]["position"]) for delivery in self.accepted()]

    def _answer(self, headers: dict[str, str], raw: bytes) -> int:
        verified = False
        for secret in self.secrets:
            try:
                Webhook(secret).verify(raw, headers)
            except WebhookVerificationError:
                continue
            verified = True
            break
        with self.lock:
            status = self.answers.pop(0) if self.answers else 200
            headers["x-answered"] = "2xx" if 200 <= status < 300 else str(status)
            self.requests.append(Delivery(headers, json.loads(raw), raw, verified))
        return status


@contextmanager
def running_receiver(secrets: list[str] | None = None) -> Iterator[Receiver]:
    """A receiver listening on a free port until the block ends."""
    receiver = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("content-length", "0")))
            with receiver.lock:
                receiver.arrived += 1
            hold = receiver.hold
            if hold is not None:
                hold.wait(timeout=60)
            with receiver.lock:
                delay = receiver.delays.pop(0) if receiver.delays else 0.0
            time.sleep(delay)  # answered late: after the sender's time-out, say
            status = receiver._answer({k.lower(): v for k, v in self.headers.items()}, raw)
            self.send_response(status)
            self.send_header("content-length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the test reports what matters."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    receiver.secrets = list(secrets or [])
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        if receiver.hold is not None:
            receiver.hold.set()
        server.shutdown()
        server.server_close()


def eventually(check: Callable[[], bool], timeout: float = 30.0, what: str = "") -> None:
    """Wait until ``check()`` holds (a generous bound: the deliverer runs in the background)."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached within {timeout}s: {what}")
        time.sleep(0.02)
