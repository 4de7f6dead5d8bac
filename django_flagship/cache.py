"""The bucketing file kept in the Django cache, shared by every process.

The cache holds two keys per environment: the *entry* (the raw JSON text, its
``Last-Modified`` and a version, the hash of the text) and a small *pointer*
(the version alone, and the ``Last-Modified``). Each process keeps the parsed
bucket and asks the cache for the pointer at most once per
``FLAGSHIP_BUCKET_CHECK_INTERVAL``, so a request costs at most one cache round
trip and usually none. When the pointer changed, the next check fetches the
entry instead (one round trip again) and parses it once.

:data:`bucket_changed` (re-exported from :mod:`.signals`) is sent in each
process when it starts using another bucket.

This module is the store only (:class:`CacheBucketStore`, the core's
:class:`~.sdk.bucket_store.BucketStore` protocol on a Django cache). The
downloads are the core's :class:`~.sdk.bucket_poller.BucketPoller`'s: off the
request path, in one daemon thread per process, and one process at a time: a
process downloads only when it wins ``cache.add`` on a lock key that lives
for one polling interval (:meth:`CacheBucketStore.prepare`);
:func:`.polling.cache_bucket_poller` puts the two together.
``If-Modified-Since`` comes from the cached entry, so a 304 is the usual
answer. A download or a cached entry that does not parse never replaces the
bucket in use, and an unreachable cache leaves each process with its last
good bucket.

A cached entry is checked as a download is (size, depth, shape, counts:
:func:`.sdk.bucket_source.parse_bucketing_text`): anything with write access
to the cache could have put it there. An entry that cannot be used, or that
the cache cannot even decode (written by another program or another
version), is logged as such, never mistaken for an unreachable cache, and the
next download replaces it in full rather than asking the CDN whether it
changed.
"""

from __future__ import annotations

import logging
import os
import pickle
import threading
import time
from collections.abc import Callable
from typing import Any

from django.core.cache import BaseCache

from .sdk.bucket_download import load_bucketing_file, parse_bucket, parse_bucketing_text
from .sdk.bucket_limits import DEFAULT_LIMITS, BucketLimits
from .sdk.bucket_store import Baseline, NewBucket, RefreshResult, bucket_text, bucket_version
from .sdk.bucketing import Bucket, BucketError
from .signals import bucket_changed

__all__ = [
    "CacheBucketStore",
    "RefreshResult",
    "bucket_changed",
]

logger = logging.getLogger("django_flagship")


#: What a cache raises for a value it holds but cannot decode (pickle's
#: errors): not a connection problem.
_UNDECODABLE = (
    pickle.UnpicklingError,
    EOFError,
    AttributeError,
    ImportError,
    IndexError,
    KeyError,
    TypeError,
    ValueError,
)


def _undecodable(exc: Exception) -> bool:
    return isinstance(exc, _UNDECODABLE) and not isinstance(exc, OSError)


