"""The one bucket poller: downloads the bucketing file and writes it into a store.

One daemon thread per poller (and per process: a forked child starts its
own) refreshes the bucket every ``polling_interval`` seconds. Each refresh is
one conditional download (or a call of ``fetch``, a document made elsewhere),
checked with the bounds of :mod:`.bucket_limits` and parsed by
:func:`.bucket_download.parse_bucket`; only a file that passes every check
is written into the :class:`~.bucket_store.BucketStore`, so a bad answer
never replaces the last good bucket.

The store decides where the bucket lives and whether this process downloads
now (a shared store lets one process at a time). Whenever the store starts
using another bucket, from this poller or from another process, the poller's
:attr:`updates` listeners are called: that is what feeds
:meth:`.app.Flagship.on_update`.
"""

from __future__ import annotations

import logging
import os
import random
import threading
import weakref
from collections.abc import Callable
from typing import Any, Generic, TypeVar

import requests

from .bucket_download import Download, download_bucketing_file, parse_bucket
from .bucket_limits import DEFAULT_LIMITS, BucketLimits, check_bucket_limits
from .bucket_store import (
    BucketStore,
    NewBucket,
    RefreshResult,
    bucket_text,
    bucket_version,
)
from .bucketing import Bucket, BucketError
from .http import make_session
from .updates import UpdateListener, UpdateListeners

__all__ = ["FIRST_DOWNLOAD_RETRY", "BucketPoller", "PollerLog", "RefreshResult"]

#: Seconds between download attempts while no bucket could be had at all
#: (used when ``polling_interval`` is 0, i.e. "download once").
FIRST_DOWNLOAD_RETRY = 30.0

#: ``log(level, message, exc)``: where the poller reports; ``exc`` is set for a bug.
PollerLog = Callable[[int, str, BaseException | None], None]

_logger = logging.getLogger("django_flagship")


def _default_log(level: int, message: str, exc: BaseException | None) -> None:
    exc_info = (type(exc), exc, exc.__traceback__) if exc is not None else None
    _logger.log(level, "Flagship: %s", message, exc_info=exc_info)


#: Pollers of this process, so that a forked child restarts its own thread.
_pollers: weakref.WeakSet[BucketPoller[Any]] = weakref.WeakSet()


def _after_fork() -> None:
    for poller in list(_pollers):
        poller.forked()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)


#: The store's own type, so that its owner keeps it (``poller.store.entry_key``).
StoreT = TypeVar("StoreT", bound=BucketStore)


