"""``request.flags``: a lazy, typed, never-raising view of the visitor's flags.

Attaching it costs one small object. The first read resolves the visitor,
builds the context and synchronizes once for the whole request (in
DECISION_API mode: one HTTP call at most); later reads are dictionary
lookups. A read whose flag is missing, has another type than the default, or
fails for any reason returns the default, and the reason goes to the log.

Async views use the ``a``-prefixed methods (``await request.flags.aget(...)``),
so the event loop never waits on the network: in DECISION_API mode the call
is awaited on the loop (aiohttp, the ``async`` extra), otherwise the
synchronization runs in a worker thread. After ``await
request.flags.aload()`` the plain methods (and the template tags) are safe in
an async view too.

This module is the accessor only. Around it: the async methods are
:class:`~django_flagship.async_support.AsyncFlags`; the assignment history is
:mod:`django_flagship.sdk.history` on the store of
:mod:`django_flagship.history`; consent is
:func:`~django_flagship.consent.resolve_consent`; a test override comes
through :mod:`django_flagship.overrides`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from django.http import HttpRequest

from . import overrides
from .async_support import AsyncFlags, warn_if_blocking_loop
from .client import Runtime, runtime
from .consent import resolve_consent
from .context import default_context, visitor_context
from .history import session_mirror
from .identity import Identity, resolve_identity
from .sdk import Mode, history
from .sdk.events import Tracker
from .sdk.history import Mirror
from .sdk.hits import Hit
from .sdk.model import FlagInfo
from .sdk.visitor import typed_value

if TYPE_CHECKING:
    from .sdk.visitor import Visitor

__all__ = [
    "FlagRead",
    "FlagSource",
    "Flags",
    "RequestFlags",
    "record_reads",
    "recording_reads",
    "typed",
]

logger = logging.getLogger("django_flagship")

#: Whether ``get()`` keeps its reads (see :func:`record_reads`). A module global:
#: testing it is the cheapest thing a read can do.
_recording = False


def record_reads(on: bool = True) -> None:
    """From now on, every accessor of the process keeps its ``get()`` calls in ``reads``.

    Off by default; the debug-toolbar panel turns it on when the toolbar starts.
    Off, a read costs nothing more.
    """
    global _recording
    _recording = bool(on)


def recording_reads() -> bool:
    """Whether :func:`record_reads` is on."""
    return _recording


def typed(value: Any, default: Any) -> tuple[Any, bool]:
    """:func:`typed_value`, where a ``str`` subclass default (``SafeString``) means ``str``."""
    if value.__class__ is default.__class__:
        return value, True
    if isinstance(default, str) and type(default) is not str:
        plain, matched = typed_value(value, "")
        return (plain, True) if matched else (default, False)
    return typed_value(value, default)


@dataclass(frozen=True, slots=True)
class FlagRead:
    """One ``get()``: the key, the default given, the value served, ``activate`` given."""

    key: str
    default: Any
    value: Any
    activate: bool | None


class FlagSource(Protocol):
    """What the accessor reads from: an SDK visitor, or a test override's source."""

    visitor_id: str
    anonymous_id: str | None

    def get_flag(self, key: str) -> FlagInfo | None: ...

    @property
    def flags(self) -> dict[str, FlagInfo]: ...

    @property
    def activated(self) -> frozenset[tuple[str, str]]: ...

    def activate_modification(self, key: str) -> bool: ...

    def activate_flag(self, flag: FlagInfo) -> bool: ...

    def get_modification_info(self, key: str) -> dict[str, Any] | None: ...

    def send_hit(self, hit: Hit) -> bool: ...


# -- the accessor --------------------------------------------------------------


