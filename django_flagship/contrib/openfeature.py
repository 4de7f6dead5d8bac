"""Flagship behind OpenFeature: a provider for the ``openfeature-sdk`` package.

Install it with ``pip install django-flagship[openfeature]``::

    from openfeature import api
    from openfeature.evaluation_context import EvaluationContext

    from django_flagship.contrib.openfeature import FlagshipProvider
    from django_flagship.sdk import Config

    api.set_provider_and_wait(FlagshipProvider(config=Config("env-id", "api-key")))
    client = api.get_client()
    context = EvaluationContext("user-42", {"plan": "pro"})
    if client.get_boolean_value("vip_feature", False, context):
        ...

The evaluation context's ``targeting_key`` is the visitor id and its
attributes are the visitor context, under the SDK's rules (str, int, float
or bool values, or lists of those; anything else is dropped and logged once
per key). Reading a
flag activates its variation, as ``request.flags.get`` does.

In a Django project :func:`django_provider` builds the provider on the app's
configured client; see ``docs/beyond.md``. The module is over 500 lines because
the provider class implements OpenFeature's whole provider interface (five typed
evaluations, sync and async, tracking, events and shutdown) on one client.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import json
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import Any, Protocol, TypeVar

from openfeature.evaluation_context import EvaluationContext
from openfeature.event import ProviderEventDetails
from openfeature.exception import ErrorCode, ProviderFatalError, ProviderNotReadyError
from openfeature.flag_evaluation import FlagResolutionDetails, Reason
from openfeature.provider import AbstractProvider, Metadata
from openfeature.track import TrackingEventDetails

from ..sdk import Config, Flagship, Mode, Status
from ..sdk.bucketing import Bucket
from ..sdk.constants import RESERVED_CONTEXT_KEYS
from ..sdk.context import ContextError, context_value
from ..sdk.hits import Event, EventCategory, Hit
from ..sdk.memo import context_key as typed_context_key
from ..sdk.model import Assignment, FlagInfo
from ..sdk.visitor import Visitor

__all__ = [
    "Decision",
    "FlagSource",
    "FlagshipProvider",
    "changed_flags",
    "django_provider",
    "flag_metadata",
]

logger = logging.getLogger("django_flagship")

T = TypeVar("T")
ObjectValue = Sequence[Any] | Mapping[str, Any]

#: Refused context keys are logged once each; past this many, no longer remembered.
_REFUSED_KEYS_LIMIT = 1000


class FlagSource(Protocol):
    """What a decision is read from: an SDK visitor, or Django's accessor source."""

    def get_flag(self, key: str) -> FlagInfo | None: ...

    def activate_modification(self, key: str) -> bool: ...

    def send_hit(self, hit: Hit) -> bool: ...


class Decision:
    """One visitor's decided flags, or why there are none, kept in the provider's cache."""

    __slots__ = ("_metadata", "activated", "error", "expires", "panic", "source")

    def __init__(self, source: FlagSource | None, *, error: str | None = None) -> None:
        self.source = source
        self.error = error
        self.panic = bool(getattr(source, "panic", False))
        self.expires = 0.0
        self._metadata: dict[int, Mapping[str, bool | str]] = {}
        #: Flag keys already activated through this decision: not again.
        self.activated: set[str] = set()

    def activate(self, key: str) -> None:
        if key not in self.activated:
            self.activated.add(key)
            assert self.source is not None
            self.source.activate_modification(key)

    def metadata(self, assignment: Assignment) -> Mapping[str, bool | str]:
        """:func:`flag_metadata`, built once per assignment of this decision."""
        # Keyed by identity: the source holds the assignments, so ids stay unique.
        found = self._metadata.get(id(assignment))
        if found is None:
            found = self._metadata[id(assignment)] = MappingProxyType(flag_metadata(assignment))
        return found


# -- values -------------------------------------------------------------------


def _as_bool(value: Any) -> tuple[Any, bool]:
    return value, isinstance(value, bool)


def _as_str(value: Any) -> tuple[Any, bool]:
    return value, isinstance(value, str)


def _as_int(value: Any) -> tuple[Any, bool]:
    # JSON has one number type: 3.0 is the integer 3, a bool is never a number.
    if isinstance(value, bool):
        return value, False
    if isinstance(value, int):
        return value, True
    if isinstance(value, float) and value.is_integer():
        return int(value), True
    return value, False