class BucketPoller(Generic[StoreT]):
    """Downloads the bucketing file from ``url`` (or ``fetch``) into ``store``.

    A ``BucketSource``: ``current()`` is the store's. ``start()`` refreshes
    once and then polls in a thread; with ``autostart`` the thread starts
    instead when a read first makes a shared store check (a process that
    never decides never polls; a forked child starts its own), and with
    ``polling_interval`` 0 it only retries until a first bucket is had.
    ``close()`` stops the thread at once, a download in progress included.
    """

    def __init__(
        self,
        store: StoreT,
        *,
        url: str | None = None,
        fetch: Callable[[str | None], Download] | None = None,
        timeout: float = 2.0,
        polling_interval: float = 60.0,
        session: requests.Session | None = None,
        limits: BucketLimits = DEFAULT_LIMITS,
        on_update: UpdateListener | None = None,
        log: PollerLog = _default_log,
        autostart: bool = False,
        jitter: float = 0.0,
        thread_name: str = "flagship-bucket-poller",
    ) -> None:
        self.store: StoreT = store
        self.url = url
        #: ``fetch(last_modified)`` in place of downloading ``url``.
        self.fetch = fetch
        self.timeout = timeout
        self.polling_interval = polling_interval
        self.limits = limits
        self.updates = UpdateListeners()
        if on_update is not None:
            self.updates.add(on_update)
        self._log = log
        self._autostart = autostart
        self._jitter = jitter
        self._thread_name = thread_name
        self._session = session
        self._own_session = session is None
        self._stop = threading.Event()
        self.forked()
        #: The bucket in the store: the store's own ``current``, so that a read
        #: through the poller (every decision) costs no extra call.
        self.current: Callable[[], Bucket | None] = store.current
        self.store.attach(changed=self._changed, empty=self._empty, checked=self._ensure_thread)
        _pollers.add(self)

    def forked(self) -> None:
        """Start afresh in a new process: locks and threads do not survive a fork."""
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def __repr__(self) -> str:
        return f"<BucketPoller {self.url or self.fetch!r} store={self.store!r}>"

    # -- reading ---------------------------------------------------------------

    @property
    def installed(self) -> Bucket | None:
        """The bucket in use now, without asking the store for a newer one."""
        return self.store.installed

    @property
    def version(self) -> str | None:
        return self.store.version

    @property
    def last_modified(self) -> str | None:
        return self.store.last_modified

    def watch(self, listener: UpdateListener) -> Callable[[], None]:
        """Call ``listener(bucket)`` whenever the store starts using another bucket."""
        return self.updates.add(listener)

    def _changed(self, bucket: Bucket) -> None:
        self.updates.notify(bucket, self._listener_failed)

    def _listener_failed(self, exc: BaseException) -> None:
        self._log(logging.ERROR, f"a bucket update listener failed: {exc!r}", exc)

    def _empty(self) -> bool:
        # A document made locally costs no download: make it now rather than
        # serve defaults until the thread has.
        if self.fetch is None:
            return False
        try:
            self.refresh()
        except BucketError as exc:
            self._log(logging.ERROR, str(exc), None)
        return True

    # -- writing -----------------------------------------------------------------

    def refresh(self, *, force: bool = False) -> RefreshResult:
        """Download once into the store; raises :class:`BucketError`.

        Without ``force`` a shared store may answer that another process is
        downloading now (the result is then ``skipped``). The store is written
        only with a file that passed every check.
        """
        if not self.url and self.fetch is None:
            raise BucketError("no bucketing URL: FLAGSHIP_ENV_ID is not set")
        baseline = self.store.prepare(force=force, lock_ttl=self._lock_ttl())
        if baseline is None:
            return RefreshResult.of(self.store, updated=False, skipped=True)
        if self.fetch is not None:
            download = self.fetch(baseline.last_modified)
        else:
            if self._session is None:
                self._session = make_session(pool_size=2)
            download = download_bucketing_file(
                self._session,
                self.url or "",
                timeout=self.timeout,
                last_modified=baseline.last_modified,
                limits=self.limits,
                stop=self._stop,
            )
        if not download.modified:
            self.store.unchanged(baseline)
            return RefreshResult.of(self.store, updated=False, last_modified=baseline.last_modified)
        text = bucket_text(download.data)
        if self.fetch is not None:
            # A download was bounded on the way in; a document from elsewhere
            # meets the same bounds here, or every reader of a shared store
            # would refuse what this one stored.
            self.limits.check_size(len(text.encode("utf-8")), "the local bucketing document")
            check_bucket_limits(download.data, self.limits)
        bucket = parse_bucket(download.data, on_error=self._problem)
        new = NewBucket(text, bucket_version(text), bucket, download.last_modified)
        return RefreshResult.of(self.store, updated=self.store.write(baseline, new))

    def _problem(self, message: str) -> None:
        self._log(logging.WARNING, message, None)

    def _lock_ttl(self) -> float:
        return max(self.polling_interval, self.timeout + 1.0)

    # -- the thread --------------------------------------------------------------

    def start(self) -> None:
        """Refresh once now (never raises), then poll when ``polling_interval > 0``."""
        self.try_refresh()
        with self._lock:
            if self.polling_interval > 0 and self._thread is None and not self._stop.is_set():
                self._spawn(wait_first=True)

    def _ensure_thread(self) -> None:
        """With ``autostart``: the thread runs in this process (the store just looked)."""
        if not self._autostart or not (self.url or self.fetch) or self._stop.is_set():
            return
        if self._thread is not None and self._thread.is_alive():
            return
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            if self.polling_interval <= 0 and self.store.installed is not None:
                return  # "download once" and there is a bucket already
            self._spawn(wait_first=False)

    def _spawn(self, *, wait_first: bool) -> None:
        self._thread = threading.Thread(
            target=self._poll, args=(wait_first,), name=self._thread_name, daemon=True
        )
        self._thread.start()

    def _poll(self, wait_first: bool) -> None:
        if wait_first and self._wait():
            return
        while not self._stop.is_set():
            self.try_refresh()
            if self.polling_interval <= 0 and self.store.installed is not None:
                return
            if self._wait():
                return

    def _wait(self) -> bool:
        """Sleep until the next refresh; ``True`` when stopped meanwhile."""
        interval = self.polling_interval if self.polling_interval > 0 else FIRST_DOWNLOAD_RETRY
        # Jitter keeps the processes of one deployment from waking together.
        return self._stop.wait(interval * random.uniform(1.0, 1.0 + self._jitter))

    def try_refresh(self) -> bool:
        """One refresh whatever happens: a failure is logged, never raised."""
        try:
            return self.refresh().updated
        except Exception as exc:  # never lets a bad answer stop the polling thread
            state = "keeping the current bucket" if self.store.installed else "no bucket yet"
            if isinstance(exc, BucketError):
                self._log(logging.WARNING, f"bucket refresh failed: {exc}; {state}", None)
            else:
                self._log(
                    logging.ERROR,
                    f"bucket refresh failed unexpectedly: {type(exc).__name__}: {exc}; {state}",
                    exc,
                )
            return False

    @property
    def polling(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def close(self) -> None:
        """Stop the thread (a download in progress too) and close the session. Idempotent."""
        self._stop.set()
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=self.timeout + 1.0)
        if self._own_session and self._session is not None:
            self._session.close()
            self._session = None