class Flags(AsyncFlags):
    """The flags of one visitor, decided lazily, at most once.

    Built by the middleware for each request as :class:`RequestFlags`; this
    base class takes explicit ids and context for code running outside a
    request.
    """

    # Kept only while record_reads() is on.
    _reads: list[FlagRead] | None = None
    _history_used: dict[str, str] | None = None
    # The state of an accessor nothing has read yet, in the class: a request
    # that reads no flag pays for no attribute. Each is set on the instance
    # when it changes.
    _runtime: Runtime | None = None
    _source: FlagSource | None = None
    _identity: Identity | None = None
    _prepared = False
    #: Whether a test override serves the flags (see django_flagship.overrides).
    _overridden = False
    _synchronized = False
    #: ``FLAGSHIP_AUTO_ACTIVATE`` of :attr:`runtime`, read once by :meth:`prepare`.
    _auto_activate = False
    _loading: asyncio.Task[None] | None = None
    _mismatched: set[str] | None = None
    #: True once the visitor was resolved: the response depends on who asked.
    used = False

    def __init__(
        self,
        visitor_id: str | None = None,
        context: Mapping[str, Any] | None = None,
        *,
        anonymous_id: str | None = None,
        consent: bool = True,
    ) -> None:
        self._given = (visitor_id, dict(context or {}), anonymous_id, consent)

    def __repr__(self) -> str:
        # Never resolves or synchronizes: error pages and debuggers call repr().
        state = "synchronized" if self._synchronized else "not loaded"
        who = f" visitor_id={self._identity.visitor_id!r}" if self._identity else ""
        return f"<{type(self).__name__}{who} {state}>"

    @property
    def runtime(self) -> Runtime | None:
        """The settings snapshot this accessor used (``None`` before any read)."""
        return self._runtime

    @property
    def decided(self) -> bool:
        """Whether the flags were decided (a read happened); never decides itself."""
        return self._synchronized

    @property
    def reads(self) -> tuple[FlagRead, ...]:
        """The ``get()`` calls so far, oldest first, while :func:`record_reads` is on."""
        return tuple(self._reads or ())

    @property
    def history_used(self) -> dict[str, str] | None:
        """The stored assignments the decision started from, while :func:`record_reads` is on.

        The visitor's ``assignment_history`` also holds what the decision added.
        """
        return None if self._history_used is None else dict(self._history_used)

    # -- what subclasses supply ----------------------------------------------

    def _resolve(self, rt: Runtime) -> tuple[Identity, Mapping[str, Any], bool]:
        visitor_id, context, anonymous_id, consent = self._given
        if not visitor_id:
            raise ValueError("Flags() needs a visitor_id outside a request")
        return Identity(visitor_id, anonymous_id, anonymous_id is not None), context, consent

    # -- loading ---------------------------------------------------------------

    def prepare(self) -> FlagSource | None:
        """Resolve the visitor and its context, once; cheap, no network, never raises.

        The source flags are read from: the SDK visitor, not synchronized yet,
        or a test override's source; ``None`` when the visitor could not be
        prepared (the error is logged).
        """
        if self._prepared:
            return self._source
        self._prepared = True
        try:
            rt = self._runtime = runtime()
            self._auto_activate = rt.auto_activate
            identity, context, consent = self._resolve(rt)
            self._identity = identity
            self.used = True
            override = overrides.current()
            if override is not None:
                self._source = override.source(identity)
                self._overridden = True
            else:
                self._source = rt.client.create_visitor(
                    identity.visitor_id,
                    context,
                    anonymous_id=identity.anonymous_id,
                    consent=consent,
                )
        except Exception:
            logger.exception("Flagship: could not prepare the visitor; defaults are served")
            self._source = None
        return self._source

    def _synchronize(self) -> None:
        """Decide the visitor's flags once (BUCKETING: local; DECISION_API: one call)."""
        if self._synchronized:
            return
        self._synchronized = True
        source = self.prepare()
        rt = self._runtime
        if source is None or rt is None or self._overridden:
            return
        if not rt.configured:
            return
        visitor: Visitor = source  # type: ignore[assignment]
        try:
            if rt.mode is Mode.BUCKETING:
                if rt.poller is not None and rt.poller.current() is None:
                    logger.debug("Flagship: no bucket yet; defaults are served")
                    return
                store = rt.history
                mirror = None if store is None else self._mirror(rt)
                loaded = None if store is None else history.load(store, visitor, mirror)
                if _recording:
                    self._history_used = dict(visitor.assignment_history)
                visitor.synchronize_modifications()
                if store is not None and loaded is not None:
                    new = self._identity is not None and self._identity.new
                    history.save(store, visitor, loaded, mirror, remember=not new)
            else:
                warn_if_blocking_loop(Flags)
                visitor.synchronize_modifications()
        except Exception:
            logger.exception("Flagship: synchronizing the visitor failed; defaults are served")

    def _load(self) -> FlagSource | None:
        self._synchronize()
        return self._source

    # -- assignment history (BUCKETING mode; see django_flagship.sdk.history) -----

    def _mirror(self, rt: Runtime) -> Mirror | None:
        """A session-like mapping mirroring the history, or ``None``."""
        return None

    # -- reading -----------------------------------------------------------------

    def _report_mismatch(self, key: str, value: Any, default: Any) -> None:
        if self._mismatched is None:
            self._mismatched = set()
        if key not in self._mismatched:
            self._mismatched.add(key)
            logger.warning(
                "Flagship: flag %r is a %s, not a %s like its default; the default is served",
                key,
                type(value).__name__,
                type(default).__name__,
            )

    def get(self, key: str, default: Any = None, activate: bool | None = None) -> Any:
        """The flag's value when it has the default's type, else ``default``.

        A bool default accepts only bools, an int default never a bool. Reads
        activate the variation (once per request) unless ``activate=False`` or
        ``FLAGSHIP_AUTO_ACTIVATE = False``.
        """
        # The read is written out here rather than in a helper: it is the
        # request path's most frequent call.
        try:
            source = self._source if self._synchronized else self._load()
            flag = None if source is None else source.get_flag(key)
            if flag is None:
                value = default
            else:
                value = flag.value
                # The type matches, or a None default accepts any (as typed() says).
                if value.__class__ is not default.__class__ and default is not None:
                    value, matched = typed(value, default)
                    if not matched and flag.value is not None:
                        # A misconfigured flag: the visitor sees the default, not the
                        # variation, so no exposure is reported (a null flag, the
                        # reference variation's "keep the default", is one and is
                        # activated).
                        self._report_mismatch(key, flag.value, default)
                        flag = None
                if flag is not None and (self._auto_activate if activate is None else activate):
                    source.activate_flag(flag)  # type: ignore[union-attr]
        except Exception:
            logger.exception("Flagship: reading flag %r failed; the default is served", key)
            value = default
        if _recording:
            self._record(FlagRead(key, default, value, activate))
        return value

    def _record(self, read: FlagRead) -> None:
        if self._reads is None:
            self._reads = []
        self._reads.append(read)

    def info(self, key: str) -> dict[str, Any] | None:
        """Campaign, variation group and variation behind ``key``, or ``None``."""
        try:
            source = self._load()
            return None if source is None else source.get_modification_info(key)
        except Exception:
            logger.exception("Flagship: info(%r) failed", key)
            return None

    def flag(self, key: str) -> FlagInfo | None:
        """The raw flag and the assignment behind it, without activating; ``None`` if absent."""
        try:
            source = self._load()
            return None if source is None else source.get_flag(key)
        except Exception:
            logger.exception("Flagship: flag(%r) failed", key)
            return None

    def activate(self, key: str) -> bool:
        """Report that the visitor saw the variation behind ``key`` (once per request)."""
        try:
            source = self._load()
            return False if source is None else source.activate_modification(key)
        except Exception:
            logger.exception("Flagship: activate(%r) failed", key)
            return False

    def all(self) -> dict[str, Any]:
        """Every flag's raw value, without activating anything."""
        try:
            source = self._load()
            if source is None:
                return {}
            return {key: flag.value for key, flag in source.flags.items()}
        except Exception:
            logger.exception("Flagship: all() failed")
            return {}

    def __contains__(self, key: object) -> bool:
        try:
            source = self._load()
            return source is not None and isinstance(key, str) and source.get_flag(key) is not None
        except Exception:
            logger.exception("Flagship: reading flag %r failed", key)
            return False

    def send_hit(self, hit: Hit) -> bool:
        """Validate and send a hit for this visitor; ``False`` when refused."""
        try:
            source = self.prepare()
            return False if source is None else source.send_hit(hit)
        except Exception:
            logger.exception("Flagship: send_hit failed")
            return False

    def set_consent(self, consent: bool) -> bool:
        """Apply the visitor's consent choice and send the consent hit.

        :func:`django_flagship.consent.set_consent` also keeps it in the session.
        """
        try:
            source = self.prepare()
            setter = getattr(source, "set_consent", None)
            if setter is None:  # no visitor, or a test override
                return False
            setter(consent)
            return True
        except Exception:
            logger.exception("Flagship: set_consent failed")
            return False

    @property
    def visitor_id(self) -> str | None:
        """The id flags are decided for (resolving it may create an anonymous id)."""
        self.prepare()
        return self._identity.visitor_id if self._identity else None

    @property
    def identity(self) -> Identity | None:
        """Who the flags are for (resolving it may create an anonymous id)."""
        self.prepare()
        return self._identity

    @property
    def anonymous_id(self) -> str | None:
        """The anonymous id kept after login (experience continuity), or ``None``."""
        self.prepare()
        return self._identity.anonymous_id if self._identity else None

    @property
    def visitor(self) -> Visitor | None:
        """The synchronized SDK visitor (``None`` under ``override_flags``)."""
        source = self._load()
        return None if self._overridden else source  # type: ignore[return-value]

    # -- what the async side (async_support.AsyncFlags) asks -----------------------

    def _hits_sent_on_this_thread(self) -> bool:
        """Whether sending a hit now would POST it synchronously."""
        rt = self._runtime
        return rt is not None and _sends_synchronously(rt.client.tracker)


class RequestFlags(Flags):
    """``request.flags``: the visitor and context come from the request."""

    def __init__(self, request: HttpRequest) -> None:
        # Nothing of Flags.__init__ applies: the ids and context come from the request.
        self._request = request

    def _resolve(self, rt: Runtime) -> tuple[Identity, Mapping[str, Any], bool]:
        request = self._request
        identity = resolve_identity(request, rt)
        context: Mapping[str, Any]
        try:
            context = visitor_context(request, rt)
        except Exception:
            logger.exception("Flagship: FLAGSHIP_CONTEXT failed; using the default context")
            context = default_context(request, groups=rt.context_groups)
        return identity, context, resolve_consent(request, rt)

    def _mirror(self, rt: Runtime) -> Mirror | None:
        return session_mirror(self._request, rt)

    @property
    def new_cookie(self) -> str | None:
        """An anonymous id created for a request without a session."""
        return self._identity.new_cookie if self._identity else None


def _sends_synchronously(tracker: Tracker | None) -> bool:
    """Whether handing an item to ``tracker`` POSTs it in the caller's thread."""
    return tracker is not None and tracker.blocking
