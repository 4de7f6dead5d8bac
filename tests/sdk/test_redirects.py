"""A redirect never carries the API key to another host.

Two loopback servers of the test's own: one answers every request with
``307 Location:`` the other, which records what arrives and answers as
Flagship would. ``requests`` strips only ``Authorization`` when a redirect
changes host, so an ``x-api-key`` header would follow the redirect.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from django_flagship.sdk import Config, Flagship, Mode
from django_flagship.sdk.decision_api import DecisionApiClient, DecisionError
from django_flagship.sdk.hits import Event, EventCategory

from .conftest import SAMPLE_BUCKET

ENV = "env-redirect"
KEY = "secret-key-7f3a9c"
CAMPAIGNS = {
    "visitorId": "v",
    "campaigns": [
        {
            "id": "c1",
            "variationGroupId": "vg1",
            "variation": {"id": "var1", "modifications": {"type": "FLAG", "value": {"f": True}}},
        }
    ],
}


class Server(ThreadingHTTPServer):
    """Records ``(method, path, headers)``; ``redirect_to`` makes it answer 307 to every request."""

    daemon_threads = True

    def __init__(self, redirect_to: str | None = None) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.redirect_to = redirect_to
        self.received: list[tuple[str, str, dict[str, str]]] = []
        self._lock = threading.Lock()
        threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05}).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def keys_received(self) -> list[str]:
        with self._lock:
            return [h["x-api-key"] for _, _, h in self.received if "x-api-key" in h]

    def close(self) -> None:
        self.shutdown()
        self.server_close()


class _Handler(BaseHTTPRequestHandler):
    server: Server

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        headers = {k.lower(): v for k, v in self.headers.items()}
        with self.server._lock:
            self.server.received.append((self.command, self.path, headers))
        if self.server.redirect_to is not None:
            self.send_response(307)
            self.send_header("Location", self.server.redirect_to + self.path)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body: Any = b""
        if "/campaigns" in self.path:
            body = json.dumps(CAMPAIGNS).encode()
        elif self.path.endswith("bucketing.json"):
            body = json.dumps(SAMPLE_BUCKET).encode()
        self.send_response(200 if body or self.command == "GET" else 204)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def servers():
    elsewhere = Server()
    redirector = Server(redirect_to=elsewhere.url)
    yield redirector, elsewhere
    redirector.close()
    elsewhere.close()


def test_the_decision_api_client_does_not_follow_a_redirect(servers):
    redirector, elsewhere = servers
    client = DecisionApiClient(ENV, KEY, base_url=redirector.url + "/v2", timeout=2.0)
    with pytest.raises(DecisionError, match="307") as raised:
        client.fetch("v", {})
    assert "redirect, not followed" in str(raised.value)
    assert KEY not in str(raised.value)
    assert redirector.keys_received() == [KEY]  # the configured host got it, as it should
    assert elsewhere.received == []
    client.close()


def test_no_request_carries_the_key_past_a_redirect(servers, handler):
    """DECISION_API mode serves the defaults; downloads, hits and activations carry no key."""
    redirector, elsewhere = servers
    api = Flagship(
        Config(
            ENV,
            KEY,
            mode=Mode.DECISION_API,
            decision_api_url=redirector.url + "/v2",
            events_url=redirector.url + "/events",
            activate_url=redirector.url + "/v2/activate",
            event_handler=handler,
        )
    )
    visitor = api.create_visitor("v", {})
    visitor.synchronize_modifications()
    assert visitor.get_modification("f", False) is False  # the default: nothing decided
    assert "redirect, not followed" in handler.text()
    assert not any("/campaigns" in path for _, path, _ in elsewhere.received)
    api.stop()

    bucketing = Flagship(
        Config(
            ENV,
            KEY,
            mode=Mode.BUCKETING,
            polling_interval=0,
            bucketing_url=redirector.url + "/{env_id}/bucketing.json",
            events_url=redirector.url + "/events",
            activate_url=redirector.url + "/v2/activate",
            event_handler=handler,
        )
    )
    visitor = bucketing.create_visitor("v", {})
    visitor.synchronize_modifications()
    # the redirected file was used
    assert visitor.get_modification("threshold", 0.0, activate=True) == 50.0
    assert visitor.send_hit(Event(EventCategory.ACTION_TRACKING, "click"))
    assert bucketing.tracker.flush(5.0)
    bucketing.stop()
    reached = sorted({(method, path.split("?")[0]) for method, path, _ in elsewhere.received})
    assert reached == [
        ("GET", f"/{ENV}/bucketing.json"),
        ("POST", "/events"),
        ("POST", "/v2/activate"),
    ]
    assert redirector.keys_received() == [KEY]  # the campaigns call alone, to its own host
    assert elsewhere.keys_received() == []
