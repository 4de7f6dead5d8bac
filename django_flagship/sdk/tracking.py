"""Delivery of hits and activations to Flagship's collector.

:class:`CollectorClient` is the transport: it turns queued items into the wire
envelopes and posts them, and tells retryable failures from permanent ones.
The :class:`~django_flagship.sdk.events.Tracker` interface (in
:mod:`~django_flagship.sdk.events`, re-exported here) is what the visitor
talks to; the trackers here send at once (:class:`SyncTracker`), write to the
log (:class:`LogTracker`, the offline default) or keep everything in memory
(:class:`MemoryTracker`); :class:`~django_flagship.sdk.flusher.BackgroundTracker`
batches them on a thread of its own.

Batches are split so that no request body exceeds ``max_batch_bytes``
(default 2 500 000 bytes of serialized JSON, the batch limit Flagship's SDKs
use, here measured on the real body) or ``max_batch_items`` items (default
100). ``qt`` is computed for each request just before it is sent, from each
item's float creation time.

The API key is never sent to the collector or the activate endpoint: the
client does not know it, and it strips any ``x-api-key`` or ``Authorization``
header a shared :class:`requests.Session` may carry.

The module is over 500 lines because the transport (envelopes, byte caps,
the error classes) and the three small trackers that the documented path
``django_flagship.sdk.tracking`` exports live together; the trackers are
about 130 of them, and moving them would make this module import theirs.
"""

from __future__ import annotations

import collections
import email.utils
import json
import logging
import re
import threading
import time
import types
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, ClassVar, NamedTuple, TypeVar, cast

import requests

from . import strict_json
from .constants import ACTIVATE_URL, EVENTS_URL, SDK_CLIENT, SDK_VERSION
from .events import COLLECTOR, LOG, MEMORY, Tracker, TrackerBase
from .hits import (
    HIT_EXPIRATION_SECONDS,
    Activation,
    Hit,
    InvalidHitError,
    new_item_id,
    queue_time_ms,
    segment_values,
)

__all__ = [
    "ACTIVATE_URL",
    "EVENTS_URL",
    "MAX_BATCH_BYTES",
    "MAX_BATCH_ITEMS",
    "CollectorClient",
    "DeliveryError",
    "HitRecord",
    "LogTracker",
    "MemoryTracker",
    "PermanentDeliveryError",
    "RetryableDeliveryError",
    "SyncTracker",
    "TrackedHit",
    "Tracker",
]

logger = logging.getLogger(__name__)

MAX_BATCH_BYTES = 2_500_000
MAX_BATCH_ITEMS = 100

# Statuses worth trying again later; every other non-2xx status is final.
_RETRYABLE_STATUSES = frozenset({408, 429})
_ERROR_TEXT_LIMIT = 200


@dataclass(frozen=True, slots=True)
class TrackedHit:
    """A hit's payload bound to the visitor who sent it.

    ``visitor_id`` is the visitor's current id (the authenticated id once
    logged in) and ``anonymous_id`` the id it had before, or ``None``. On the
    wire that becomes ``vid`` = anonymous id and ``cuid`` = authenticated id,
    or ``vid`` = visitor id and ``cuid`` = ``null`` for an anonymous visitor:
    the reverse of an activation. ``id`` is unique, for de-duplication.
    """

    payload: Mapping[str, Any]
    visitor_id: str
    anonymous_id: str | None = None
    created_at: float = field(default_factory=time.time)
    id: str = field(default_factory=new_item_id)

    def __post_init__(self) -> None:
        # A read-only copy: the hit builder may keep changing after this.
        object.__setattr__(self, "payload", types.MappingProxyType(dict(self.payload)))

    @classmethod
    def from_hit(cls, hit: Hit, visitor_id: str, anonymous_id: str | None = None) -> TrackedHit:
        """Validate ``hit`` and bind a snapshot of it to the visitor."""
        hit.validate()
        for key, value, optional in (("vid", visitor_id, False), ("aid", anonymous_id, True)):
            if optional and value is None:
                continue
            if not isinstance(value, str) or not value.strip():
                raise InvalidHitError("TrackedHit", key, f"must be a non-empty str, got {value!r}")
        return cls(hit.to_payload(), visitor_id, anonymous_id)

    @property
    def hit_type(self) -> str | None:
        """The payload's ``t``."""
        return self.payload.get("t")

    def is_expired(self, now: float | None = None) -> bool:
        """True once the hit is too old to be worth sending."""
        now = time.time() if now is None else now
        return now - self.created_at >= HIT_EXPIRATION_SECONDS

    def to_payload(self, *, now: float | None = None) -> dict[str, Any]:
        """The batch child: the hit's fields plus ``vid``, ``cuid`` and ``qt``."""
        now = time.time() if now is None else now
        payload = dict(self.payload)
        if self.anonymous_id is not None:
            payload["vid"] = self.anonymous_id
            payload["cuid"] = self.visitor_id
        else:
            payload["vid"] = self.visitor_id
            payload["cuid"] = None
        payload["qt"] = queue_time_ms(self.created_at, now)
        return payload


