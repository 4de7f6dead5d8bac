"""Async HTTP for the Decision API: one pooled ``httpx.AsyncClient`` per event loop.

httpx comes with the ``async`` extra (``pip install "django-flagship[async]"``)
and is imported on the first async call only: a BUCKETING site, or one that
never awaits a decision, neither needs it nor loads it. Without it,
:attr:`AsyncPool.available` is false and callers fall back to a thread.

An httpx client, like its connections, belongs to the event loop it was
first used on, so each loop gets its own, created on the loop's first call
and reused by every later one (keep-alive, within :class:`AsyncLimits`). The
clients are kept in a ``WeakKeyDictionary`` by loop and closed:

- when their loop shuts down: a small async generator started on the loop
  is closed by ``loop.shutdown_asyncgens()``, which ``asyncio.run``, uvicorn,
  asgiref's ``async_to_sync`` and pytest-asyncio all call before closing a
  loop, and closes the client in its ``finally``;
- by :meth:`AsyncPool.close` (``Flagship.stop()``, a Django settings change):
  on the loop itself when it is running, else at its shutdown as above;
- at process exit, for a loop left neither running nor closed.

A loop closed without ``shutdown_asyncgens`` cannot close its connections
any more: its client is dropped when the next one is created, and its
sockets are closed with them.
"""

from __future__ import annotations

import asyncio
import atexit
import importlib.util
import threading
import weakref
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

from .constants import ASYNC_KEEPALIVE_CONNECTIONS, ASYNC_KEEPALIVE_EXPIRY, ASYNC_MAX_CONNECTIONS

__all__ = [
    "AsyncLimits",
    "AsyncPool",
    "TransportError",
    "TransportTimeout",
    "httpx_installed",
    "importable",
]


def importable(name: str) -> bool:
    """Whether module ``name`` can be imported, found without importing it."""
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def httpx_installed() -> bool:
    """Whether httpx, the ``async`` extra, is installed."""
    return importable("httpx")


@dataclass(frozen=True, slots=True)
class AsyncLimits:
    """Each event loop's connection pool: at most ``max_connections`` open at once.

    Up to ``keepalive_connections`` of them stay open when idle, each for
    ``keepalive_expiry`` seconds. A call that finds every connection busy
    waits for one, for the client's timeout at most.
    """

    max_connections: int = ASYNC_MAX_CONNECTIONS
    keepalive_connections: int = ASYNC_KEEPALIVE_CONNECTIONS
    keepalive_expiry: float = ASYNC_KEEPALIVE_EXPIRY


class TransportTimeout(Exception):
    """No answer in time, or (``pool``) no free connection in time."""

    def __init__(self, *, pool: bool = False) -> None:
        super().__init__("pool" if pool else "read")
        self.pool = pool


class TransportError(Exception):
    """The request failed before an answer; ``args[0]`` names the error type only."""


class _LoopClient:
    """A loop's client and the async generator that closes it at the loop's shutdown."""

    __slots__ = ("__weakref__", "client", "closed", "closer")

    def __init__(self, client: Any) -> None:
        self.client = client
        self.closed = False
        self.closer: Any = None

    async def aclose(self) -> None:
        if not self.closed:
            self.closed = True
            await self.client.aclose()


async def _close_with_loop(pool: AsyncPool, entry: _LoopClient) -> AsyncIterator[None]:
    try:
        yield
    finally:
        pool._forget(entry)
        await entry.aclose()


def _finish_closer(entry: _LoopClient) -> None:
    """End a closer whose loop can no longer run, without touching that loop."""
    entry.closed = True  # its finally then awaits nothing
    if entry.closer is None:
        return
    step = entry.closer.aclose()
    try:
        step.send(None)
    except StopIteration:
        pass
    except Exception:
        step.close()


#: httpx and the TLS context every client shares, once :func:`_prepare` ran.
_httpx: list[Any] = [None, None]
_prepare_lock = threading.Lock()


def _prepare() -> None:
    """Import httpx and what a first client imports, load the CA certificates; once."""
    with _prepare_lock:
        if _httpx[0] is None:
            import httpx

            context = httpx.create_ssl_context()
            httpx.AsyncClient(verify=context)  # imports httpcore, h11, anyio
            _httpx[:] = [httpx, context]


#: Every pool of the process, for the exit hook.
_pools: weakref.WeakSet[AsyncPool] = weakref.WeakSet()
#: Closing tasks in flight: the loop keeps only weak references to its tasks.
_closing: set[asyncio.Task[Any]] = set()


