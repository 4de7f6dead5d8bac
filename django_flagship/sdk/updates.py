"""The one change channel: who is told when new decision data is in use.

A :class:`~.bucket_poller.BucketPoller` feeds one; :meth:`.app.Flagship.on_update`
adds to the client's. The Django layer gives every client it builds the same
listeners, so a listener outlives a client rebuilt after a settings change.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable

from .bucketing import Bucket

__all__ = ["UpdateListener", "UpdateListeners"]

UpdateListener = Callable[[Bucket | None], None]

logger = logging.getLogger("django_flagship")


class UpdateListeners:
    """Listeners called with the bucket now in use (``None``: decisions may have changed)."""

    def __init__(self) -> None:
        self._listeners: list[UpdateListener] = []
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._listeners)

    def add(self, listener: UpdateListener) -> Callable[[], None]:
        """Call ``listener(bucket)`` on each update; returns the function that removes it."""
        with self._lock:
            self._listeners.append(listener)

        def remove() -> None:
            with self._lock, contextlib.suppress(ValueError):
                self._listeners.remove(listener)

        return remove

    def notify(
        self,
        bucket: Bucket | None = None,
        report: Callable[[BaseException], None] | None = None,
    ) -> None:
        """Call every listener in this thread; one that raises is reported, the rest still run."""
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(bucket)
            except Exception as exc:
                if report is not None:
                    report(exc)
                else:
                    logger.exception("Flagship: an update listener failed")