class HitRecord(NamedTuple):
    """What identifies a hit, as the request path records it: its fields, the visitor, the time.

    :meth:`build` makes the :class:`TrackedHit` (its read-only copy of the
    fields and its random id) later, where it costs no request. ``payload``
    must not change after it is recorded. ``segment``, for a SEGMENT hit, is
    the validated context its ``s`` is written from by :meth:`build` (it must
    not change either).
    """

    payload: Mapping[str, Any]
    visitor_id: str
    anonymous_id: str | None
    created_at: float
    segment: Mapping[str, Any] | None = None

    def build(self) -> TrackedHit:
        payload = self.payload
        if self.segment is not None:
            payload = {**payload, "s": segment_values(self.segment)}
        return TrackedHit(payload, self.visitor_id, self.anonymous_id, self.created_at)


# --- errors ------------------------------------------------------------------


class DeliveryError(Exception):
    """A request to the collector failed.

    ``unsent`` holds the items that were not delivered (the failed request's
    and any later ones), in order, so a caller can queue them again.
    ``rejected`` is the leading part of ``unsent`` that made up the failed
    request: after a permanent failure a caller drops those and may still
    send the rest.
    """

    retryable: ClassVar[bool] = False

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.retry_after = retry_after
        self.unsent: tuple[Any, ...] = ()
        self.rejected: tuple[Any, ...] = ()


class RetryableDeliveryError(DeliveryError):
    """Timeout, connection failure, 5xx, 408 or 429: trying later may work."""

    retryable = True


class PermanentDeliveryError(DeliveryError):
    """Any other failure (mostly 4xx): sending the same body again will fail."""


def _shorten(text: str, limit: int = _ERROR_TEXT_LIMIT) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


# --- the client --------------------------------------------------------------

_Item = TypeVar("_Item", TrackedHit, Activation)


