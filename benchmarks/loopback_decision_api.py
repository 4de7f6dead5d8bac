"""A Decision API of the benchmarks' and tests' own, on 127.0.0.1, answering after a delay.

One asyncio loop in a daemon thread serves HTTP/1.1 with keep-alive, so a
thousand calls can wait at once for the price of a few coroutines. Each
``POST .../campaigns`` is counted and answered after ``delay`` seconds with
``reply(request)`` (a campaigns body by default). Everything a client could
leave behind is counted: connections accepted, connections still open,
calls in flight at once.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["CAMPAIGNS", "LoopbackDecisionApi", "Received", "Reply"]

#: What the server answers by default: one campaign, two flags.
CAMPAIGNS = {
    "visitorId": "v",
    "campaigns": [
        {
            "id": "c1",
            "variationGroupId": "vg1",
            "variation": {
                "id": "var1",
                "reference": False,
                "modifications": {
                    "type": "FLAG",
                    "value": {"vip_feature": True, "btn_color": "red"},
                },
            },
        }
    ],
}

#: Request heads and bodies larger than this close the connection.
_MAX_HEAD = 64 * 1024
_MAX_BODY = 1024 * 1024
#: Requests kept for inspection; later ones are counted only.
_KEEP = 200


@dataclass(frozen=True)
class Received:
    method: str
    target: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


class LoopbackDecisionApi:
    """Start with ``start()`` (or ``with``); ``url`` is the base to give the SDK."""

    def __init__(
        self,
        delay: float = 0.0,
        *,
        reply: Callable[[Received], Reply] | None = None,
    ) -> None:
        self.delay = delay
        self.reply = reply or (lambda request: Reply(200, json.dumps(CAMPAIGNS).encode()))
        self.port = 0
        self.calls = 0
        self.connections = 0
        self.open_connections = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self.received: list[Received] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.AbstractServer | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v2"

    def __enter__(self) -> LoopbackDecisionApi:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> LoopbackDecisionApi:
        self._thread = threading.Thread(target=self._run, name="loopback-decision-api")
        self._thread.daemon = True
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the loopback Decision API did not start")
        return self

    def _run(self) -> None:
        loop = self._loop = asyncio.new_event_loop()
        try:
            self._server = loop.run_until_complete(
                asyncio.start_server(self._serve, "127.0.0.1", 0, backlog=1024)
            )
            self.port = self._server.sockets[0].getsockname()[1]
            self._ready.set()
            loop.run_forever()
            # Calls still waiting out their delay end with the server.
            tasks = asyncio.all_tasks(loop)
            for task in tasks:
                task.cancel()
            if tasks:
                loop.run_until_complete(asyncio.wait(tasks))
        finally:
            loop.close()

    def close(self) -> None:
        loop, self._loop = self._loop, None
        if loop is None or self._thread is None or loop.is_closed():
            return

        async def stop() -> None:
            assert self._server is not None
            self._server.close()
            for writer in list(self._writers):
                writer.close()
            await asyncio.sleep(0.01)  # the transports close on the next turns
            loop.stop()

        asyncio.run_coroutine_threadsafe(stop(), loop)
        self._thread.join(10)

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
        """Poll ``predicate`` (e.g. no connection left open) until true or ``timeout``."""
        import time

        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if predicate():
                return True
            time.sleep(0.01)
        return predicate()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.open_connections += 1
        self._writers.add(writer)
        try:
            while True:
                request = await self._read(reader)
                if request is None:
                    return
                self.calls += 1
                if len(self.received) < _KEEP:
                    self.received.append(request)
                self.in_flight += 1
                self.max_in_flight = max(self.max_in_flight, self.in_flight)
                try:
                    if self.delay:
                        await asyncio.sleep(self.delay)
                    reply = self.reply(request)
                finally:
                    self.in_flight -= 1
                head = [f"HTTP/1.1 {reply.status} X"]
                headers = {"Content-Type": "application/json", **reply.headers}
                headers["Content-Length"] = str(len(reply.body))
                head += [f"{name}: {value}" for name, value in headers.items()]
                writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + reply.body)
                await writer.drain()
        except (
            ConnectionError,
            asyncio.IncompleteReadError,
            asyncio.LimitOverrunError,
            asyncio.CancelledError,
        ):
            return
        finally:
            self._writers.discard(writer)
            self.open_connections -= 1
            writer.close()

    @staticmethod
    async def _read(reader: asyncio.StreamReader) -> Received | None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError:
            return None  # the client closed the connection
        if len(head) > _MAX_HEAD:
            return None
        lines = head.decode("latin-1").split("\r\n")
        method, target, _ = lines[0].split(" ", 2)
        headers = {}
        for line in lines[1:]:
            if ":" in line:
                name, value = line.split(":", 1)
                headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        if length > _MAX_BODY:
            return None
        body = await reader.readexactly(length) if length else b""
        return Received(method, target, headers, body)
