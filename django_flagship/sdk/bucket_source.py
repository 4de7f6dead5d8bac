"""Where BUCKETING mode gets its bucketing file: the CDN, polled, or a local file.

A download that fails or does not parse never replaces the bucket in use.
Downloading and checking live in :mod:`.bucket_download` (re-exported here),
polling in :mod:`.bucket_poller`: :class:`CdnBucketSource` is that poller
with a store in memory.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, runtime_checkable

import requests

from .bucket_download import (
    Download,
    check_bucketing_shape,
    download_bucketing_file,
    load_bucketing_file,
    parse_bucketing_text,
)
from .bucket_limits import DEFAULT_LIMITS, BucketLimits
from .bucket_poller import BucketPoller
from .bucket_store import MemoryBucketStore
from .bucketing import Bucket
from .http import make_session
from .updates import UpdateListener

__all__ = [
    "BucketSource",
    "CdnBucketSource",
    "Download",
    "FileBucketSource",
    "StaticBucketSource",
    "WatchedBucketSource",
    "check_bucketing_shape",
    "download_bucketing_file",
    "load_bucketing_file",
    "parse_bucketing_text",
]


class BucketSource(Protocol):
    """Anything that can hand over the current parsed bucket (or ``None``)."""

    def current(self) -> Bucket | None: ...

    def close(self) -> None: ...


@runtime_checkable
class WatchedBucketSource(BucketSource, Protocol):
    """A source that says when it starts using another bucket (a :class:`BucketPoller`)."""

    def watch(self, listener: UpdateListener) -> Callable[[], None]:
        """Call ``listener(bucket)`` on each new bucket; returns the function that stops it."""
        ...


class StaticBucketSource:
    """A bucket given once (tests, scripts, a bucket kept elsewhere)."""

    def __init__(self, bucket: Bucket | None) -> None:
        self._bucket = bucket

    def current(self) -> Bucket | None:
        return self._bucket

    def close(self) -> None:
        pass


class FileBucketSource(StaticBucketSource):
    """A local bucketing file, parsed once: offline bucketing with no network."""

    def __init__(
        self,
        path: str,
        on_error: Callable[[str], None] | None = None,
        *,
        limits: BucketLimits = DEFAULT_LIMITS,
    ) -> None:
        super().__init__(Bucket.parse(load_bucketing_file(path, limits), on_error=on_error))
        self.path = path


class CdnBucketSource:
    """The bucketing file from Flagship's CDN, optionally polled by a daemon thread.

    ``refresh()`` does one conditional download. ``start()`` fetches once and,
    when ``polling_interval > 0``, keeps a thread refreshing until ``close()``,
    which stops it at once. A :class:`BucketPoller` on a
    :class:`MemoryBucketStore` does the work; problems go to ``on_error``.
    """

    def __init__(
        self,
        url: str,
        *,
        timeout: float,
        polling_interval: float,
        session: requests.Session | None = None,
        on_error: Callable[[str], None] | None = None,
        on_update: Callable[[Bucket], None] | None = None,
        limits: BucketLimits = DEFAULT_LIMITS,
    ) -> None:
        report = on_error or (lambda message: None)
        self.session = session or make_session(pool_size=2)
        self.poller = BucketPoller(
            MemoryBucketStore(),
            url=url,
            timeout=timeout,
            polling_interval=polling_interval,
            session=self.session,
            limits=limits,
            log=lambda level, message, exc: report(message),
        )
        if on_update is not None:
            self.poller.watch(lambda bucket: on_update(bucket) if bucket is not None else None)

    @property
    def url(self) -> str:
        return self.poller.url or ""

    @property
    def limits(self) -> BucketLimits:
        return self.poller.limits

    @property
    def timeout(self) -> float:
        return self.poller.timeout

    @property
    def polling_interval(self) -> float:
        return self.poller.polling_interval

    @property
    def last_modified(self) -> str | None:
        return self.poller.last_modified

    def current(self) -> Bucket | None:
        return self.poller.current()

    def watch(self, listener: UpdateListener) -> Callable[[], None]:
        return self.poller.watch(listener)

    def refresh(self) -> bool:
        """Download once; ``True`` when a new bucket was installed. Never raises."""
        return self.poller.try_refresh()

    def start(self) -> None:
        self.poller.start()

    @property
    def polling(self) -> bool:
        return self.poller.polling

    def close(self) -> None:
        self.poller.close()
