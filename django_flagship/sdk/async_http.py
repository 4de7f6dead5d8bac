"""Async HTTP for the Decision API: one pooled ``aiohttp.ClientSession`` per event loop.

aiohttp comes with the ``async`` extra (``pip install "django-flagship[async]"``)
and is imported on the first async call only: a BUCKETING site, or one that
never awaits a decision, neither needs it nor loads it. Without it,
:attr:`AsyncPool.available` is false and callers fall back to a thread.

A session, like its connections, belongs to the event loop it was created
on, so each loop gets its own, created on the loop's first call and reused
by every later one (keep-alive, within :class:`AsyncLimits`). The sessions
are kept in a ``WeakKeyDictionary`` by loop and closed:

- when their loop shuts down: a small async generator started on the loop
  is closed by ``loop.shutdown_asyncgens()``, which ``asyncio.run``, uvicorn
  (on Ctrl-C), asgiref's ``async_to_sync`` and pytest-asyncio all call before
  closing a loop, and closes the session in its ``finally``;
- by :meth:`AsyncPool.close` (``Flagship.stop()``, a Django settings change):
  on the loop itself when it is running, else at its shutdown as above;
- at process exit, for a loop left neither running nor closed.

A loop closed without ``shutdown_asyncgens`` cannot close its connections
any more: its session is dropped when the next one is created, and the
operating system closes its sockets with the process.

The transport behaves as the ``requests`` one does: the timeout bounds the
connection and each read, redirects are not followed, the proxy variables of
the environment apply, and certificates are checked against the same bundle
(``REQUESTS_CA_BUNDLE``, ``CURL_CA_BUNDLE``, else certifi's).
"""

from __future__ import annotations

import asyncio
import atexit
import importlib.util
import os
import ssl
import threading
import weakref
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

from .constants import ASYNC_KEEPALIVE_EXPIRY, ASYNC_MAX_CONNECTIONS

__all__ = [
    "AsyncLimits",
    "AsyncPool",
    "TransportError",
    "TransportTimeout",
    "aiohttp_installed",
    "importable",
]


def importable(name: str) -> bool:
    """Whether module ``name`` can be imported, found without importing it."""
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def aiohttp_installed() -> bool:
    """Whether aiohttp, the ``async`` extra, is installed."""
    return importable("aiohttp")


@dataclass(frozen=True, slots=True)
class AsyncLimits:
    """Each event loop's pool: at most ``max_connections`` calls (and connections) at once.

    An idle connection stays open for ``keepalive_expiry`` seconds. A call
    that finds ``max_connections`` calls in flight waits for one to end, for
    the client's timeout at most.
    """

    max_connections: int = ASYNC_MAX_CONNECTIONS
    keepalive_expiry: float = ASYNC_KEEPALIVE_EXPIRY


class TransportTimeout(Exception):
    """No answer in time, or (``pool``) no free connection in time."""

    def __init__(self, *, pool: bool = False) -> None:
        super().__init__("pool" if pool else "read")
        self.pool = pool


class TransportError(Exception):
    """The request failed before an answer; ``args[0]`` names the error type only."""


class Reply:
    """An answer read whole, with what the Decision API client reads of a ``requests`` one."""

    __slots__ = ("charset", "content", "status_code")

    def __init__(self, status_code: int, content: bytes, charset: str | None) -> None:
        self.status_code = status_code
        self.content = content
        self.charset = charset

    @property
    def text(self) -> str:
        return self.content.decode(self.charset or "utf-8", errors="replace")


class _LoopClient:
    """A loop's session, its limit of calls, and the generator closing it at the loop's end."""

    __slots__ = ("__weakref__", "closed", "closer", "session", "slots")

    def __init__(self, session: Any, slots: asyncio.Semaphore) -> None:
        self.session = session
        self.slots = slots
        self.closed = False
        self.closer: Any = None

    async def aclose(self) -> None:
        if not self.closed:
            self.closed = True
            await self.session.close()


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


#: aiohttp and the TLS context every session shares, once :func:`_prepare` ran.
_aiohttp: list[Any] = [None, None]
_prepare_lock = threading.Lock()


