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
import types
from typing import Any

from django.dispatch import Signal, receiver

from .sdk.bucket_store import BucketStore
from .sdk.bucketing import Bucket
from .sdk.hits import Activation
from .sdk.tracking import TrackedHit, Tracker

__all__ = [
    "SignalTracker",
    "activation_tracked",
    "bucket_changed",
    "deliver_activation",
    "deliver_hit",
    "hit_tracked",
    "send_bucket_changed",
]

logger = logging.getLogger("django_flagship")

#: Sent for each hit a visitor makes, before it is delivered.
hit_tracked = Signal(use_caching=True)

#: Sent for each activation (a visitor exposed to a variation).
activation_tracked = Signal(use_caching=True)


_HIT_UID = "django_flagship.deliver_hit"
_ACTIVATION_UID = "django_flagship.deliver_activation"


def _only_receiver(signal: Signal, uid: str) -> bool:
    """True when the app's own receiver is the signal's only one.

    Sending then has exactly one effect, calling that receiver, so the tracker
    calls it directly: dispatching costs three times the rest of the hand-off
    on the request path. ``Signal.receivers`` holds ``(lookup_key, ...)``
    entries whose key starts with the ``dispatch_uid``; any surprise in that
    shape means "not only ours", and the signal is sent normally.
    """
    receivers = signal.receivers
    try:
        return len(receivers) == 1 and receivers[0][0][0] == uid
    except (IndexError, TypeError, KeyError):
        return False


class SignalTracker:
    """The tracker a Django client uses: it turns every item into a signal.

    ``sink`` is the tracker the app's receivers hand the items to.
    :meth:`flush` and :meth:`close` are passed on to it, and so is any other
    attribute: ``tracker.stats()`` or ``tracker.hits`` reach the sink's.
    """

    def __init__(self, sink: Tracker) -> None:
        self.sink = sink

    def __getattr__(self, name: str) -> Any:
        if name == "sink":  # not set yet (copy, unpickling): no recursion
            raise AttributeError(name)
        return getattr(self.sink, name)

    def __repr__(self) -> str:
        return f"SignalTracker(sink={self.sink!r})"

    def add_hit(self, item: TrackedHit) -> None:
        if _only_receiver(hit_tracked, _HIT_UID):
            self.sink.add_hit(item)  # what deliver_hit would do, without the dispatch
            return
        hit_tracked.send_robust(
            SignalTracker,
            item=item,
            payload=item.payload,
            hit_type=item.hit_type,
            visitor_id=item.visitor_id,
            anonymous_id=item.anonymous_id,
            tracker=self,
        )

    def add_activation(self, item: Activation) -> None:
        if _only_receiver(activation_tracked, _ACTIVATION_UID):
            self.sink.add_activation(item)
            return
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
            tracker=self,
        )

    def flush(self, timeout: float | None = None) -> bool:
        return self.sink.flush(timeout)

    def close(self) -> None:
        self.sink.close()


@receiver(hit_tracked, dispatch_uid=_HIT_UID)
def deliver_hit(sender: Any, item: TrackedHit, tracker: SignalTracker, **kwargs: Any) -> None:
    """The app's receiver: hands the hit to the tracker's sink."""
    tracker.sink.add_hit(item)


@receiver(activation_tracked, dispatch_uid=_ACTIVATION_UID)
def deliver_activation(
    sender: Any, item: Activation, tracker: SignalTracker, **kwargs: Any
) -> None:
    """The app's receiver: hands the activation to the tracker's sink."""
    tracker.sink.add_activation(item)


# -- the runtime -------------------------------------------------------------------

#: Sent when the app's runtime (its client, bucket store and tracker) is closed,
#: to be rebuilt on next use: a ``FLAGSHIP_*`` setting changed, or
#: ``client.reset()`` was called. ``sender`` is :class:`~django_flagship.client.Runtime`;
#: ``runtime`` is the one closed. What was built for that runtime (the served
#: Decision API's trackers of each environment) is closed by its receivers.
runtime_reset = Signal()

__all__ += ["runtime_reset"]


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
