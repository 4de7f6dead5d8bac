"""The client: ``Flagship.instance().start(Config(...))`` or a plain ``Flagship(config)``."""

from __future__ import annotations

import enum
import logging
import sys
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from .bucket_source import (
    BucketSource,
    CdnBucketSource,
    FileBucketSource,
    StaticBucketSource,
    WatchedBucketSource,
)
from .bucketing import Bucket
from .config import Config, Mode
from .decision import ApiDecisionManager, BucketingDecisionManager, DecisionManager
from .decision_api import CircuitBreaker, DecisionApiClient
from .events import BasicTracker, Tracker, as_tracker
from .flusher import BackgroundTracker
from .handler import FlagshipEventHandler
from .hits import Activation
from .http import make_session
from .model import Assignment
from .tracking import CollectorClient, HitRecord, TrackedHit
from .updates import UpdateListener, UpdateListeners
from .visitor import Visitor

__all__ = ["Flagship", "Status", "UpdateListeners"]


class Status(enum.Enum):
    NOT_INITIALIZED = "NOT_INITIALIZED"
    READY = "READY"
    STOPPED = "STOPPED"


class Flagship:
    """A Flagship client: configuration, decision mode, hit delivery.

    ``Flagship.instance()`` is a process-wide convenience; everything also
    works on clients you construct, which is what tests and the Django layer do.
    """

    _instance: Flagship | None = None
    _instance_lock = threading.Lock()

    def __init__(
        self,
        config: Config | None = None,
        *,
        bucket_source: BucketSource | None = None,
        tracker: BasicTracker | None = None,
        announce: bool = True,
        updates: UpdateListeners | None = None,
    ) -> None:
        """``updates`` shares one set of :meth:`on_update` listeners between clients."""
        self.status = Status.NOT_INITIALIZED
        self.config: Config | None = None
        self._handler: FlagshipEventHandler = FlagshipEventHandler()
        self.decision_manager: DecisionManager | None = None
        self._tracker: Tracker | None = None
        self.updates = updates if updates is not None else UpdateListeners()
        self._unwatch: Callable[[], None] | None = None
        if config is not None:
            self.start(config, bucket_source=bucket_source, tracker=tracker, announce=announce)

    @classmethod
    def instance(cls) -> Flagship:
        """The process-wide client (created, not started, on first use)."""
        if cls._instance is None:
            with cls._instance_lock:
                if cls._instance is None:
                    cls._instance = cls()
        return cls._instance

    def __repr__(self) -> str:
        return f"<Flagship status={self.status.name} config={self.config!r}>"

    @property
    def tracker(self) -> Tracker | None:
        """Where hits and activations go; a tracker with only the four methods is wrapped.

        A tracker given with only ``add_hit``, ``add_activation``, ``flush``
        and ``close`` is seen through a
        :class:`~django_flagship.sdk.events.CustomTracker`.
        """
        return self._tracker

    @tracker.setter
    def tracker(self, tracker: BasicTracker | None) -> None:
        self._tracker = None if tracker is None else as_tracker(tracker)

    # -- lifecycle ------------------------------------------------------------

    def start(
        self,
        config: Config,
        *,
        bucket_source: BucketSource | None = None,
        tracker: BasicTracker | None = None,
        announce: bool = True,
    ) -> Flagship:
        """Configure the client; a running client is stopped and restarted.

        ``announce=False`` leaves out the "Flagship started" log line, for a
        caller that logs its own account of the configuration.
        """
        if not isinstance(config, Config):
            raise TypeError(f"start() needs a Config, got {type(config).__name__}")
        if self.status is Status.READY:
            self.stop()
        self.config = config
        self._handler = config.event_handler
        self.tracker = tracker or config.tracker or self._default_tracker(config)
        if config.mode is Mode.DECISION_API:
            client = DecisionApiClient(
                config.env_id,
                config.api_key,
                base_url=config.decision_api_url,
                timeout=config.timeout,
                breaker=CircuitBreaker(config.breaker_failures, config.breaker_cooldown),
                async_limits=config.async_limits,
            )
            self.decision_manager = ApiDecisionManager(client)
        else:
            source = bucket_source or self._default_bucket_source(config)
            if isinstance(source, WatchedBucketSource):
                self._unwatch = source.watch(self.notify_update)
            if bucket_source is None and isinstance(source, CdnBucketSource):
                source.start()  # once watched, so the first bucket is announced too
            self.decision_manager = BucketingDecisionManager(
                source, memo_size=config.decision_cache_size
            )
        self.status = Status.READY
        if announce:
            self.log(logging.INFO, f"Flagship started: {config!r}")
        return self

    def _default_tracker(self, config: Config) -> Tracker:
        # The collector and the activate endpoint take no API key (protocol
        # 1.2): the environment id is all they need, so hits go with or
        # without one. Keeping them local is a choice: tracker=LogTracker().
        collector = CollectorClient(
            config.env_id,
            events_url=config.events_url,
            activate_url=config.activate_url,
            timeout=config.timeout,
        )
        # Batched by a thread of its own: nothing waits on the network here.
        return BackgroundTracker(collector)

    def _default_bucket_source(self, config: Config) -> BucketSource:
        on_error = self._log_warning
        if config.bucket_file:
            try:
                return FileBucketSource(config.bucket_file, on_error=on_error)
            except Exception as exc:
                self.report_exception(exc)
                return StaticBucketSource(None)
        return CdnBucketSource(
            config.resolved_bucketing_url,
            timeout=config.timeout,
            polling_interval=config.polling_interval,
            session=make_session(pool_size=2),
            on_error=on_error,
        )

    def stop(self) -> None:
        """Stop polling, deliver pending hits, close connections. Idempotent."""
        if self.status is not Status.READY:
            return
        self.status = Status.STOPPED
        unwatch, self._unwatch = self._unwatch, None
        if unwatch is not None:
            unwatch()
        for closing in (self.decision_manager, self.tracker):
            try:
                if closing is not None:
                    closing.close()
            except Exception as exc:
                self.report_exception(exc)

    @property
    def ready(self) -> bool:
        """Started and able to decide: in BUCKETING mode, once a bucket is loaded."""
        if self.status is not Status.READY:
            return False
        return bool(getattr(self.decision_manager, "ready", True))

    # -- decision data updates ---------------------------------------------------

    def on_update(self, listener: UpdateListener) -> Callable[[], None]:
        """Call ``listener(bucket)`` whenever new decision data is installed.

        In BUCKETING mode that is each new bucket the client's bucket source
        starts using: a download of the client's CDN poller, or under Django
        a bucket another process stored in the shared cache. A bucket source
        of the project's own reports its changes through :meth:`notify_update`
        (or by having a ``watch`` method, like
        :class:`~.bucket_poller.BucketPoller`). Returns a function that removes
        the listener. Listeners run in the thread that installed the data.
        """
        return self.updates.add(listener)

    def notify_update(self, bucket: Bucket | None = None) -> None:
        """Tell the listeners that decisions may have changed; a failing one is reported."""
        self.updates.notify(bucket, self.report_exception)

    # -- visitors -------------------------------------------------------------

    def create_visitor(
        self,
        visitor_id: str,
        context: Mapping[str, Any] | None = None,
        *,
        anonymous_id: str | None = None,
        consent: bool = True,
        assignment_history: Mapping[str, str] | None = None,
    ) -> Visitor:
        """A visitor identified by ``visitor_id`` with an optional context.

        ``context`` may be a :class:`~.context.SharedContext`, for a context
        many visitors have: it is adopted without being checked or keyed again.
        """
        if self.status is not Status.READY:
            raise RuntimeError("Flagship is not started: call start(Config(...)) first")
        return Visitor(
            self,
            visitor_id,
            context,
            anonymous_id=anonymous_id,
            consent=consent,
            assignment_history=assignment_history,
        )

    # -- reporting and tracking (used by visitors) ------------------------------

    @property
    def sends_segments(self) -> bool:
        """BUCKETING mode sends the context itself; the Decision API does it server side."""
        return self.config is not None and self.config.mode is Mode.BUCKETING

    def log(self, level: int, message: str) -> None:
        try:
            self._handler.on_log(level, message)
        except Exception:  # a broken handler must not break flag reads
            logging.getLogger("django_flagship").exception("event handler failed")

    def _log_warning(self, message: str) -> None:
        self.log(logging.WARNING, message)

    def report_exception(self, exc: BaseException) -> None:
        try:
            self._handler.on_exception_raised(exc, sys.exc_info()[2] or exc.__traceback__)
        except Exception:
            logging.getLogger("django_flagship").exception("event handler failed")

    def track_hit(self, item: TrackedHit) -> None:
        if self.tracker is None:
            return
        try:
            self.tracker.add_hit(item)
        except Exception as exc:
            self.report_exception(exc)

    def record_hit(self, record: HitRecord) -> None:
        """Hand the tracker what identifies a hit; it builds the item, or discards it unbuilt."""
        tracker = self._tracker
        if tracker is None:
            return
        try:
            tracker.record_hit(record)
        except Exception as exc:
            self.report_exception(exc)

    def track_activation(self, activation: Activation, assignment: Assignment) -> None:
        if self.tracker is None:
            return
        try:
            self.tracker.add_activation(activation)
        except Exception as exc:
            self.report_exception(exc)

    def record_activation(
        self,
        visitor_id: str,
        variation_group_id: str,
        variation_id: str,
        anonymous_id: str | None = None,
    ) -> None:
        """Hand the tracker what identifies an activation, timed now; it builds the item."""
        tracker = self._tracker
        if tracker is None:
            return
        try:
            tracker.record_activation(
                visitor_id, variation_group_id, variation_id, anonymous_id, time.time()
            )
        except Exception as exc:
            self.report_exception(exc)
