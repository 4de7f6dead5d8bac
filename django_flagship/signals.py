"""Signals sent for every hit and activation a visitor makes, and for each new bucket.

Every hit (``request.flags.send_hit(...)``, ``visitor.send_hit(...)``, the
automatic page hit, the consent hit, the bucketing ``SEGMENT`` hit) and every
activation leaves the request as one of these signals. The app's own
receivers put the item on its sink (the background queue to Flagship's
collector, the log, memory, or a custom sink); other apps may connect
receivers of their own, for analytics or auditing::

    from django.dispatch import receiver
    from django_flagship.signals import hit_tracked

    @receiver(hit_tracked)
    def audit_purchase(sender, item, payload, **kwargs):
        if payload["t"] == "TRANSACTION":
            AuditLog.objects.create(visitor=kwargs["visitor_id"], order=payload["tid"])

Receivers run synchronously in the request's thread, so keep them quick
(queue work instead of doing it). An exception in a receiver is logged by
Django and does not reach the view, nor stop the other receivers.
Disconnecting :func:`deliver_hit` or :func:`deliver_activation` stops the
delivery to Flagship, which some test suites want.

The signals are fed by the core's hooks: a :class:`SignalTracker` is the
core's :class:`~django_flagship.sdk.events.HookedTracker` with this module's
hooks. While the app's receiver is a signal's only one, sending it would only
call that receiver, so the tracker hands the item to the sink itself (an
activation then reaches it unbuilt, see
:meth:`~django_flagship.sdk.events.Tracker.record_activation`). Each signal
knows who listens by counting what :meth:`TrackingSignal.connect` and
:meth:`TrackingSignal.disconnect` did.

``hit_tracked`` arguments:

``sender``
    :class:`SignalTracker`.
``item``
    the :class:`~django_flagship.sdk.tracking.TrackedHit` (the hit object:
    its fields, visitor ids, creation time and unique ``id``).
``payload``
    the hit's wire fields, read-only: ``t``, ``ds`` and the type's own
    fields (``dl``, ``ec``/``ea``/``el``/``ev``, ``tid``/``ta``/``tr`` …).
    ``vid``, ``cuid`` and ``qt`` are added when it is sent.
``hit_type``
    ``payload["t"]``: ``"PAGEVIEW"``, ``"SCREENVIEW"``, ``"EVENT"``,
    ``"TRANSACTION"``, ``"ITEM"`` or ``"SEGMENT"``.
``visitor_id``
    the visitor's current id (the authenticated id once logged in).
``anonymous_id``
    the id the visitor had before logging in, or ``None``.
``tracker``
    the :class:`SignalTracker` instance; ``tracker.sink`` receives the item.

``activation_tracked`` arguments: ``sender``, ``item`` (the
:class:`~django_flagship.sdk.hits.Activation`), ``payload`` (``{"vid",
"aid", "caid", "vaid"}``, the variation group and variation ids),
``visitor_id``, ``anonymous_id`` and ``tracker``, as above.
"""

from __future__ import annotations

import logging
import threading
import types
from collections.abc import Callable
from typing import Any

from django.dispatch import Signal, receiver

from .sdk.bucket_store import BucketStore
from .sdk.bucketing import Bucket
from .sdk.events import BasicTracker, HookedTracker, Route
from .sdk.hits import Activation
from .sdk.tracking import TrackedHit

__all__ = [
    "ACTIVATION_RECEIVER_UID",
    "HIT_RECEIVER_UID",
    "SIGNAL_HOOKS",
    "SignalHooks",
    "SignalTracker",
    "TrackingSignal",
    "activation_tracked",
    "bucket_changed",
    "deliver_activation",
    "deliver_hit",
    "hit_tracked",
    "runtime_reset",
    "send_bucket_changed",
]

logger = logging.getLogger("django_flagship")

#: The dispatch uids of the app's own receivers.
HIT_RECEIVER_UID = "django_flagship.deliver_hit"
ACTIVATION_RECEIVER_UID = "django_flagship.deliver_activation"


class TrackingSignal(Signal):
    """A signal that knows who listens, from its own :meth:`connect` and :meth:`disconnect`.

    ``own_uid`` is the dispatch uid of the app's receiver, the one that hands
    items to the sink. :attr:`route` says where the next item goes:
    :attr:`~Route.SINK` while that receiver is the only one (the tracker then
    calls the sink itself, with no dispatch), :attr:`~Route.NOWHERE` when
    nobody is connected, and :attr:`~Route.LISTENERS` otherwise (the signal
    is sent). Django keeps a receiver connected twice only once, and forgets
    a weakly connected one that was garbage-collected, while this count does
    not: a count can only be too high, which sends the signal when it need
    not be, never skips a receiver.
    """

    def __init__(self, own_uid: str) -> None:
        super().__init__(use_caching=True)
        self.own_uid = own_uid
        self._count_lock = threading.Lock()
        self._own = 0
        self._others = 0
        self.route = Route.NOWHERE

    def connect(
        self,
        receiver: Callable[..., Any],
        sender: object | None = None,
        weak: bool = True,
        dispatch_uid: str | None = None,
    ) -> None:
        super().connect(receiver, sender, weak, dispatch_uid)
        self._counted(dispatch_uid, sender, 1)

    def disconnect(
        self,
        receiver: Callable[..., Any] | None = None,
        sender: object | None = None,
        dispatch_uid: str | None = None,
    ) -> bool:
        disconnected = super().disconnect(receiver, sender, dispatch_uid)
        if disconnected:
            self._counted(dispatch_uid, sender, -1)
        return disconnected

    def _counted(self, dispatch_uid: str | None, sender: object | None, step: int) -> None:
        with self._count_lock:
            if dispatch_uid == self.own_uid and sender is None:
                self._own = max(0, self._own + step)
            else:
                self._others = max(0, self._others + step)
            if self._others:
                self.route = Route.LISTENERS
            else:
                self.route = Route.SINK if self._own else Route.NOWHERE


