"""A CDN of the tests' own on 127.0.0.1 and a random port, serving a bucketing file.

It can serve the file whole, trickle it (``chunk`` bytes every ``pause``
seconds), announce a ``Content-Length`` or not (the body then ends with the
connection), gzip it (or only say so), or answer 304 to ``If-Modified-Since``. It counts the
requests, the headers they carried and the bytes it sent, and ``close()``
stops it at once, a trickle in progress included.
"""

from __future__ import annotations

import contextlib
import gzip
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PATH = "/env/bucketing.json"


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        cdn = self.server.cdn
        with cdn._lock:
            cdn.requests.append({k.lower(): v for k, v in self.headers.items()})
        if cdn.not_modified and self.headers.get("If-Modified-Since"):
            self.send_response(304)
            self.end_headers()
            return
        body = gzip.compress(cdn.body) if cdn.gzip else cdn.body
        self.send_response(cdn.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Last-Modified", cdn.last_modified)
        encoding = "gzip" if cdn.gzip else cdn.content_encoding
        if encoding:
            self.send_header("Content-Encoding", encoding)
        if cdn.content_length is not None:
            self.send_header("Content-Length", str(cdn.content_length))
        elif cdn.send_length:
            self.send_header("Content-Length", str(len(body)))
        else:
            self.send_header("Connection", "close")
        self.end_headers()
        try:
            for piece in _pieces(body, cdn.chunk):
                if cdn._stopping.wait(cdn.pause):
                    return
                self.wfile.write(piece)
                self.wfile.flush()
                with cdn._lock:
                    cdn.sent += len(piece)
        except OSError:
            pass  # the client gave up: what it was sent is counted

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _pieces(body: bytes, size: int | None) -> Iterator[bytes]:
    if not size:
        yield body
        return
    for start in range(0, len(body), size):
        yield body[start : start + size]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    cdn: Cdn


class Cdn:
    """Serves ``body``; the attributes decide how (change them between requests)."""

    def __init__(self, body: bytes = b"{}") -> None:
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self.body = body
        self.status = 200
        self.chunk: int | None = None  # bytes per write; None: all at once
        self.pause = 0.0  # seconds before each write
        self.send_length = True
        self.content_length: int | None = None  # announce this instead of the real length
        self.gzip = False  # compress the body, and say so
        self.content_encoding: str | None = None  # say this, without compressing
        self.not_modified = False  # answer 304 to a conditional request
        self.last_modified = "Wed, 21 Oct 2026 07:28:00 GMT"
        self.requests: list[dict[str, str]] = []
        self.sent = 0
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.cdn = self
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}{PATH}"

    @property
    def url_template(self) -> str:
        """The URL with ``{env_id}`` in place of the environment (FLAGSHIP_BUCKETING_URL)."""
        return self.url.replace("/env/", "/{env_id}/")

    def close(self) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


@contextlib.contextmanager
def serving(body: bytes = b"{}") -> Iterator[Cdn]:
    cdn = Cdn(body)
    try:
        yield cdn
    finally:
        cdn.close()