def _as_float(value: Any) -> tuple[Any, bool]:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return value, False
    return float(value), True


def _as_object(value: Any) -> tuple[Any, bool]:
    if isinstance(value, (dict, list)):
        # A copy: the caller may change it, the decision is shared.
        return copy.deepcopy(value), True
    return value, False


_KINDS: dict[str, Callable[[Any], tuple[Any, bool]]] = {
    "boolean": _as_bool,
    "string": _as_str,
    "integer": _as_int,
    "float": _as_float,
    "object": _as_object,
}


def flag_metadata(assignment: Assignment) -> dict[str, bool | str]:
    """The campaign behind a flag, under the keys of ``request.flags.info()``."""
    metadata: dict[str, bool | str] = {
        "campaignId": assignment.campaign_id,
        "variationGroupId": assignment.variation_group_id,
        "variationId": assignment.variation_id,
        "isReference": assignment.reference,
    }
    for name, value in (
        ("slug", assignment.slug),
        ("campaignType", assignment.campaign_type),
        ("campaignName", assignment.campaign_name),
        ("variationName", assignment.variation_name),
    ):
        if value:
            metadata[name] = value
    return metadata


def _reason(assignment: Assignment) -> Reason:
    # An A/B test's variations are handed out by the visitor's hash; the
    # reference (the control) and single-variation campaigns are what
    # targeting gave this visitor.
    if assignment.campaign_type == "ab" and not assignment.reference:
        return Reason.SPLIT
    return Reason.TARGETING_MATCH


def _error(default: Any, code: ErrorCode, message: str) -> FlagResolutionDetails[Any]:
    return FlagResolutionDetails(
        default, error_code=code, error_message=message, reason=Reason.ERROR
    )


# -- what changed between two bucketing files ---------------------------------------


def _flag_fingerprints(bucket: Bucket | None) -> dict[str, str]:
    """``{flag key: digest of every campaign that sets it}``; targeting changes count."""
    if bucket is None:
        return {}
    campaigns = bucket.raw.get("campaigns") if isinstance(bucket.raw, Mapping) else None
    found: dict[str, list[str]] = {}
    for campaign in campaigns if isinstance(campaigns, list) else ():
        if not isinstance(campaign, Mapping):
            continue
        keys: set[str] = set()
        for group in campaign.get("variationGroups") or ():
            for variation in (group.get("variations") or ()) if isinstance(group, Mapping) else ():
                modifications = (
                    variation.get("modifications") if isinstance(variation, Mapping) else None
                )
                values = modifications.get("value") if isinstance(modifications, Mapping) else None
                if isinstance(values, Mapping):
                    keys.update(key for key in values if isinstance(key, str))
        if keys:
            text = json.dumps(campaign, sort_keys=True, default=str)
            for key in keys:
                found.setdefault(key, []).append(text)
    digests = {}
    for key, texts in found.items():
        digest = hashlib.sha1(usedforsecurity=False)
        for text in sorted(texts):
            digest.update(text.encode("utf-8"))
        digests[key] = digest.hexdigest()
    return digests


def changed_flags(before: Bucket | None, after: Bucket | None) -> list[str]:
    """Flag keys whose campaigns (values, allocation or targeting) differ, sorted."""
    if (before is not None and before.panic) != (after is not None and after.panic):
        # Panic switches every flag at once.
        return sorted(set(_flag_fingerprints(before)) | set(_flag_fingerprints(after)))
    old, new = _flag_fingerprints(before), _flag_fingerprints(after)
    return sorted(key for key in set(old) | set(new) if old.get(key) != new.get(key))


# -- the provider -------------------------------------------------------------------