#: Sent for each hit a visitor makes, before it is delivered.
hit_tracked = TrackingSignal(HIT_RECEIVER_UID)

#: Sent for each activation (a visitor exposed to a variation).
activation_tracked = TrackingSignal(ACTIVATION_RECEIVER_UID)


class SignalHooks:
    """The core's hooks, answered with this module's signals."""

    def hit_route(self) -> Route:
        return hit_tracked.route

    def activation_route(self) -> Route:
        return activation_tracked.route

    def on_hit(self, tracker: HookedTracker, item: TrackedHit) -> bool:
        hit_tracked.send_robust(
            SignalTracker,
            item=item,
            payload=item.payload,
            hit_type=item.hit_type,
            visitor_id=item.visitor_id,
            anonymous_id=item.anonymous_id,
            tracker=tracker,
        )
        return False  # delivered by deliver_hit, when it is connected

    def on_activation(self, tracker: HookedTracker, item: Activation) -> bool:
        activation_tracked.send_robust(
            SignalTracker,
            item=item,
            payload=types.MappingProxyType(
                {
                    "vid": item.visitor_id,
                    "aid": item.anonymous_id,
                    "caid": item.variation_group_id,
                    "vaid": item.variation_id,
                }
            ),
            visitor_id=item.visitor_id,
            anonymous_id=item.anonymous_id,
            tracker=tracker,
        )
        return False  # delivered by deliver_activation, when it is connected


#: The hooks every :class:`SignalTracker` uses.
SIGNAL_HOOKS = SignalHooks()


class SignalTracker(HookedTracker):
    """The tracker a Django client uses: every item becomes a signal, then reaches ``sink``.

    ``sink`` is the tracker the app's receivers hand the items to.
    :meth:`flush` and :meth:`close` are passed on to it, and so is any other
    attribute: ``tracker.stats()`` or ``tracker.hits`` reach the sink's.
    """

    def __init__(self, sink: BasicTracker) -> None:
        super().__init__(sink, SIGNAL_HOOKS)


@receiver(hit_tracked, dispatch_uid=HIT_RECEIVER_UID)
def deliver_hit(sender: Any, item: TrackedHit, tracker: HookedTracker, **kwargs: Any) -> None:
    """The app's receiver: hands the hit to the tracker's sink."""
    tracker.target.add_hit(item)


@receiver(activation_tracked, dispatch_uid=ACTIVATION_RECEIVER_UID)
def deliver_activation(
    sender: Any, item: Activation, tracker: HookedTracker, **kwargs: Any
) -> None:
    """The app's receiver: hands the activation to the tracker's sink."""
    tracker.target.add_activation(item)


# -- the runtime -------------------------------------------------------------------

#: Sent when the app's runtime (its client, bucket store and tracker) is closed,
#: to be rebuilt on next use: a ``FLAGSHIP_*`` setting changed, or
#: ``client.reset()`` was called. ``sender`` is :class:`~django_flagship.client.Runtime`;
#: ``runtime`` is the one closed. What was built for that runtime (the served
#: Decision API's trackers of each environment) is closed by its receivers.
runtime_reset = Signal()


# -- the bucket --------------------------------------------------------------------

#: Sent in each process when it starts using another bucket (a refresh here or
#: elsewhere, a seed from the file), with ``store``, ``bucket`` and ``version``;
#: the sender is the store's class (:class:`~.cache.CacheBucketStore`).
#: Receivers run in the thread that noticed the change and must be quick; one
#: that raises is logged and ignored. Fed by the bucket poller's update
#: listeners (:func:`send_bucket_changed`), like ``Flagship.on_update``.
bucket_changed = Signal()


def send_bucket_changed(store: BucketStore, bucket: Bucket | None) -> None:
    """Send :data:`bucket_changed` for ``store``; a receiver that raises is logged."""
    for _receiver, error in bucket_changed.send_robust(
        type(store), store=store, bucket=bucket, version=store.version
    ):
        if error is not None:
            logger.error(
                "Flagship: a bucket_changed receiver failed: %r",
                error,
                exc_info=(type(error), error, error.__traceback__),
            )
