"""What every caller of a tracker may rely on, and the hooks that see each item.

A tracker takes a visitor's hits and activations. :class:`Tracker` is all a
caller uses, so that none has to look behind a wrapper:

``kind``
    what the items reach: :data:`COLLECTOR` (Flagship's collector), :data:`LOG`,
    :data:`MEMORY` or :data:`CUSTOM` (anything else).
``blocking``
    whether handing an item over does network I/O in the caller's thread.
``discards``
    whether items handed over are thrown away (a log nobody reads).
``record_activation(...)``
    the request path's way in: it takes only what identifies an activation
    (the visitor, the variation and the time). The tracker builds the item
    (its random id included) where that costs the request nothing, and does
    nothing at all when it discards.
``record_hit(record)``
    the same for a hit the visitor makes on its own (the ``SEGMENT`` hit of
    BUCKETING mode): a :class:`~django_flagship.sdk.tracking.HitRecord` holds
    its fields, the visitor and the time, and the tracker builds the item (its
    copy of the fields and its random id) off the request path, or not at all.

:class:`TrackerBase` gives the built-in trackers these members.
:func:`as_tracker` gives them to a tracker that has only the four methods of
:class:`BasicTracker`, the documented minimum of a custom tracker.

:class:`HookedTracker` offers every item to listeners (:class:`TrackerHooks`)
on its way to a sink; the Django app's signals are such listeners. The hooks
say for each kind of item where it goes (:class:`Route`), so an item nobody
listens to goes straight to the sink, unbuilt when it was recorded.
"""

from __future__ import annotations

import enum
from typing import (
    TYPE_CHECKING,
    Any,
    Literal,
    NamedTuple,
    Protocol,
    cast,
    runtime_checkable,
)

from .hits import Activation

if TYPE_CHECKING:
    from .tracking import HitRecord, TrackedHit

__all__ = [
    "COLLECTOR",
    "CUSTOM",
    "LOG",
    "MEMORY",
    "TRACKER_MEMBERS",
    "ActivationRecord",
    "BasicTracker",
    "CustomTracker",
    "HookedTracker",
    "Route",
    "Tracker",
    "TrackerBase",
    "TrackerHooks",
    "TrackerKind",
    "as_tracker",
]

TrackerKind = Literal["collector", "log", "memory", "custom"]

#: Items go to Flagship's collector (at once, or from a background thread).
COLLECTOR: TrackerKind = "collector"
#: Items are written to a logger.
LOG: TrackerKind = "log"
#: Items are kept in memory, for tests and debug pages.
MEMORY: TrackerKind = "memory"
#: Anything else: a tracker of the project's own.
CUSTOM: TrackerKind = "custom"


class ActivationRecord(NamedTuple):
    """What identifies an activation, as the request path records it.

    :meth:`build` makes the :class:`~django_flagship.sdk.hits.Activation`
    (with its random id) later, on a thread where it costs no request.
    """

    visitor_id: str
    variation_group_id: str
    variation_id: str
    anonymous_id: str | None
    created_at: float

    def build(self) -> Activation:
        return Activation(
            self.visitor_id,
            self.variation_group_id,
            self.variation_id,
            self.anonymous_id,
            created_at=self.created_at,
        )


@runtime_checkable
class BasicTracker(Protocol):
    """The least a tracker has: what a custom tracker implements."""

    def add_hit(self, item: TrackedHit) -> None:
        """Take a hit; never raises because of delivery."""

    def add_activation(self, item: Activation) -> None:
        """Take an activation; never raises because of delivery."""

    def flush(self, timeout: float | None = None) -> bool:
        """Deliver what is pending; True when nothing is left."""

    def close(self) -> None:
        """Flush what can be flushed and release resources; idempotent."""