def _prepare() -> None:
    """Import aiohttp and load the CA certificates requests would use; once per process."""
    with _prepare_lock:
        if _aiohttp[0] is None:
            import aiohttp
            import certifi

            cafile = (
                os.environ.get("REQUESTS_CA_BUNDLE")
                or os.environ.get("CURL_CA_BUNDLE")
                or certifi.where()
            )
            _aiohttp[:] = [aiohttp, ssl.create_default_context(cafile=cafile)]


#: Every pool of the process, for the exit hook.
_pools: weakref.WeakSet[AsyncPool] = weakref.WeakSet()
#: Closing tasks in flight: the loop keeps only weak references to its tasks.
_closing: set[asyncio.Task[Any]] = set()


class AsyncPool:
    """One ``aiohttp.ClientSession`` per event loop, with the given limits and headers."""

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
        """Whether aiohttp is installed (looked for once, without importing it)."""
        if self._available is None:
            self._available = aiohttp_installed()
        return self._available

    @property
    def loops(self) -> int:
        """How many event loops have an open session now."""
        return sum(1 for entry in list(self._clients.values()) if not entry.closed)

    async def post(
        self, url: str, *, params: Mapping[str, str], content: bytes, headers: Mapping[str, str]
    ) -> Reply:
        """POST on this loop's session; the answer is read whole, a redirect is not followed.

        Raises :class:`TransportTimeout` or :class:`TransportError`, which carry
        no text of the request (the URL, the headers) nor of aiohttp's messages.
        """
        if _aiohttp[0] is None:
            # Importing aiohttp and loading the CA certificates takes a few
            # hundred ms: once per process, in a thread, never on the loop.
            await asyncio.to_thread(_prepare)
        aiohttp = _aiohttp[0]
        entry = await self._entry()
        if entry.slots.locked():
            try:
                await asyncio.wait_for(entry.slots.acquire(), self.timeout)
            # asyncio's own class until Python 3.11, where it became TimeoutError.
            except (TimeoutError, asyncio.TimeoutError):
                raise TransportTimeout(pool=True) from None
        else:
            await entry.slots.acquire()  # free: returns at once
        try:
            async with entry.session.post(
                url, params=params, data=content, headers=headers, allow_redirects=False
            ) as response:
                body = await response.read()
                return Reply(response.status, body, response.charset)
        # aiohttp's timeouts derive from asyncio.TimeoutError (TimeoutError from 3.11).
        except (TimeoutError, asyncio.TimeoutError):
            raise TransportTimeout() from None
        except (aiohttp.ClientConnectionError, OSError):
            raise TransportError("ConnectionError") from None  # as requests names it
        except (aiohttp.ClientError, ValueError) as exc:
            raise TransportError(type(exc).__name__) from None
        finally:
            entry.slots.release()

    async def _entry(self) -> _LoopClient:
        loop = asyncio.get_running_loop()
        entry = self._clients.get(loop)
        if entry is not None and not entry.closed:
            return entry
        with self._lock:
            self._drop_closed_loops()
            entry = self._clients.get(loop)
            if entry is None or entry.closed:
                entry = _LoopClient(
                    self._new_session(), asyncio.Semaphore(self.limits.max_connections)
                )
                self._clients[loop] = entry
        if entry.closer is None:
            # Started here, on the loop: the loop's asyncgen hooks register it,
            # and shutdown_asyncgens() will close it, and the session with it.
            entry.closer = _close_with_loop(self, entry)
            await entry.closer.__anext__()
        return entry

    def _new_session(self) -> Any:
        aiohttp, tls = _aiohttp
        connector = aiohttp.TCPConnector(
            limit=0,  # the entry's semaphore bounds the calls, and so the connections
            keepalive_timeout=self.limits.keepalive_expiry,
            ssl=tls,
        )
        return aiohttp.ClientSession(
            connector=connector,
            headers=self._headers,
            timeout=aiohttp.ClientTimeout(
                total=None, sock_connect=self.timeout, sock_read=self.timeout
            ),
            trust_env=True,
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