class CollectorClient:
    """Posts hit batches and activation batches for one environment.

    ``timeout`` is in seconds. Pass a ``session`` to share its connection
    pool; otherwise the client owns one and :meth:`close` closes it. Dropped
    items are counted in ``dropped_expired``, ``dropped_oversized`` and
    ``dropped_unserializable``, and logged.
    """

    def __init__(
        self,
        env_id: str,
        *,
        events_url: str = EVENTS_URL,
        activate_url: str = ACTIVATE_URL,
        timeout: float = 2.0,
        session: requests.Session | None = None,
        sdk_client: str = SDK_CLIENT,
        sdk_version: str = SDK_VERSION,
        max_batch_bytes: int = MAX_BATCH_BYTES,
        max_batch_items: int = MAX_BATCH_ITEMS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not isinstance(env_id, str) or not env_id.strip():
            raise ValueError("env_id must be a non-empty str")
        if not timeout > 0:
            raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
        if max_batch_items < 1:
            raise ValueError(f"max_batch_items must be at least 1, got {max_batch_items!r}")
        if max_batch_bytes < 1024:
            raise ValueError(f"max_batch_bytes must be at least 1024, got {max_batch_bytes!r}")
        self.env_id = env_id
        self.events_url = events_url
        self.activate_url = activate_url
        self.timeout = timeout
        self.max_batch_bytes = max_batch_bytes
        self.max_batch_items = max_batch_items
        self._clock = clock
        self._owns_session = session is None
        self._session = session if session is not None else requests.Session()
        # None removes a header the session may set for other Flagship calls.
        self._headers: dict[str, str | None] = {
            "Content-Type": "application/json",
            "x-sdk-client": sdk_client,
            "x-sdk-version": sdk_version,
            "x-api-key": None,
            "Authorization": None,
        }
        self._lock = threading.Lock()
        self.sent_hits = 0
        self.sent_activations = 0
        self.dropped_expired = 0
        self.dropped_oversized = 0
        self.dropped_unserializable = 0

    def __repr__(self) -> str:
        return (
            f"CollectorClient(env_id={self.env_id!r}, events_url={self.events_url!r}, "
            f"activate_url={self.activate_url!r}, timeout={self.timeout!r})"
        )

    def send_hits(self, items: Sequence[TrackedHit], *, deadline: float | None = None) -> None:
        """Post ``items`` as ``{"cid", "t": "BATCH", "ds": "APP", "h": [...]}``.

        ``deadline`` (a :func:`time.monotonic` time) bounds every request: each
        one waits at most what is left of it, and none starts once it passed.
        """
        head = {"cid": self.env_id, "t": "BATCH", "ds": "APP", "h": []}
        self._deliver(
            "hits",
            self.events_url,
            head,
            items,
            lambda item, now: item.to_payload(now=now),
            "sent_hits",
            deadline,
        )

    def send_activations(
        self, items: Sequence[Activation], *, deadline: float | None = None
    ) -> None:
        """Post ``items`` as ``{"cid", "batch": [...]}``; ``deadline`` as for :meth:`send_hits`."""
        head = {"cid": self.env_id, "batch": []}
        self._deliver(
            "activations",
            self.activate_url,
            head,
            items,
            lambda item, now: item.to_payload(now=now),
            "sent_activations",
            deadline,
        )

    def reset_after_fork(self) -> None:
        """Forget the parent's pooled connections and lock in a forked child.

        Closing the session in the child closes only the child's copies of
        the sockets; the parent's connections stay open and usable.
        """
        self._lock = threading.Lock()
        self._session.close()

    def close(self) -> None:
        """Close the session if this client created it."""
        if self._owns_session:
            self._session.close()

    def __enter__(self) -> CollectorClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # Internals -------------------------------------------------------------

    def _count(self, counter: str, amount: int) -> None:
        if amount:
            with self._lock:
                setattr(self, counter, getattr(self, counter) + amount)

    def _deliver(
        self,
        kind: str,
        url: str,
        head: dict[str, Any],
        items: Sequence[_Item],
        render: Callable[[_Item, float], dict[str, Any]],
        sent_counter: str,
        deadline: float | None = None,
    ) -> None:
        """Send ``items`` in as many requests as the caps require."""
        # Both envelopes end with their (empty) item list, so their JSON ends in
        # "[]}": cut it open after "[" and join the serialized items inside.
        opening, closing = strict_json.dumps(head).encode()[:-2], b"]}"
        pending: list[_Item] = list(items)
        position: int = 0
        expired = oversized = unserializable = 0
        try:
            while position < len(pending):
                # One clock reading per request: qt and expiry are exact at send time.
                now = self._clock()
                batch: list[_Item] = []
                parts: list[bytes] = []
                size = len(opening) + len(closing)
                while position < len(pending) and len(batch) < self.max_batch_items:
                    item = pending[position]
                    if item.is_expired(now):
                        expired += 1
                        position += 1
                        continue
                    rendered = render(item, now)
                    try:
                        part = strict_json.dumps(rendered).encode()
                    except (TypeError, ValueError):
                        logger.exception("Dropped a %s item that cannot be serialized", kind)
                        unserializable += 1
                        position += 1
                        continue
                    if len(opening) + len(part) + len(closing) > self.max_batch_bytes:
                        oversized += 1  # too big even alone
                        position += 1
                        continue
                    added = len(part) + (1 if parts else 0)  # the comma
                    if size + added > self.max_batch_bytes:
                        break  # it starts the next request
                    batch.append(item)
                    parts.append(part)
                    size += added
                    position += 1
                if not batch:
                    continue
                try:
                    self._post(
                        kind, url, opening + b",".join(parts) + closing, len(batch), deadline
                    )
                except DeliveryError as error:
                    error.unsent = (*batch, *pending[position:])
                    error.rejected = tuple(batch)
                    raise
                self._count(sent_counter, len(batch))
        finally:
            self._count("dropped_expired", expired)
            self._count("dropped_oversized", oversized)
            self._count("dropped_unserializable", unserializable)
            if expired:
                logger.warning(
                    "Dropped %d expired %s (older than %d h)",
                    expired,
                    kind,
                    HIT_EXPIRATION_SECONDS // 3600,
                )
            if oversized:
                logger.warning(
                    "Dropped %d %s larger than the %d-byte request cap",
                    oversized,
                    kind,
                    self.max_batch_bytes,
                )

    def _post(
        self, kind: str, url: str, body: bytes, count: int, deadline: float | None = None
    ) -> None:
        what = f"POST of {count} {kind} to {url}"
        timeout = self.timeout
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise RetryableDeliveryError(f"{what} not sent: its deadline has passed")
            timeout = min(timeout, left)
        try:
            response = self._session.post(url, data=body, headers=self._headers, timeout=timeout)
        except requests.Timeout as exc:
            raise RetryableDeliveryError(f"{what} timed out after {timeout:.3g} s") from exc
        except requests.ConnectionError as exc:
            raise RetryableDeliveryError(f"{what} failed to connect: {_shorten(str(exc))}") from exc
        except requests.RequestException as exc:
            raise PermanentDeliveryError(
                f"{what} failed: {type(exc).__name__}: {_shorten(str(exc))}"
            ) from exc
        status = response.status_code
        if 200 <= status < 300:
            return
        message = f"{what} failed: HTTP {status}"
        text = _shorten(response.text or "")
        if text:
            message = f"{message}: {text}"
        if status >= 500 or status in _RETRYABLE_STATUSES:
            raise RetryableDeliveryError(
                message, status_code=status, retry_after=_retry_after(response)
            )
        raise PermanentDeliveryError(message, status_code=status)


# --- trackers ----------------------------------------------------------------


class SyncTracker(TrackerBase):
    """Sends each item at once, in the caller's thread.

    Failures go to ``on_error`` (by default, a warning in the log); they are
    never raised to the caller, and nothing is retried.
    """

    kind = COLLECTOR
    blocking = True

    def __init__(
        self,
        client: CollectorClient,
        on_error: Callable[[Exception], None] | None = None,
    ) -> None:
        self.client = client
        self.on_error = on_error if on_error is not None else self._log_error

    def add_hit(self, item: TrackedHit) -> None:
        self._send(self.client.send_hits, item)

    def add_activation(self, item: Activation) -> None:
        self._send(self.client.send_activations, item)

    def flush(self, timeout: float | None = None) -> bool:
        return True  # nothing is ever pending

    def close(self) -> None:
        self.client.close()

    def _send(self, send: Callable[[Sequence[Any]], None], item: Any) -> None:
        try:
            send([item])
        except Exception as exc:  # the caller must never see a delivery failure
            try:
                self.on_error(exc)
            except Exception:
                logger.exception("The tracking error handler failed")

    @staticmethod
    def _log_error(exc: Exception) -> None:
        logger.warning("Flagship delivery failed: %s", exc)


class LogTracker(TrackerBase):
    """Writes each payload as one JSON line at INFO; sends nothing.

    The default when no environment is configured. Hits appear with their
    ``vid``, ``cuid`` and ``qt``; activations as their activation item.
    While the logger does not write INFO it :attr:`discards`: an activation
    recorded then is not even built.
    """

    kind = LOG

    def __init__(self, logger: logging.Logger | None = None) -> None:
        self.logger = logger if logger is not None else logging.getLogger("django_flagship.hits")

    @property
    def discards(self) -> bool:
        return not self.logger.isEnabledFor(logging.INFO)

    def add_hit(self, item: TrackedHit) -> None:
        self._write("hit", item)

    def add_activation(self, item: Activation) -> None:
        self._write("activation", item)

    def flush(self, timeout: float | None = None) -> bool:
        return True

    def close(self) -> None:
        pass

    def _write(self, kind: str, item: TrackedHit | Activation) -> None:
        if not self.logger.isEnabledFor(logging.INFO):
            return  # before building the payload: a disabled log costs nothing
        payload = item.to_payload()
        line = json.dumps(payload, ensure_ascii=False, default=str)
        self.logger.info("%s", line, extra={"flagship_kind": kind, "flagship_payload": payload})


class MemoryTracker(TrackerBase):
    """Keeps the latest ``maxlen`` hits and activations, for tests and debug pages.

    Thread-safe. When full, the oldest item is discarded and counted in
    ``dropped``.
    """

    kind = MEMORY

    def __init__(self, maxlen: int = 1000) -> None:
        if maxlen < 1:
            raise ValueError(f"maxlen must be at least 1, got {maxlen!r}")
        self.maxlen = maxlen
        self._hits: collections.deque[TrackedHit | HitRecord] = collections.deque(maxlen=maxlen)
        self._activations: collections.deque[Activation] = collections.deque(maxlen=maxlen)
        self._lock = threading.Lock()
        self.dropped = 0

    def add_hit(self, item: TrackedHit) -> None:
        self._add(self._hits, item)

    def record_hit(self, record: HitRecord) -> None:
        """Keep the record; it becomes a :class:`TrackedHit` when :attr:`hits` is read."""
        self._add(self._hits, record)

    def add_activation(self, item: Activation) -> None:
        self._add(self._activations, item)

    @property
    def hits(self) -> list[TrackedHit]:
        """A snapshot of the kept hits, oldest first (a recorded hit is built once, here)."""
        with self._lock:
            hits = self._hits
            if any(type(item) is HitRecord for item in hits):
                built = [item.build() if type(item) is HitRecord else item for item in hits]
                hits.clear()
                hits.extend(built)
            return cast(list[TrackedHit], list(hits))

    @property
    def activations(self) -> list[Activation]:
        """A snapshot of the kept activations, oldest first."""
        with self._lock:
            return list(self._activations)

    def clear(self) -> None:
        with self._lock:
            self._hits.clear()
            self._activations.clear()
            self.dropped = 0

    def flush(self, timeout: float | None = None) -> bool:
        return True

    def close(self) -> None:
        pass

    def _add(self, queue: collections.deque[Any], item: Any) -> None:
        with self._lock:
            if len(queue) == self.maxlen:
                self.dropped += 1
            queue.append(item)