@runtime_checkable
class Tracker(BasicTracker, Protocol):
    """Where a visitor's hits and activations go, and what callers need to know of it."""

    @property
    def kind(self) -> TrackerKind:
        """What the items reach: ``"collector"``, ``"log"``, ``"memory"`` or ``"custom"``."""

    @property
    def blocking(self) -> bool:
        """Whether handing an item over does network I/O in the caller's thread."""

    @property
    def discards(self) -> bool:
        """Whether the items handed over are thrown away."""

    def record_activation(
        self,
        visitor_id: str,
        variation_group_id: str,
        variation_id: str,
        anonymous_id: str | None,
        created_at: float,
    ) -> None:
        """Take an activation by what identifies it; never raises because of delivery."""

    def record_hit(self, record: HitRecord) -> None:
        """Take a hit by what identifies it; never raises because of delivery."""


class TrackerBase:
    """The members of :class:`Tracker` besides the four methods, with their usual values."""

    kind: TrackerKind = CUSTOM
    blocking: bool = False

    @property
    def discards(self) -> bool:
        return False

    def add_hit(self, item: TrackedHit) -> None:
        raise NotImplementedError

    def add_activation(self, item: Activation) -> None:
        raise NotImplementedError

    def record_activation(
        self,
        visitor_id: str,
        variation_group_id: str,
        variation_id: str,
        anonymous_id: str | None,
        created_at: float,
    ) -> None:
        """Build the activation and hand it to :meth:`add_activation`, unless it discards."""
        if self.discards:
            return
        self.add_activation(
            Activation(
                visitor_id, variation_group_id, variation_id, anonymous_id, created_at=created_at
            )
        )

    def record_hit(self, record: HitRecord) -> None:
        """Build the hit and hand it to :meth:`add_hit`, unless it discards."""
        if self.discards:
            return
        self.add_hit(record.build())


class CustomTracker:
    """A tracker with only the four methods of :class:`BasicTracker`, seen as a :class:`Tracker`.

    It is a ``"custom"`` tracker that neither blocks nor discards. Any other
    attribute is the wrapped tracker's.
    """

    kind: TrackerKind = CUSTOM
    blocking = False
    discards = False

    def __init__(self, tracker: BasicTracker) -> None:
        self.tracker = tracker

    def __getattr__(self, name: str) -> Any:
        if name == "tracker":  # not set yet (copy, unpickling): no recursion
            raise AttributeError(name)
        return getattr(self.tracker, name)

    def __repr__(self) -> str:
        return f"CustomTracker({self.tracker!r})"

    def add_hit(self, item: TrackedHit) -> None:
        self.tracker.add_hit(item)

    def add_activation(self, item: Activation) -> None:
        self.tracker.add_activation(item)

    def record_activation(
        self,
        visitor_id: str,
        variation_group_id: str,
        variation_id: str,
        anonymous_id: str | None,
        created_at: float,
    ) -> None:
        self.tracker.add_activation(
            Activation(
                visitor_id, variation_group_id, variation_id, anonymous_id, created_at=created_at
            )
        )

    def record_hit(self, record: HitRecord) -> None:
        self.tracker.add_hit(record.build())

    def flush(self, timeout: float | None = None) -> bool:
        return self.tracker.flush(timeout)

    def close(self) -> None:
        self.tracker.close()


#: The members a whole :class:`Tracker` has.
TRACKER_MEMBERS = (
    "kind",
    "blocking",
    "discards",
    "add_hit",
    "add_activation",
    "record_activation",
    "record_hit",
    "flush",
    "close",
)


def as_tracker(tracker: BasicTracker) -> Tracker:
    """``tracker`` itself when it is a whole :class:`Tracker`, else a :class:`CustomTracker`.

    The members are looked up with :func:`hasattr`, which, unlike
    ``isinstance(tracker, Tracker)`` from Python 3.12 on, also sees those a
    forwarding wrapper provides through ``__getattr__``.
    """
    if all(hasattr(tracker, name) for name in TRACKER_MEMBERS):
        return cast(Tracker, tracker)
    return CustomTracker(tracker)