class AsyncPool:
    """One ``httpx.AsyncClient`` per event loop, with the given limits and headers."""

    def __init__(self, limits: AsyncLimits, *, timeout: float, headers: Mapping[str, str]) -> None:
        self.limits = limits
        self.timeout = timeout
        self._headers = dict(headers)
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopClient] = (
            weakref.WeakKeyDictionary()
        )
        # Closed by close() on a loop that was not running: kept until that
        # loop shuts down (or the process exits), so that it is closed there.
        self._waiting: dict[_LoopClient, asyncio.AbstractEventLoop] = {}
        # Reentrant: ending a closer (under the lock) makes it forget itself.
        self._lock = threading.RLock()
        self._available: bool | None = None
        _pools.add(self)

    def __repr__(self) -> str:
        return f"<AsyncPool loops={len(self._clients)} limits={self.limits}>"

    @property
    def available(self) -> bool:
        """Whether httpx is installed (looked for once, without importing it)."""
        if self._available is None:
            self._available = httpx_installed()
        return self._available

    @property
    def loops(self) -> int:
        """How many event loops have an open client now."""
        return sum(1 for entry in list(self._clients.values()) if not entry.closed)

    async def post(
        self, url: str, *, params: Mapping[str, str], content: bytes, headers: Mapping[str, str]
    ) -> Any:
        """POST on this loop's client; the response is read whole, redirects are not followed.

        Raises :class:`TransportTimeout` or :class:`TransportError`, which carry
        no text of the request (the URL, the headers) nor of httpx's messages.
        """
        if _httpx[0] is None:
            # Importing httpx and loading the CA certificates takes a few hundred
            # ms: once per process, in a thread, never on the loop.
            await asyncio.to_thread(_prepare)
        httpx = _httpx[0]
        client = await self._client()
        try:
            return await client.post(
                url, params=params, content=content, headers=headers, follow_redirects=False
            )
        except httpx.PoolTimeout:
            raise TransportTimeout(pool=True) from None
        except httpx.TimeoutException:
            raise TransportTimeout() from None
        except (httpx.HTTPError, httpx.InvalidURL, OSError) as exc:
            raise TransportError(type(exc).__name__) from None

    async def _client(self) -> Any:
        loop = asyncio.get_running_loop()
        entry = self._clients.get(loop)
        if entry is not None and not entry.closed:
            return entry.client
        with self._lock:
            self._drop_closed_loops()
            entry = self._clients.get(loop)
            if entry is None or entry.closed:
                entry = _LoopClient(self._new_client())
                self._clients[loop] = entry
        if entry.closer is None:
            # Started here, on the loop: the loop's asyncgen hooks register it,
            # and shutdown_asyncgens() will close it, and the client with it.
            entry.closer = _close_with_loop(self, entry)
            await entry.closer.__anext__()
        return entry.client

    def _new_client(self) -> Any:
        httpx, tls = _httpx
        limits = self.limits
        return httpx.AsyncClient(
            headers=self._headers,
            timeout=httpx.Timeout(self.timeout),
            limits=httpx.Limits(
                max_connections=limits.max_connections,
                max_keepalive_connections=limits.keepalive_connections,
                keepalive_expiry=limits.keepalive_expiry,
            ),
            follow_redirects=False,
            verify=tls,
        )

    def _forget(self, entry: _LoopClient) -> None:
        with self._lock:
            for loop, known in list(self._clients.items()):
                if known is entry:
                    del self._clients[loop]
            self._waiting.pop(entry, None)

    def _drop_closed_loops(self) -> None:
        for loop, entry in list(self._clients.items()):
            if loop.is_closed():
                del self._clients[loop]
                _finish_closer(entry)
        for entry, loop in list(self._waiting.items()):
            if loop.is_closed():
                del self._waiting[entry]
                _finish_closer(entry)

    def close(self) -> None:
        """Close every loop's client: now on a running loop, else at the loop's shutdown.

        Calls made later open a new client on their loop.
        """
        with self._lock:
            entries = list(self._clients.items())
            self._clients.clear()
        try:
            here = asyncio.get_running_loop()
        except RuntimeError:
            here = None
        for loop, entry in entries:
            if loop.is_closed():
                _finish_closer(entry)
            elif loop is here:
                _spawn_close(entry)
            elif loop.is_running():
                try:
                    loop.call_soon_threadsafe(_spawn_close, entry)
                except RuntimeError:  # closed meanwhile
                    _finish_closer(entry)
            else:
                with self._lock:
                    self._waiting[entry] = loop

    def _close_at_exit(self) -> None:
        with self._lock:
            entries = [*self._clients.items(), *((loop, e) for e, loop in self._waiting.items())]
            self._clients.clear()
            self._waiting.clear()
        for loop, entry in entries:
            if entry.closer is None or loop.is_closed():
                _finish_closer(entry)
                continue
            try:
                if loop.is_running():
                    asyncio.run_coroutine_threadsafe(entry.closer.aclose(), loop).result(1.0)
                else:
                    loop.run_until_complete(entry.closer.aclose())
            except Exception:
                _finish_closer(entry)


def _spawn_close(entry: _LoopClient) -> None:
    """On the entry's loop: close its client (through its closer, which then ends)."""
    closing = entry.closer.aclose() if entry.closer is not None else entry.aclose()
    task = asyncio.get_running_loop().create_task(closing)
    _closing.add(task)
    task.add_done_callback(_closing.discard)


@atexit.register
def _close_at_exit() -> None:
    for pool in list(_pools):
        pool._close_at_exit()