class FlagshipProvider(AbstractProvider):
    """An OpenFeature provider that decides with a Flagship client.

    Give it a started :class:`~django_flagship.sdk.Flagship` client, or a
    :class:`~django_flagship.sdk.Config` (and optionally an unstarted client)
    for ``initialize`` to start. ``shutdown`` flushes pending hits and, unless
    ``close_client=False``, stops the client.

    A visitor's decision is kept for ``cache_ttl`` seconds per targeting key
    and context (``cache_size`` of them at most), so that reading several
    flags for the same visitor decides once: in DECISION_API mode that is one
    HTTP call instead of one per flag. A new bucketing file empties the cache.
    ``cache_ttl=0`` decides on every evaluation.
    """

    #: Subclasses that find their client elsewhere (Django's settings) set it false.
    _needs_client = True

    def __init__(
        self,
        client: Flagship | None = None,
        *,
        config: Config | None = None,
        activate: bool = True,
        cache_ttl: float = 1.0,
        cache_size: int = 10_000,
        close_client: bool = True,
        flush_timeout: float = 2.0,
    ) -> None:
        super().__init__()
        if client is None and config is None and self._needs_client:
            raise TypeError("FlagshipProvider needs a Flagship client or a Config")
        if cache_ttl < 0 or cache_size < 0:
            raise ValueError("cache_ttl and cache_size must be >= 0")
        self._client = client
        self._config = config
        self.activate = activate
        self.cache_ttl = float(cache_ttl)
        self.cache_size = int(cache_size)
        self.close_client = close_client
        self.flush_timeout = flush_timeout
        self._metadata = Metadata(name="Flagship")
        self._cache: OrderedDict[tuple[str, tuple[Any, ...]], Decision] = OrderedDict()
        self._lock = threading.Lock()
        self._generation = 0
        self._remove_listener: Callable[[], None] | None = None
        self._last_bucket: Bucket | None = None
        self._waiting_for_data = False
        self._known: tuple[Bucket | None, frozenset[str]] = (None, frozenset())
        self._refused: set[str] = set()
        self._segments: OrderedDict[str, str] = OrderedDict()
        #: Decisions being awaited, by event loop and cache key.
        self._pending: dict[tuple[Any, tuple[str, tuple[Any, ...]]], asyncio.Future[Decision]] = {}

    def __repr__(self) -> str:
        return f"<{type(self).__name__} client={self.client!r}>"

    @property
    def client(self) -> Flagship | None:
        """The Flagship client (``None`` until ``initialize`` when built from a Config)."""
        return self._client

    # -- lifecycle ------------------------------------------------------------

    def get_metadata(self) -> Metadata:
        return self._metadata

    def initialize(self, evaluation_context: EvaluationContext | None = None) -> None:
        """Start the client when needed; not ready until a bucket is loaded (BUCKETING)."""
        self._start_client()
        if self._remove_listener is None:
            self._remove_listener = self._listen(self._on_update)
        self._last_bucket = self.current_bucket()
        if not self._ready():
            # READY is emitted when the first bucketing file arrives.
            self._waiting_for_data = True
            raise ProviderNotReadyError("no bucketing file is loaded yet")
        self._waiting_for_data = False

    def _start_client(self) -> Flagship:
        client = self._client
        if client is None:
            client = self._client = Flagship()
        if client.status is not Status.READY:
            if self._config is None:
                raise ProviderFatalError("the Flagship client is not started and no Config given")
            client.start(self._config)
        return client

    def _listen(self, callback: Callable[[Bucket | None], None]) -> Callable[[], None]:
        """Subscribe ``callback`` to new decision data; returns the unsubscribe function."""
        client = self.client
        assert client is not None
        return client.on_update(callback)

    def shutdown(self) -> None:
        """Flush pending hits and, with ``close_client``, stop the client."""
        if self._remove_listener is not None:
            self._remove_listener()
            self._remove_listener = None
        self.clear_cache()
        client = self.client
        if client is None or client.status is not Status.READY:
            return
        tracker = client.tracker
        if tracker is not None:
            try:
                tracker.flush(self.flush_timeout)
            except Exception:
                logger.exception("Flagship: flushing hits at provider shutdown failed")
        if self.close_client:
            client.stop()

    def clear_cache(self) -> None:
        """Forget every cached decision (a new bucket does it automatically)."""
        with self._lock:
            self._cache.clear()
            self._generation += 1

    def current_bucket(self) -> Bucket | None:
        """The bucket decisions use now (``None`` in DECISION_API mode)."""
        client = self.client
        source = getattr(client.decision_manager, "source", None) if client else None
        current = getattr(source, "current", None)
        return current() if current is not None else None

    def _on_update(self, bucket: Bucket | None) -> None:
        self.clear_cache()
        bucket = bucket if bucket is not None else self.current_bucket()
        previous, self._last_bucket = self._last_bucket, bucket
        if self._waiting_for_data:
            self._waiting_for_data = False
            self.emit_provider_ready(ProviderEventDetails(message="a bucketing file was loaded"))
            return
        self.emit_provider_configuration_changed(
            ProviderEventDetails(
                flags_changed=changed_flags(previous, bucket),
                message="a new bucketing file was loaded",
            )
        )

    # -- decisions --------------------------------------------------------------

    def _context(self, attributes: Mapping[str, Any]) -> tuple[dict[str, Any], tuple[Any, ...]]:
        """The visitor context and its cache key; refused attributes are dropped."""
        if not attributes:
            return {}, ()
        items = tuple(attributes.items())
        for key, value in items:
            kind = value.__class__
            # The common case, checked inline: a plain str key, a str/bool/int value.
            if (
                (kind is str or kind is bool or kind is int)
                and key.__class__ is str
                and key
                and key not in RESERVED_CONTEXT_KEYS
            ):
                continue
            items = self._accepted(items)
            if any(value.__class__ is tuple for _, value in items):
                # A list, kept as a tuple: keyed element by element with types.
                context = dict(items)
                return context, ("typed", typed_context_key(context))
            break
        # The type is part of the key: True, 1 and 1.0 are equal in Python but
        # not to targeting. The order is the caller's: the same code passes the
        # same order, and another order only costs another cache entry.
        return dict(items), (items, tuple([value.__class__ for _, value in items]))

    def _accepted(self, items: tuple[tuple[Any, Any], ...]) -> tuple[tuple[Any, Any], ...]:
        accepted = []
        for key, value in items:
            try:
                value = context_value(key, value)
            except ContextError as exc:
                self._refuse(key, exc)
                continue
            accepted.append((key, value))
        return tuple(accepted)

    def _refuse(self, key: Any, exc: ContextError) -> None:
        name = repr(key)
        if name in self._refused:
            return
        if len(self._refused) < _REFUSED_KEYS_LIMIT:
            self._refused.add(name)
        logger.warning("Flagship: evaluation context attribute dropped: %s", exc)

    def _caching(self) -> bool:
        return self.cache_ttl > 0 and self.cache_size > 0

    def _cached(self, key: tuple[str, tuple[Any, ...]]) -> Decision | None:
        if not self._caching():
            return None
        # A plain read: dict.get is atomic, and an expired entry is replaced
        # when its visitor is decided again (or pushed out by newer ones).
        decision = self._cache.get(key)
        if decision is None or decision.expires <= time.monotonic():
            return None
        return decision

    def _decision(self, targeting_key: str, attributes: Mapping[str, Any]) -> Decision:
        context, context_key = self._context(attributes)
        key = (targeting_key, context_key)
        decision = self._cached(key)
        if decision is not None:
            return decision
        generation = self._generation
        return self._keep(key, generation, self.decide(targeting_key, context))

    async def _adecision(self, targeting_key: str, attributes: Mapping[str, Any]) -> Decision:
        """:meth:`_decision` on the event loop: concurrent evaluations of one visitor
        and context share one decision while the cache is on."""
        context, context_key = self._context(attributes)
        key = (targeting_key, context_key)
        decision = self._cached(key)
        if decision is not None:
            return decision
        if not self._caching():
            return await self.adecide(targeting_key, context)
        pending_key = (asyncio.get_running_loop(), key)
        pending = self._pending.get(pending_key)
        if pending is None:
            pending = asyncio.ensure_future(self._adecide_and_keep(key, targeting_key, context))
            self._pending[pending_key] = pending
            pending.add_done_callback(lambda _: self._pending.pop(pending_key, None))
        return await asyncio.shield(pending)

    async def _adecide_and_keep(
        self, key: tuple[str, tuple[Any, ...]], targeting_key: str, context: dict[str, Any]
    ) -> Decision:
        generation = self._generation
        return self._keep(key, generation, await self.adecide(targeting_key, context))

    def _keep(
        self, key: tuple[str, tuple[Any, ...]], generation: int, decision: Decision
    ) -> Decision:
        if decision.error is None and self._caching():
            decision.expires = time.monotonic() + self.cache_ttl
            with self._lock:
                # A decision taken on a bucket that was replaced meanwhile is not kept.
                if generation == self._generation:
                    self._cache.pop(key, None)  # re-inserted last: the oldest go first
                    self._cache[key] = decision
                    while len(self._cache) > self.cache_size:
                        self._cache.popitem(last=False)
        return decision

    def decide(self, targeting_key: str, context: dict[str, Any]) -> Decision:
        """Decide for one visitor now; subclasses change where the visitor comes from."""
        visitor = self._visitor(targeting_key, context)
        return self._decided(targeting_key, visitor, visitor.synchronize_modifications())

    async def adecide(self, targeting_key: str, context: dict[str, Any]) -> Decision:
        """:meth:`decide` for async code: a Decision API call is awaited on the loop."""
        visitor = self._visitor(targeting_key, context)
        return self._decided(
            targeting_key, visitor, await visitor.synchronize_modifications_async()
        )

    def _visitor(self, targeting_key: str, context: dict[str, Any]) -> Visitor:
        client = self.client
        assert client is not None
        visitor = client.create_visitor(targeting_key, context)
        # In BUCKETING mode a decision sends the context as a SEGMENT hit when it
        # changed; remembering what was sent keeps that to one per change, not
        # one per cache miss.
        visitor.segment_digest = self._segments.get(targeting_key)
        return visitor

    def _decided(self, targeting_key: str, visitor: Visitor, synchronized: bool) -> Decision:
        if not synchronized:
            return Decision(None, error=visitor.last_error or "the decision failed")
        if visitor.segment_digest is not None:
            with self._lock:
                self._segments[targeting_key] = visitor.segment_digest
                self._segments.move_to_end(targeting_key)
                while len(self._segments) > max(self.cache_size, 1):
                    self._segments.popitem(last=False)
        return Decision(visitor)

    def hit_source(self, targeting_key: str, context: dict[str, Any]) -> FlagSource:
        """Who ``track()`` sends hits as: the visitor, not decided (hits need no decision)."""
        client = self.client
        assert client is not None
        return client.create_visitor(targeting_key, context)

    def _known_flags(self) -> frozenset[str]:
        """Every flag key of the current bucket; empty in DECISION_API mode."""
        bucket = self.current_bucket()
        known_bucket, keys = self._known
        if bucket is not known_bucket:
            keys = frozenset(_flag_fingerprints(bucket))
            self._known = (bucket, keys)
        return keys

    def activates(self) -> bool:
        """Whether reading a flag sends its activation."""
        return bool(self.activate)

    def _ready(self) -> bool:
        client = self.client
        return client is not None and client.ready

    # -- resolution ---------------------------------------------------------------

    def _resolve(
        self,
        kind: str,
        flag_key: str,
        default: Any,
        evaluation_context: EvaluationContext | None,
        decision: Decision | None = None,
    ) -> FlagResolutionDetails[Any]:
        try:
            if not self._ready():
                return _error(
                    default, ErrorCode.PROVIDER_NOT_READY, "the Flagship client cannot decide yet"
                )
            if decision is None:
                targeting_key = evaluation_context.targeting_key if evaluation_context else None
                if not targeting_key:
                    return _error(
                        default,
                        ErrorCode.TARGETING_KEY_MISSING,
                        "the evaluation context needs a targeting_key (the visitor id)",
                    )
                assert evaluation_context is not None
                decision = self._decision(targeting_key, evaluation_context.attributes)
            return self._read(kind, flag_key, default, decision)
        except Exception as exc:
            logger.exception("Flagship: resolving flag %r failed; the default is served", flag_key)
            return _error(default, ErrorCode.GENERAL, f"{type(exc).__name__}: {exc}")

    def _read(
        self, kind: str, flag_key: str, default: Any, decision: Decision
    ) -> FlagResolutionDetails[Any]:
        if decision.error is not None:
            return _error(default, ErrorCode.GENERAL, decision.error)
        source = decision.source
        assert source is not None
        flag = source.get_flag(flag_key)
        if flag is None:
            if decision.panic:
                return FlagResolutionDetails(default, reason=Reason.DISABLED)
            if flag_key in self._known_flags():
                # A flag of the bucket, but no campaign of it targets this visitor.
                return FlagResolutionDetails(default, reason=Reason.DEFAULT)
            return _error(
                default, ErrorCode.FLAG_NOT_FOUND, f"no flag {flag_key!r} for this visitor"
            )
        assignment = flag.assignment
        metadata = decision.metadata(assignment)
        if flag.value is None:
            # The variation leaves the flag unset (often the reference): the
            # visitor sees the default, and that is what the test measures.
            if self.activates():
                decision.activate(flag_key)
            return FlagResolutionDetails(
                default,
                reason=Reason.DEFAULT,
                variant=assignment.variation_id,
                flag_metadata=metadata,
            )
        value, matched = _KINDS[kind](flag.value)
        if not matched:
            return FlagResolutionDetails(
                default,
                error_code=ErrorCode.TYPE_MISMATCH,
                error_message=f"flag {flag_key!r} is a {type(flag.value).__name__}, not {kind}",
                reason=Reason.ERROR,
                variant=assignment.variation_id,
                flag_metadata=metadata,
            )
        if self.activates():
            decision.activate(flag_key)
        return FlagResolutionDetails(
            value,
            reason=_reason(assignment),
            variant=assignment.variation_id,
            flag_metadata=metadata,
        )

    async def _resolve_async(
        self,
        kind: str,
        flag_key: str,
        default: Any,
        evaluation_context: EvaluationContext | None,
    ) -> FlagResolutionDetails[Any]:
        """Resolve on the event loop when nothing can block, else in a worker thread.

        A Decision API call (DECISION_API mode) is awaited on the loop.
        """
        if self._ready() and not self._sends_synchronously():
            targeting_key = evaluation_context.targeting_key if evaluation_context else None
            if targeting_key and evaluation_context is not None:
                try:
                    context_key = self._context(evaluation_context.attributes)[1]
                except Exception:
                    context_key = None
                decision = (
                    self._cached((targeting_key, context_key)) if context_key is not None else None
                )
                if decision is not None:
                    return self._resolve(kind, flag_key, default, evaluation_context, decision)
                if self.decides_without_io():
                    return self._resolve(kind, flag_key, default, evaluation_context)
                if self.decides_on_the_loop():
                    try:
                        decision = await self._adecision(
                            targeting_key, evaluation_context.attributes
                        )
                    except Exception as exc:
                        logger.exception(
                            "Flagship: resolving flag %r failed; the default is served", flag_key
                        )
                        return _error(default, ErrorCode.GENERAL, f"{type(exc).__name__}: {exc}")
                    return self._resolve(kind, flag_key, default, evaluation_context, decision)
        return await asyncio.to_thread(self._resolve, kind, flag_key, default, evaluation_context)

    def decides_without_io(self) -> bool:
        """Whether a decision is pure computation (BUCKETING on a bucket in memory)."""
        return self._mode() is Mode.BUCKETING

    def decides_on_the_loop(self) -> bool:
        """Whether :meth:`adecide` awaits its only I/O (DECISION_API mode)."""
        return self._mode() is Mode.DECISION_API

    def _mode(self) -> Mode | None:
        client = self.client
        config = client.config if client is not None else None
        return config.mode if config is not None else None

    def _sends_synchronously(self) -> bool:
        """Whether an activation would be POSTed on the caller's thread."""
        client = self.client
        if not self.activates() or client is None:
            return False
        tracker = client.tracker
        return tracker is not None and tracker.blocking

    def resolve_boolean_details(
        self,
        flag_key: str,
        default_value: bool,
        evaluation_context: EvaluationContext | None = None,
    ) -> FlagResolutionDetails[bool]:
        return self._resolve("boolean", flag_key, default_value, evaluation_context)

    def resolve_string_details(
        self,
        flag_key: str,
        default_value: str,
        evaluation_context: EvaluationContext | None = None,
    ) -> FlagResolutionDetails[str]:
        return self._resolve("string", flag_key, default_value, evaluation_context)

    def resolve_integer_details(
        self,
        flag_key: str,
        default_value: int,
        evaluation_context: EvaluationContext | None = None,
    ) -> FlagResolutionDetails[int]:
        return self._resolve("integer", flag_key, default_value, evaluation_context)

    def resolve_float_details(
        self,
        flag_key: str,
        default_value: float,
        evaluation_context: EvaluationContext | None = None,
    ) -> FlagResolutionDetails[float]:
        return self._resolve("float", flag_key, default_value, evaluation_context)

    def resolve_object_details(
        self,
        flag_key: str,
        default_value: ObjectValue,
        evaluation_context: EvaluationContext | None = None,
    ) -> FlagResolutionDetails[ObjectValue]:
        return self._resolve("object", flag_key, default_value, evaluation_context)

    async def resolve_boolean_details_async(
        self,
        flag_key: str,
        default_value: bool,
        evaluation_context: EvaluationContext | None = None,
    ) -> FlagResolutionDetails[bool]:
        return await self._resolve_async("boolean", flag_key, default_value, evaluation_context)

    async def resolve_string_details_async(
        self,
        flag_key: str,
        default_value: str,
        evaluation_context: EvaluationContext | None = None,
    ) -> FlagResolutionDetails[str]:
        return await self._resolve_async("string", flag_key, default_value, evaluation_context)

    async def resolve_integer_details_async(
        self,
        flag_key: str,
        default_value: int,
        evaluation_context: EvaluationContext | None = None,
    ) -> FlagResolutionDetails[int]:
        return await self._resolve_async("integer", flag_key, default_value, evaluation_context)

    async def resolve_float_details_async(
        self,
        flag_key: str,
        default_value: float,
        evaluation_context: EvaluationContext | None = None,
    ) -> FlagResolutionDetails[float]:
        return await self._resolve_async("float", flag_key, default_value, evaluation_context)

    async def resolve_object_details_async(
        self,
        flag_key: str,
        default_value: ObjectValue,
        evaluation_context: EvaluationContext | None = None,
    ) -> FlagResolutionDetails[ObjectValue]:
        return await self._resolve_async("object", flag_key, default_value, evaluation_context)

    # -- tracking -----------------------------------------------------------------

    def track(
        self,
        tracking_event_name: str,
        evaluation_context: EvaluationContext | None = None,
        tracking_event_details: TrackingEventDetails | None = None,
    ) -> None:
        """Send an Event hit named ``tracking_event_name`` for the targeting key.

        ``details.value`` becomes the event value (a non-negative integer for
        Flagship), the ``label`` attribute its label, and a ``category``
        attribute of ``"User Engagement"`` its category (default: Action Tracking).
        """
        try:
            targeting_key = evaluation_context.targeting_key if evaluation_context else None
            client = self.client
            if not targeting_key or client is None or client.status is not Status.READY:
                logger.error(
                    "Flagship: track(%r) needs a started client and a targeting_key; not sent",
                    tracking_event_name,
                )
                return
            event = self._event(tracking_event_name, tracking_event_details)
            assert evaluation_context is not None
            context, _ = self._context(evaluation_context.attributes)
            self.hit_source(targeting_key, context).send_hit(event)
        except Exception:
            logger.exception("Flagship: track(%r) failed", tracking_event_name)

    @staticmethod
    def _event(name: str, details: TrackingEventDetails | None) -> Event:
        attributes = details.attributes if details is not None else {}
        engagement = attributes.get("category") == EventCategory.USER_ENGAGEMENT.value
        event = Event(
            EventCategory.USER_ENGAGEMENT if engagement else EventCategory.ACTION_TRACKING, name
        )
        label = attributes.get("label")
        if isinstance(label, str):
            event.with_event_label(label)
        value = details.value if details is not None else None
        if value is not None:
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
                event.with_event_value(value)
            else:
                logger.warning(
                    "Flagship: event %r sent without its value %r: Flagship takes only "
                    "non-negative integers",
                    name,
                    value,
                )
        return event


def django_provider(**options: Any) -> FlagshipProvider:
    """A provider on the Django app's configured client (``FLAGSHIP_*`` settings).

    It decides through the accessor ``request.flags`` is built on, so it shares
    the bucket in the Django cache, the hit queue, the assignment history and
    ``override_flags``. ``options`` are :class:`FlagshipProvider`'s, except that
    ``activate`` defaults to ``FLAGSHIP_AUTO_ACTIVATE`` and ``close_client`` to
    ``False``: the client is the site's.
    """
    from ._openfeature_django import DjangoFlagshipProvider

    return DjangoFlagshipProvider(**options)