class Route(enum.Enum):
    """Where a :class:`HookedTracker` sends an item, as its hooks say."""

    #: Nobody listens: straight to the sink (an activation unbuilt).
    SINK = "sink"
    #: The listeners get the item first, and say whether the sink does too.
    LISTENERS = "listeners"
    #: Delivery is off and nobody listens: the item is dropped.
    NOWHERE = "nowhere"


class TrackerHooks(Protocol):
    """The listeners of a :class:`HookedTracker`."""

    def hit_route(self) -> Route:
        """Where the next hit goes; asked once per hit, so it must be quick."""

    def activation_route(self) -> Route:
        """Where the next activation goes; asked once per activation."""

    def on_hit(self, tracker: HookedTracker, item: TrackedHit) -> bool:
        """Offer ``item`` to the listeners; True when the tracker must still hand it to its sink."""

    def on_activation(self, tracker: HookedTracker, item: Activation) -> bool:
        """As :meth:`on_hit`, for an activation."""


class HookedTracker:
    """A tracker that offers every item to ``hooks`` on its way to ``sink``.

    ``kind``, ``blocking`` and ``discards`` are the sink's; :meth:`flush` and
    :meth:`close` are passed on to it, and so is any other attribute
    (``tracker.stats()`` or ``tracker.hits`` reach the sink's). Without hooks
    every item goes to the sink.
    """

    def __init__(self, sink: BasicTracker, hooks: TrackerHooks | None = None) -> None:
        self.sink = sink
        self.hooks = hooks
        self.target = as_tracker(sink)

    def __getattr__(self, name: str) -> Any:
        if name in ("sink", "target", "hooks"):  # not set yet (copy, unpickling)
            raise AttributeError(name)
        return getattr(self.sink, name)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(sink={self.sink!r})"

    @property
    def kind(self) -> TrackerKind:
        return self.target.kind

    @property
    def blocking(self) -> bool:
        return self.target.blocking

    @property
    def discards(self) -> bool:
        return self.target.discards

    def add_hit(self, item: TrackedHit) -> None:
        hooks = self.hooks
        route = Route.SINK if hooks is None else hooks.hit_route()
        if route is Route.SINK or (
            route is Route.LISTENERS and hooks is not None and hooks.on_hit(self, item)
        ):
            self.target.add_hit(item)

    def add_activation(self, item: Activation) -> None:
        hooks = self.hooks
        route = Route.SINK if hooks is None else hooks.activation_route()
        if route is Route.SINK or (
            route is Route.LISTENERS and hooks is not None and hooks.on_activation(self, item)
        ):
            self.target.add_activation(item)

    def record_activation(
        self,
        visitor_id: str,
        variation_group_id: str,
        variation_id: str,
        anonymous_id: str | None,
        created_at: float,
    ) -> None:
        hooks = self.hooks
        route = Route.SINK if hooks is None else hooks.activation_route()
        if route is Route.SINK:
            self.target.record_activation(
                visitor_id, variation_group_id, variation_id, anonymous_id, created_at
            )
        elif route is Route.LISTENERS and hooks is not None:
            # The listeners get the item itself: it is built here.
            item = Activation(
                visitor_id, variation_group_id, variation_id, anonymous_id, created_at=created_at
            )
            if hooks.on_activation(self, item):
                self.target.add_activation(item)

    def record_hit(self, record: HitRecord) -> None:
        hooks = self.hooks
        route = Route.SINK if hooks is None else hooks.hit_route()
        if route is Route.SINK:
            self.target.record_hit(record)
        elif route is Route.LISTENERS and hooks is not None:
            # The listeners get the item itself: it is built here.
            item = record.build()
            if hooks.on_hit(self, item):
                self.target.add_hit(item)

    def flush(self, timeout: float | None = None) -> bool:
        return self.target.flush(timeout)

    def close(self) -> None:
        self.target.close()
