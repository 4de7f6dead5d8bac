"""Async views and sites: the accessor's async side, the connection pool, aiohttp.

:class:`AsyncFlags` gives ``request.flags`` its ``a``-prefixed methods, and
:func:`warn_if_blocking_loop` says when a plain read would block a running
event loop on the Decision API.

``await request.flags.aget(...)`` calls the Decision API from the event loop,
on an aiohttp session of the loop's own (:mod:`.sdk.async_http`), at most
``FLAGSHIP_ASYNC_MAX_CONNECTIONS`` calls at once, an idle connection kept
open for ``FLAGSHIP_ASYNC_KEEPALIVE_EXPIRY`` seconds. aiohttp is the
``async`` extra; without it the call runs in a thread pool, which caps how
many requests wait on Flagship at once, and ``check --deploy`` says so for
an ASGI site (``django_flagship.W011``). Malformed limits are
``django_flagship.E031``; at run time each one is logged once and its
default used.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
import sys
from types import CodeType, FrameType
from typing import TYPE_CHECKING, Any

from asgiref.sync import sync_to_async
from django.conf import settings

from .conf import conf
from .log import warn_rarely
from .sdk import Mode
from .sdk.async_http import aiohttp_installed, importable
from .sdk.hits import Hit

if TYPE_CHECKING:
    from .client import Runtime
    from .flags import FlagSource

__all__ = [
    "ASGI_SERVERS",
    "AsyncFlags",
    "aiohttp_installed",
    "asgi_site",
    "async_limits",
    "warn_if_blocking_loop",
]

logger = logging.getLogger("django_flagship")

#: ASGI servers whose presence says a site is served over ASGI.
ASGI_SERVERS = ("uvicorn", "daphne", "hypercorn", "granian")


def async_limits() -> dict[str, Any]:
    """The limits as ``Config`` arguments; a malformed one is logged and its default used."""
    return {
        "async_max_connections": conf.value("FLAGSHIP_ASYNC_MAX_CONNECTIONS"),
        "async_keepalive_expiry": conf.value("FLAGSHIP_ASYNC_KEEPALIVE_EXPIRY"),
    }


def asgi_site() -> str | None:
    """Why the site looks served over ASGI (``ASGI_APPLICATION``, a server), or ``None``."""
    if getattr(settings, "ASGI_APPLICATION", None):
        return "ASGI_APPLICATION is set"
    for name in ASGI_SERVERS:
        if importable(name):
            return f"{name} is installed"
    return None


# -- the accessor's async side ---------------------------------------------------


class AsyncFlags:
    """The ``a``-prefixed methods of :class:`~django_flagship.flags.Flags`.

    ``await flags.aload()`` decides without blocking the event loop: in
    DECISION_API mode the call is awaited on the loop, otherwise the
    synchronization runs in a worker thread. A read that would then POST an
    activation synchronously (a ``SyncTracker`` sink) runs in a thread too.
    """

    if TYPE_CHECKING:
        # What Flags, the only class this is mixed into, provides.
        _prepared: bool
        _synchronized: bool
        _overridden: bool
        _loading: asyncio.Task[None] | None
        _runtime: Runtime | None
        _source: FlagSource | None

        def prepare(self) -> FlagSource | None: ...
        def _synchronize(self) -> None: ...
        def _hits_sent_on_this_thread(self) -> bool: ...
        def get(self, key: str, default: Any = None, activate: bool | None = None) -> Any: ...
        def info(self, key: str) -> dict[str, Any] | None: ...
        def activate(self, key: str) -> bool: ...
        def all(self) -> dict[str, Any]: ...
        def __contains__(self, key: object) -> bool: ...
        def send_hit(self, hit: Hit) -> bool: ...

    async def aload(self) -> None:
        """Synchronize without blocking the event loop; plain reads are then safe.

        Concurrent calls (``asyncio.gather`` of several ``aget``) share one
        synchronization, hence one Decision API call.
        """
        loading = self._loading
        if loading is None:
            if self._synchronized:
                return
            loading = self._loading = asyncio.ensure_future(self._aload())
        if not loading.done():
            # Shielded: a cancelled reader leaves the call to the others.
            await asyncio.shield(loading)

    async def _aload(self) -> None:
        try:
            if not self._prepared:
                await sync_to_async(self.prepare)()
            rt = self._runtime
            if rt is not None and rt.configured and rt.mode is Mode.DECISION_API:
                await self._asynchronize()
            else:
                await sync_to_async(self._synchronize)()
        except Exception:
            logger.exception("Flagship: synchronizing the visitor failed; defaults are served")
            self._synchronized = True

    async def _asynchronize(self) -> None:
        """The synchronization in DECISION_API mode, the call awaited on the event loop."""
        if self._synchronized:
            return
        self._synchronized = True
        source = self._source
        rt = self._runtime
        if source is None or rt is None or self._overridden:
            return
        try:
            await source.synchronize_modifications_async()  # type: ignore[attr-defined]
        except Exception:
            logger.exception("Flagship: synchronizing the visitor failed; defaults are served")

    def _sends_on_this_thread(self, key: str, activate: bool | None) -> bool:
        """Whether reading ``key`` now would POST an activation synchronously."""
        source = self._source
        rt = self._runtime
        if source is None or rt is None:
            return False
        if not (activate if activate is not None else rt.auto_activate):
            return False
        if not self._hits_sent_on_this_thread():
            return False
        flag = source.get_flag(key)
        if flag is None:
            return False
        marker = flag.assignment.marker
        return marker not in source.activated

    async def aget(self, key: str, default: Any = None, activate: bool | None = None) -> Any:
        """:meth:`get` for async views."""
        await self.aload()
        if self._sends_on_this_thread(key, activate):
            return await sync_to_async(self.get, thread_sensitive=False)(key, default, activate)
        return self.get(key, default, activate)

    async def ainfo(self, key: str) -> dict[str, Any] | None:
        await self.aload()
        return self.info(key)

    async def aactivate(self, key: str) -> bool:
        await self.aload()
        if self._sends_on_this_thread(key, True):
            return await sync_to_async(self.activate, thread_sensitive=False)(key)
        return self.activate(key)

    async def aall(self) -> dict[str, Any]:
        await self.aload()
        return self.all()

    async def ahas(self, key: str) -> bool:
        """``key in request.flags`` for async views."""
        await self.aload()
        return key in self

    async def asend_hit(self, hit: Hit) -> bool:
        if not self._prepared:
            await sync_to_async(self.prepare)()
        if self._hits_sent_on_this_thread():
            return await sync_to_async(self.send_hit, thread_sensitive=False)(hit)
        return self.send_hit(hit)


#: For the blocking-call warning: each public accessor method that may
#: synchronize, as the caller wrote it, and what async code writes instead.
_ASYNC_FORMS = {
    "get": ("flags.get()", "await flags.aget(...)"),
    "info": ("flags.info()", "await flags.ainfo(...)"),
    "activate": ("flags.activate()", "await flags.aactivate(...)"),
    "all": ("flags.all()", "await flags.aall()"),
    "__contains__": ("'key in flags'", "await flags.ahas(key)"),
    "flag": ("flags.flag()", "await flags.aload(), then flags.flag(...)"),
    "visitor": ("flags.visitor", "await flags.aload(), then flags.visitor"),
}


@functools.cache
def _form_codes(accessor: type) -> dict[CodeType, str]:
    codes = {}
    for name in _ASYNC_FORMS:
        member = inspect.getattr_static(accessor, name)
        function = member.fget if isinstance(member, property) else member
        assert function is not None  # each of these properties has a getter
        codes[function.__code__] = name
    return codes


def warn_if_blocking_loop(accessor: type) -> None:
    """Warn when the Decision API call about to be made blocks a running event loop.

    ``accessor`` is the class whose public methods the caller may have used.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return
    # The outermost accessor method on the stack is the one the caller used;
    # looked for only here, on the rare misuse, so reads pay nothing for it.
    codes = _form_codes(accessor)
    name = None
    frame: FrameType | None = sys._getframe(1)
    while frame is not None:
        name = codes.get(frame.f_code, name)
        frame = frame.f_back
    used, instead = _ASYNC_FORMS.get(name or "", ("a flag read", "await flags.aload()"))
    warn_rarely(
        f"event-loop:{name}",
        "Flagship: %s called the Decision API synchronously on the event loop's "
        "thread, blocking it for the call. In async code use '%s' (and 'await "
        "request.flags.aload()' before rendering templates that read flags).",
        used,
        instead,
    )
