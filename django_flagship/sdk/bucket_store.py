"""Where the bucket poller keeps the last good bucket: the :class:`BucketStore` protocol.

A :class:`~.bucket_poller.BucketPoller` downloads and checks a bucketing file
and writes it into a store; readers ask the store for the bucket in use. The
core ships :class:`MemoryBucketStore` (one process); the Django layer gives
the poller a store on the Django cache (``django_flagship.cache``), shared by
every process of a site.

A store tells its poller when it starts using another bucket (written here,
or by another process into a shared store) through the ``changed`` callback
it is given by :meth:`BucketStore.attach`; the poller passes it on to its
update listeners (:class:`~.updates.UpdateListeners`).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from . import strict_json
from .bucketing import Bucket

__all__ = [
    "Baseline",
    "BucketStore",
    "MemoryBucketStore",
    "NewBucket",
    "RefreshResult",
    "bucket_text",
    "bucket_version",
]


def bucket_text(data: Any) -> str:
    """The compact JSON text a bucketing document is stored and versioned as.

    ``NaN`` is kept: the parser skips the campaign part that holds one.
    """
    return strict_json.dumps(data, allow_nan=True)


def bucket_version(text: str) -> str:
    """The version of a bucketing file: the start of the SHA-256 of its text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class Baseline:
    """What a store holds when a download starts (from :meth:`BucketStore.prepare`).

    ``last_modified`` goes out as ``If-Modified-Since`` (``None`` asks for the
    whole file). ``entry`` and ``shared`` belong to the store that made it.
    """

    last_modified: str | None
    entry: Any = None
    shared: bool = False


@dataclass(frozen=True, slots=True)
class NewBucket:
    """A downloaded bucketing file that passed every check, ready to be written."""

    text: str
    version: str
    bucket: Bucket
    last_modified: str | None


class BucketStore(Protocol):
    """Keeps the bucket in use; written by a poller, read on every decision."""

    #: The version of the bucket in use (:func:`bucket_version`), or ``None``.
    version: str | None
    #: The ``Last-Modified`` of the bucket in use, when its download said.
    last_modified: str | None

    @property
    def installed(self) -> Bucket | None:
        """The bucket in use now, with no I/O (diagnostics)."""

    def current(self) -> Bucket | None:
        """The bucket to decide with; a shared store may look for a newer one here."""

    def attach(
        self,
        *,
        changed: Callable[[Bucket], None],
        empty: Callable[[], bool],
        checked: Callable[[], None],
    ) -> None:
        """Called once by the poller that writes here.

        ``changed(bucket)`` whenever the store starts using another bucket;
        ``empty()`` when a read found nothing at all to serve (it returns
        whether it filled the store); ``checked()`` after each look a read
        takes at a shared store (the poller then makes sure its thread runs
        in this process). A store in memory calls only ``changed``.
        """

    def prepare(self, *, force: bool, lock_ttl: float) -> Baseline | None:
        """Before a download: the baseline, or ``None`` when another process downloads now.

        ``force`` (an explicit refresh) downloads whatever other processes do;
        a store may raise :class:`~.bucketing.BucketError` when it cannot take
        the result. ``lock_ttl`` is how long other processes should leave
        the downloads to this one.
        """

    def unchanged(self, baseline: Baseline) -> None:
        """The download answered "not modified"."""

    def write(self, baseline: Baseline, new: NewBucket) -> bool:
        """Keep and use ``new``; ``True`` when it was stored as a new version.

        Raises :class:`~.bucketing.BucketError` when it could not be stored
        (the bucket may then be used by this process alone).
        """


class MemoryBucketStore:
    """The bucket kept in this process's memory (the SDK on its own)."""

    def __init__(self, bucket: Bucket | None = None) -> None:
        self._bucket = bucket
        self.version: str | None = None
        self.last_modified: str | None = None
        self._lock = threading.Lock()
        self._changed: Callable[[Bucket], None] | None = None

    def __repr__(self) -> str:
        return f"<MemoryBucketStore version={self.version!r}>"

    @property
    def installed(self) -> Bucket | None:
        return self._bucket

    def current(self) -> Bucket | None:
        return self._bucket

    def attach(
        self,
        *,
        changed: Callable[[Bucket], None],
        empty: Callable[[], bool],
        checked: Callable[[], None],
    ) -> None:
        self._changed = changed

    def prepare(self, *, force: bool, lock_ttl: float) -> Baseline:
        return Baseline(last_modified=self.last_modified)

    def unchanged(self, baseline: Baseline) -> None:
        pass

    def write(self, baseline: Baseline, new: NewBucket) -> bool:
        with self._lock:
            changed = new.version != self.version or self._bucket is None
            self._bucket = new.bucket
            self.version = new.version
            self.last_modified = new.last_modified
        if changed and self._changed is not None:
            self._changed(new.bucket)
        return changed


@dataclass(frozen=True, slots=True)
class RefreshResult:
    """What a refresh did; ``updated`` is false for a 304 or a skipped attempt."""

    updated: bool
    version: str | None
    last_modified: str | None
    campaign_count: int
    variation_group_count: int
    skipped: bool = False

    @classmethod
    def of(
        cls,
        store: BucketStore,
        *,
        updated: bool,
        skipped: bool = False,
        last_modified: str | None = None,
    ) -> RefreshResult:
        """The result, with what ``store`` holds now."""
        bucket = store.installed
        return cls(
            updated=updated,
            version=store.version,
            last_modified=store.last_modified or last_modified,
            campaign_count=bucket.campaign_count if bucket else 0,
            variation_group_count=bucket.variation_group_count if bucket else 0,
            skipped=skipped,
        )

    def summary(self) -> str:
        if self.skipped:
            return "Refresh skipped: another process is downloading the bucket."
        what = "Bucket updated" if self.updated else "Bucket not modified"
        return (
            f"{what}: {self.campaign_count} campaigns, "
            f"{self.variation_group_count} variation groups, "
            f"Last-Modified {self.last_modified or 'unknown'}, version {self.version or 'none'}."
        )
