"""A small Flagship collector of the tests' own, on 127.0.0.1 and a random port.

It records every request it receives. It can answer 2xx (the default), be
told to answer an error status, be stopped and started again on the same
port to play a collector that is down, or *hang*: read each request and never
answer it (:meth:`Collector.hang`), as a collector behind a stuck proxy does.
A request left without an answer is recorded with ``status`` 0.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

EVENTS_PATH = "/events/"
ACTIVATE_PATH = "/v2/activate"
#: The ``status`` of a request the collector read and never answered.
HUNG = 0


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: Any
    status: int


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"  # keep-alive, like the real collector

    def setup(self) -> None:
        super().setup()
        self.server.collector._connections.add(self.connection)

    def finish(self) -> None:
        super().finish()
        self.server.collector._connections.discard(self.connection)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        try:
            body = json.loads(raw)
        except ValueError:
            body = raw
        collector = self.server.collector
        status, text = collector._answer(self.path)
        headers = {key.lower(): value for key, value in self.headers.items()}
        collector._record(Received("POST", self.path, headers, body, status))
        if status == HUNG:
            # Keep the connection open and silent until released, then drop it.
            collector._released.wait()
            self.close_connection = True
            return
        payload = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    collector: Collector


class Collector:
    """Records requests; ``status`` (and ``fail_next``) decide the answers."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self.requests: list[Received] = []
        self.status = 200
        self._failures: list[int] = []
        self._answers_left: int | None = None  # None: never hang
        self._released = threading.Event()
        self._connections: set[socket.socket] = set()
        self.port = 0
        self._server: _Server | None = None
        self.start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def events_url(self) -> str:
        return self.base_url + EVENTS_PATH

    @property
    def activate_url(self) -> str:
        return self.base_url + ACTIVATE_PATH

    def start(self) -> None:
        server = _Server(("127.0.0.1", self.port), _Handler)
        server.collector = self
        self.port = server.server_address[1]
        self._server = server
        serve = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        serve.start()

    def stop(self) -> None:
        """Close the listening socket and every open connection: then connections are refused."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        for connection in list(self._connections):
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def fail_next(self, count: int, status: int) -> None:
        with self._lock:
            self._failures.extend([status] * count)

    def answer_next(self, *statuses: int) -> None:
        """Answer the next requests with ``statuses``, in order, then as usual."""
        with self._lock:
            self._failures.extend(statuses)

    def hang(self, after: int = 0) -> None:
        """Answer ``after`` more requests, then read each one and never answer it."""
        with self._lock:
            self._released.clear()
            self._answers_left = after

    def answer(self) -> None:
        """Stop hanging: the silent connections are dropped, new requests answered."""
        with self._lock:
            self._answers_left = None
            self._released.set()

    def _answer(self, path: str) -> tuple[int, str]:
        with self._lock:
            if self._answers_left is not None:
                if self._answers_left == 0:
                    return HUNG, ""
                self._answers_left -= 1
            status = self._failures.pop(0) if self._failures else self.status
        if status == 400:
            return status, json.dumps({"message": "Invalid cid."})
        if status >= 300:
            return status, json.dumps({"message": "collector failure"})
        # The events endpoint answers 200, the activate endpoint 204 (no body).
        return (204, "") if path == ACTIVATE_PATH else (200, "")

    def _record(self, received: Received) -> None:
        with self._lock:
            self.requests.append(received)
            self._arrived.notify_all()

    def wait_for(self, predicate: Callable[[Collector], bool], timeout: float = 10.0) -> bool:
        """Wait until ``predicate(self)`` holds, re-checked on every request."""
        deadline = time.monotonic() + timeout
        while not predicate(self):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            with self._lock:
                self._arrived.wait(min(remaining, 0.5))
        return True

    def accepted(self, path: str) -> list[Received]:
        with self._lock:
            return [r for r in self.requests if r.path == path and 200 <= r.status < 300]

    def hits(self) -> list[dict[str, Any]]:
        """Every hit of every accepted batch, in arrival order."""
        return [hit for r in self.accepted(EVENTS_PATH) for hit in r.body["h"]]

    def activations(self) -> list[dict[str, Any]]:
        return [item for r in self.accepted(ACTIVATE_PATH) for item in r.body["batch"]]

    def clear(self) -> None:
        with self._lock:
            self.requests.clear()

    def hung(self) -> list[Received]:
        """The requests read and never answered."""
        with self._lock:
            return [r for r in self.requests if r.status == HUNG]

    def close(self) -> None:
        self.answer()
        self.stop()
