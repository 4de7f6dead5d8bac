"""The app's bucket: the cache store, kept by the core's poller.

:func:`cache_bucket_poller` is what the runtime (:mod:`.client`) decides with:
a :class:`~.cache.CacheBucketStore` written by a
:class:`~.sdk.bucket_poller.BucketPoller` whose thread starts at the first
read (a process that never decides never polls), with
:data:`~.signals.bucket_changed` sent on each new bucket the store uses.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from django.core.cache import BaseCache

from .cache import CacheBucketStore
from .sdk.bucket_download import Download
from .sdk.bucket_limits import DEFAULT_LIMITS, BucketLimits
from .sdk.bucket_poller import BucketPoller
from .signals import send_bucket_changed

__all__ = ["cache_bucket_poller"]


def cache_bucket_poller(
    cache: Callable[[], BaseCache],
    *,
    namespace: str,
    url: str | None,
    bucket_file: str | None = None,
    fetch: Callable[[str | None], Download] | None = None,
    timeout: float = 2.0,
    polling_interval: float = 60.0,
    check_interval: float = 5.0,
    clock: Callable[[], float] = time.monotonic,
    limits: BucketLimits = DEFAULT_LIMITS,
) -> BucketPoller[CacheBucketStore]:
    """The poller the app decides with: a :class:`CacheBucketStore` kept by a
    :class:`~.sdk.bucket_poller.BucketPoller` whose thread starts at the first
    read, and :data:`bucket_changed` sent on each new bucket.

    With ``fetch`` the document comes from that function instead of ``url``
    (the campaigns authored in Django, :mod:`.authoring.source`); the entry,
    the pointer, the lock and the polling stay as they are.
    """
    store = CacheBucketStore(
        cache,
        namespace=namespace,
        bucket_file=bucket_file,
        check_interval=check_interval,
        clock=clock,
        limits=limits,
    )
    poller = BucketPoller(
        store,
        url=url,
        fetch=fetch,
        timeout=timeout,
        polling_interval=polling_interval,
        limits=limits,
        autostart=True,
        jitter=0.1,
        thread_name="flagship-bucket-refresh",
    )
    poller.watch(lambda bucket: send_bucket_changed(store, bucket))
    return poller
