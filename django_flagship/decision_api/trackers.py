"""Where the server's activations and hits go: one tracker per served environment.

The server receives activations and decides for every served environment,
but the app has one tracker, built for FLAGSHIP_ENV_ID. With Flagship's
collector as the sink (whose envelopes carry one cid) every served
environment, the app's own included, gets a tracker of its own, built from
the same settings for its env id: what the public endpoints accept waits in
a queue of its own, so a flood of activations can fill only that queue and
never drops the site's own hits. Any other sink (memory, log, a custom one)
gets every item, which carries its env_id: as an attribute, and as "cid"
in to_payload() (:mod:`django_flagship.decision_api.items`).

The trackers belong to the app's runtime: when it is closed to be rebuilt
(a setting changed, ``client.reset()``) it sends
:data:`~django_flagship.signals.runtime_reset`, and they are closed here,
which flushes them; they are built again on first use.
"""

from __future__ import annotations

import copy
import logging
import threading
import time
from collections.abc import Iterable
from typing import Any

from django.dispatch import receiver

from .. import client
from ..conf import conf as app_conf
from ..sdk.events import COLLECTOR
from ..sdk.hits import Hit
from ..sdk.tracking import TrackedHit, Tracker
from ..signals import SignalTracker, runtime_reset
from ..sinks import build_collector_tracker
from .activation import ActivationRequest
from .items import ServedHit

__all__ = ["close_served_trackers", "served_tracker", "track_activations", "track_hit"]

logger = logging.getLogger("django_flagship.decision_api")


def _sends_to_collector(tracker: Any) -> bool:
    """Whether ``tracker`` is the app's built-in collector sink (behind its signals)."""
    if app_conf.tracker:
        return False  # FLAGSHIP_TRACKER: a custom sink
    sink_setting = app_conf.hit_sink
    if not isinstance(sink_setting, str) or sink_setting.strip() not in ("auto", "collector"):
        return False
    return bool(tracker.kind == COLLECTOR)


class _ServedTrackers:
    """One collector tracker per served environment, the app's own included, built lazily.

    They belong to the app's client: when it is rebuilt (a setting changed,
    ``client.reset()``) they are closed, which flushes them, and built again
    on first use.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._owner: Any = None
        self._trackers: dict[str, Tracker] = {}

    def route(self, env_id: str) -> tuple[Tracker | None, bool]:
        """The tracker for ``env_id``'s items, and whether they go to a collector."""
        app = client.get_client()
        tracker = getattr(app, "tracker", None)
        if tracker is None or not _sends_to_collector(tracker):
            return tracker, False
        config = getattr(app, "config", None)
        if config is None:
            return tracker, True
        stale: list[Tracker] = []
        with self._lock:
            if self._owner is not app:
                stale = list(self._trackers.values())
                self._trackers = {}
                self._owner = app
            own = self._trackers.get(env_id)
            if own is None:
                env_config = copy.copy(config)
                env_config.env_id = env_id
                own = SignalTracker(build_collector_tracker(env_config, served=True))
                self._trackers[env_id] = own
        _close(stale)
        return own, True

    def get(self, env_id: str) -> Tracker | None:
        with self._lock:
            return self._trackers.get(env_id)

    def close(self) -> None:
        with self._lock:
            stale = list(self._trackers.values())
            self._trackers = {}
            self._owner = None
        _close(stale)


def _close(trackers: Iterable[Tracker]) -> None:
    for tracker in trackers:
        try:
            tracker.close()
        except Exception:
            logger.exception("closing the tracker of a served environment failed")


_served_trackers = _ServedTrackers()


def served_tracker(env_id: str) -> Tracker | None:
    """The tracker built for served environment ``env_id``, if one was (collector sink only)."""
    return _served_trackers.get(env_id)


def close_served_trackers() -> None:
    """Flush and close the served environments' own trackers; they are rebuilt on use."""
    _served_trackers.close()


@receiver(runtime_reset, dispatch_uid="django_flagship.decision_api.close_served_trackers")
def _on_runtime_reset(sender: Any, **kwargs: Any) -> None:
    """The app's runtime was closed: its served trackers go with it, flushed now."""
    close_served_trackers()


def track_activations(items: Iterable[ActivationRequest], now: float | None = None) -> None:
    """Queue each activation on the tracker of its environment (``cid``)."""
    now = time.time() if now is None else now
    routes: dict[str, tuple[Tracker | None, bool]] = {}
    for item in items:
        try:
            route = routes.get(item.env_id)
            if route is None:
                route = routes[item.env_id] = _served_trackers.route(item.env_id)
            tracker, to_collector = route
            if tracker is None:
                logger.warning("an activation was dropped: the Flagship client has no tracker")
                return
            activation = item.to_activation(now)
            tracker.add_activation(activation.plain() if to_collector else activation)
        except Exception:
            logger.exception("an activation could not be queued")


def track_hit(hit: Hit, visitor_id: str, anonymous_id: str | None, env_id: str) -> None:
    """Queue a hit the server sends for ``env_id`` on that environment's tracker."""
    try:
        tracker, to_collector = _served_trackers.route(env_id)
        if tracker is None:
            return
        if to_collector:
            tracker.add_hit(TrackedHit.from_hit(hit, visitor_id, anonymous_id))
        else:
            tracker.add_hit(ServedHit.for_env(hit, visitor_id, anonymous_id, env_id))
    except Exception:
        logger.exception("a hit could not be queued")
