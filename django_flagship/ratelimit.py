"""Fixed-window rate limits counted in the Django cache, so every process shares them.

A limit is ``(count, seconds)``: at most ``count`` units (requests, events,
activations) per client in each window of ``seconds``. Windows start at
multiples of ``seconds``; each client's count lives in the
``FLAGSHIP_CACHE_ALIAS`` cache under ``<FLAGSHIP_CACHE_KEY_PREFIX>:rate:<scope>:
<digest of the client>:<window>`` and expires shortly after its window. What is
refused is counted too, so a client that keeps knocking stays refused until
the window ends.

When the cache fails (down, timing out, an unknown alias, a ``DummyCache``),
each process counts on its own, in memory: the limit then holds per process,
so ``N`` processes accept up to ``N`` times the limit, and a warning is logged
at most once a minute. Neither extreme fits: failing open would lift the limit
when a flood has just brought the cache down, failing closed would refuse
every visitor while the cache is away.
"""

from __future__ import annotations

import collections
import hashlib
import math
import threading
import time
from typing import Any

from django.core.cache import caches
from django.core.signals import setting_changed
from django.dispatch import receiver

from .conf import conf
from .log import warn_rarely

__all__ = ["charge", "reset_local_counts"]

#: Clients whose counts a process keeps in memory while the cache is failing.
LOCAL_CLIENTS = 10_000


class _LocalCounts:
    """The counts of one process, bounded: the oldest windows go first."""

    def __init__(self, size: int = LOCAL_CLIENTS) -> None:
        self._size = size
        self._lock = threading.Lock()
        self._counts: collections.OrderedDict[str, tuple[int, float]] = collections.OrderedDict()

    def add(self, key: str, amount: int, expires_at: float, now: float) -> int:
        with self._lock:
            count, expiry = self._counts.get(key, (0, expires_at))
            if expiry <= now:
                count = 0
            count += amount
            self._counts[key] = (count, expires_at)
            while len(self._counts) > self._size:
                self._counts.popitem(last=False)
            return count

    def clear(self) -> None:
        with self._lock:
            self._counts.clear()


_local = _LocalCounts()


def reset_local_counts() -> None:
    """Forget the in-memory counts (tests; the cache's counts are untouched)."""
    _local.clear()


def _cache_add(cache: Any, key: str, amount: int, timeout: int) -> int:
    if type(cache).__name__ == "DummyCache":
        raise RuntimeError("the cache is a DummyCache, which keeps nothing")
    try:
        return int(cache.incr(key, amount))
    except ValueError:  # no count yet in this window
        pass
    if cache.add(key, amount, timeout=timeout):
        return amount
    return int(cache.incr(key, amount))


def charge(
    scope: str,
    client: str,
    limit: tuple[int, float],
    amount: int = 1,
    *,
    now: float | None = None,
) -> float | None:
    """Count ``amount`` units for ``client``; the seconds to wait when over ``limit``.

    ``None`` when the units fit in the current window.
    """
    count, seconds = limit
    now = time.time() if now is None else now
    window = int(now // seconds)
    digest = hashlib.sha256(client.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    key = f"{conf.cache_key_prefix}:rate:{scope}:{digest}:{window}"
    window_end = (window + 1) * seconds
    try:
        seen = _cache_add(caches[conf.cache_alias], key, amount, math.ceil(seconds) + 5)
    except Exception as exc:
        warn_rarely(
            f"rate-{scope}",
            "Flagship: the cache cannot count %s; each process counts on its own (%s: %s)",
            scope,
            type(exc).__name__,
            exc,
        )
        seen = _local.add(key, amount, window_end, now)
    if seen > count:
        return max(0.0, window_end - now)
    return None


@receiver(setting_changed)
def _on_setting_changed(*, setting: str, **kwargs: Any) -> None:
    # New limits or another cache: the counts kept in memory start again.
    if setting.startswith("FLAGSHIP_") or setting == "CACHES":
        reset_local_counts()