class CacheBucketStore:
    """The bucket store on a Django cache; see the module docstring."""

    def __init__(
        self,
        cache: Callable[[], BaseCache],
        *,
        namespace: str,
        bucket_file: str | None = None,
        check_interval: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
        limits: BucketLimits = DEFAULT_LIMITS,
    ) -> None:
        self._cache = cache
        self.limits = limits
        self.entry_key = f"{namespace}:bucket"
        self.pointer_key = f"{namespace}:bucket-version"
        self.lock_key = f"{namespace}:bucket-lock"
        self.bucket_file = bucket_file
        self.check_interval = check_interval
        self._clock = clock
        self._changed: Callable[[Bucket], None] | None = None
        self._empty: Callable[[], bool] | None = None
        self._checked: Callable[[], None] | None = None

        self._bucket: Bucket | None = None
        self.version: str | None = None
        self.last_modified: str | None = None
        #: When the bucket in use was stored in the cache (``time.time()``), or
        #: loaded by this process alone; ``None`` when the cache entry does not say.
        self.stored_at: float | None = None
        self._pointer: str | None = None  # last pointer version seen in the cache
        self._pending = False  # the pointer moved: fetch the entry on the next check
        self._next_check = 0.0
        self._cache_ok = True
        self._entry_ok = True  # the last value read from the cache could be decoded
        self._bad_version: str | None = None  # a cached version that could not be used
        self._reset_process_state()

    def _reset_process_state(self) -> None:
        # Locks and threads do not survive a fork; a child starts afresh.
        self._pid = os.getpid()
        self._check_lock = threading.Lock()
        self._install_lock = threading.Lock()
        self._next_check = 0.0
        self._checked_once = False

    def __repr__(self) -> str:
        return f"<CacheBucketStore {self.entry_key!r} version={self.version!r}>"

    @property
    def cache(self) -> BaseCache:
        return self._cache()

    @property
    def installed(self) -> Bucket | None:
        """The bucket this process uses now, without asking the cache (diagnostics)."""
        return self._bucket

    def attach(
        self,
        *,
        changed: Callable[[Bucket], None],
        empty: Callable[[], bool],
        checked: Callable[[], None],
    ) -> None:
        """Called by the poller writing here: ``changed`` on each new bucket in use,
        ``empty`` when the cache holds none and a local document could fill it
        now, ``checked`` after each check (the poller's thread then runs)."""
        self._changed = changed
        self._empty = empty
        self._checked = checked

    # -- reading (request path) ------------------------------------------------

    def current(self) -> Bucket | None:
        """The parsed bucket; at most one cache round trip, usually none."""
        bucket = self._bucket
        if self._clock() < self._next_check and (bucket is not None or self._checked_once):
            return bucket
        if self._pid != os.getpid():
            self._reset_process_state()
        if bucket is None and not self._checked_once:
            # A new process, nothing to serve yet: wait for the first check,
            # which another thread may be making, rather than answer without a
            # bucket. Later checks never make a request wait (a cache that
            # hangs must not queue every request thread behind it).
            with self._check_lock:
                if not self._checked_once:
                    self._run_check()
            return self._bucket
        if not self._check_lock.acquire(blocking=False):
            return bucket  # another thread is checking right now
        try:
            self._run_check()
        finally:
            self._check_lock.release()
        return self._bucket

    def _run_check(self) -> None:
        # Called with the check lock held.
        self._next_check = self._clock() + self.check_interval
        try:
            self._check()
            if self._checked is not None:
                self._checked()
        finally:
            self._checked_once = True

    def _check(self) -> None:
        fetch_entry = self._bucket is None or self._pending
        key = self.entry_key if fetch_entry else self.pointer_key
        try:
            try:
                value = self.cache.get(key)
            except Exception as exc:
                if not _undecodable(exc):
                    raise
                self._cache_up()
                self._value_undecodable(key, exc)
                self._pending = False
                if self._bucket is None and self.bucket_file:
                    self._load_file_locally()
                return
            self._cache_up()
            self._value_decoded()
            if not fetch_entry:
                version = value.get("version") if isinstance(value, dict) else None
                if version is not None and version != self._pointer:
                    # Load it on the next check, so no request pays two round trips.
                    self._pending = True
                    self._next_check = self._clock()
                return
            if value is None:
                if self._bucket is None:
                    self._seed()
                return
            self._pending = False
            self._install_entry(value)
        except Exception as exc:
            self._cache_down(exc)
            if self._bucket is None and self.bucket_file:
                self._load_file_locally()

    def _cache_up(self) -> None:
        if not self._cache_ok:
            self._cache_ok = True
            logger.info("Flagship: the bucket cache is reachable again")

    def _cache_down(self, exc: Exception) -> None:
        if self._cache_ok:
            self._cache_ok = False
            state = "keeping the current bucket" if self._bucket else "no bucket yet"
            logger.warning(
                "Flagship: the bucket cache is unreachable (%s: %s); %s",
                type(exc).__name__,
                exc,
                state,
            )

    def _value_undecodable(self, key: str, exc: Exception) -> None:
        if self._entry_ok:
            self._entry_ok = False
            state = "keeping the current bucket" if self._bucket else "no bucket yet"
            logger.error(
                "Flagship: the cache is reachable but its value for %r cannot be decoded "
                "(%s: %s): it was not written by this version of django-flagship, or is "
                "damaged; the next download replaces it; %s",
                key,
                type(exc).__name__,
                exc,
                state,
            )

    def _value_decoded(self) -> None:
        if not self._entry_ok:
            self._entry_ok = True
            logger.info("Flagship: the cached bucket can be decoded again")

    def _install_entry(self, entry: Any) -> None:
        """Install a cached entry unless it is the one in use or cannot be used."""
        try:
            if not isinstance(entry, dict):
                raise TypeError(f"the entry is a {type(entry).__name__}, not a dict")
            version = entry["version"]
            if version == self.version:
                self._pointer = version
                return
            text = entry["text"]
            if not isinstance(text, str | bytes):
                raise TypeError(f"the entry's text is a {type(text).__name__}")
            data = parse_bucketing_text(text, self.limits, "the cached bucket")
            bucket = parse_bucket(data, lambda message: logger.debug("Flagship: %s", message))
        except Exception as exc:  # whatever is wrong with it, it is not installed
            logger.error(
                "Flagship: the cached bucket is unusable (%s: %s); keeping the current one",
                type(exc).__name__,
                exc,
            )
            # Not again until the cache holds another version, and the next
            # download asks for the whole file to replace it.
            if isinstance(entry, dict) and isinstance(entry.get("version"), str):
                self._pointer = entry["version"]
                self._bad_version = entry["version"]
            if self._bucket is None and self.bucket_file:
                self._load_file_locally()
            return
        self._install(bucket, version, entry.get("last_modified"), _stored_at(entry))

    def _install(
        self, bucket: Bucket, version: str, last_modified: str | None, stored_at: float | None
    ) -> None:
        with self._install_lock:
            changed = version != self.version
            self._bucket = bucket
            self.version = version
            self.last_modified = last_modified
            self.stored_at = stored_at
            self._pointer = version
        if changed and self._changed is not None:
            self._changed(bucket)

    def _seed(self) -> None:
        """The cache is empty: seed it from ``FLAGSHIP_BUCKET_FILE`` when there is one."""
        if self._empty is not None and self._empty():
            return
        if not self.bucket_file:
            return
        try:
            text, bucket = self.read_file(self.bucket_file, warn=True)
        except BucketError as exc:
            logger.error("Flagship: %s", exc)
            return
        version = bucket_version(text)
        entry = self._entry(text, version, None, source="file")
        # add, not set: a refresh that raced us must win.
        if self.cache.add(self.entry_key, entry, timeout=None):
            self.cache.add(self.pointer_key, self._pointer_of(entry), timeout=None)
        self._install(bucket, version, None, entry["stored_at"])

    def _load_file_locally(self) -> None:
        try:
            text, bucket = self.read_file(self.bucket_file or "", warn=True)
        except BucketError as exc:
            logger.error("Flagship: %s", exc)
            return
        self._install(bucket, bucket_version(text), None, time.time())

    def read_file(self, path: str, *, warn: bool) -> tuple[str, Bucket]:
        """A local bucketing file's text and bucket, checked; raises :class:`BucketError`."""
        data = load_bucketing_file(path, self.limits)
        log = logger.warning if warn else logger.debug
        bucket = parse_bucket(data, lambda message: log("Flagship: %s", message))
        return bucket_text(data), bucket

    @staticmethod
    def _entry(
        text: str, version: str, last_modified: str | None, *, source: str
    ) -> dict[str, Any]:
        return {
            "version": version,
            "last_modified": last_modified,
            "text": text,
            "stored_at": time.time(),
            "source": source,
        }

    @staticmethod
    def _pointer_of(entry: dict[str, Any]) -> dict[str, Any]:
        return {
            "version": entry["version"],
            "last_modified": entry["last_modified"],
            "stored_at": entry["stored_at"],
        }

    def _store(self, entry: dict[str, Any]) -> None:
        # One call: atomic on Redis (MSET), and elsewhere the entry goes first,
        # so a reader that sees the new pointer finds the entry it names.
        failed = self.cache.set_many(
            {self.entry_key: entry, self.pointer_key: self._pointer_of(entry)}, timeout=None
        )
        if failed:
            raise BucketError(f"the cache did not store {', '.join(map(str, failed))}")

    def cached_entry(self) -> dict[str, Any] | None:
        """The entry in the cache, for commands and diagnostics (may raise)."""
        entry = self.cache.get(self.entry_key)
        return entry if isinstance(entry, dict) else None

    # -- writing (the poller's thread, management commands) ------------------------

    def prepare(self, *, force: bool, lock_ttl: float) -> Baseline | None:
        """Before a download: ``None`` when another process has the download lock.

        Without ``force`` the download happens only if this process wins the
        cache lock, which then stays ``lock_ttl`` seconds so that the other
        processes skip theirs; an unreachable cache then leaves the download
        to this process alone. With ``force`` (the management command) the
        cache must be reachable (:class:`BucketError` otherwise).
        """
        cache_ok = True
        if not force:
            try:
                if not self.cache.add(self.lock_key, os.getpid(), timeout=lock_ttl):
                    return None
            except Exception as exc:
                # Nobody to coordinate with: download for this process alone.
                cache_ok = False
                self._cache_down(exc)
        try:
            entry = self.cached_entry() if cache_ok else None
        except Exception as exc:
            if _undecodable(exc):
                # Reachable, but holding something else: download it all again.
                self._value_undecodable(self.entry_key, exc)
                entry = None
            elif force:
                # An explicit refresh exists to fill the cache: say it cannot.
                raise BucketError(
                    f"the cache is unreachable: {type(exc).__name__}: {exc}"
                ) from None
            else:
                cache_ok = False
                entry = None
                self._cache_down(exc)
        if entry is not None and entry.get("version") != self._bad_version:
            last_modified = entry.get("last_modified")
        else:
            # A reachable but empty cache (flushed, evicted) or one holding an
            # entry that cannot be used must be filled again: ask for the whole
            # file, or a 304 would leave every process without it.
            last_modified = None if cache_ok else self.last_modified
        return Baseline(last_modified, entry=entry, shared=cache_ok)

    def unchanged(self, baseline: Baseline) -> None:
        """A 304: a process with no bucket yet takes the cached one."""
        if baseline.entry is not None and self._bucket is None:
            self._install_entry(baseline.entry)

    def write(self, baseline: Baseline, new: NewBucket) -> bool:
        """Store ``new`` in the cache and use it; ``False`` when the cache holds it already."""
        entry = baseline.entry
        if entry is not None and entry.get("version") == new.version:
            # A server that ignores If-Modified-Since: same content, nothing to write.
            if self.version != new.version:
                self._install(
                    new.bucket, new.version, entry.get("last_modified"), _stored_at(entry)
                )
            return False
        stored = self._entry(new.text, new.version, new.last_modified, source="download")
        if baseline.shared:
            try:
                self._store(stored)
            except Exception as exc:
                self._cache_down(exc)
                self._install(new.bucket, new.version, new.last_modified, stored["stored_at"])
                raise BucketError(
                    f"the bucket was downloaded but could not be stored in the cache: "
                    f"{type(exc).__name__}: {exc}"
                ) from None
        self._install(new.bucket, new.version, new.last_modified, stored["stored_at"])
        return True

    def load_file(self, path: str) -> RefreshResult:
        """Validate a local bucketing file and store it; raises :class:`BucketError`."""
        text, bucket = self.read_file(path, warn=True)
        version = bucket_version(text)
        entry = self._entry(text, version, None, source="file")
        try:
            self._store(entry)
        except Exception as exc:
            raise BucketError(
                f"the bucket could not be stored in the cache: {type(exc).__name__}: {exc}"
            ) from None
        self._install(bucket, version, None, entry["stored_at"])
        return RefreshResult.of(self, updated=True)


def _stored_at(entry: dict[str, Any]) -> float | None:
    """The entry's ``stored_at`` when it is a plausible timestamp (the cache is not trusted)."""
    value = entry.get("stored_at")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if 0 < value < float("inf") else None
