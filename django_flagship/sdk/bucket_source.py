"""Where BUCKETING mode gets its bucketing file: the CDN, polled, or a local file.

A download that fails or does not parse never replaces the bucket in use.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import requests

from .bucketing import Bucket, BucketError
from .http import make_session, short_text

__all__ = [
    "BucketSource",
    "CdnBucketSource",
    "Download",
    "FileBucketSource",
    "StaticBucketSource",
    "download_bucketing_file",
    "load_bucketing_file",
]


class BucketSource(Protocol):
    """Anything that can hand over the current parsed bucket (or ``None``)."""

    def current(self) -> Bucket | None: ...

    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Download:
    """The outcome of one conditional GET of the bucketing file."""

    modified: bool
    data: dict[str, Any] | None = None
    last_modified: str | None = None


def download_bucketing_file(
    session: requests.Session, url: str, *, timeout: float, last_modified: str | None = None
) -> Download:
    """GET the bucketing file with ``If-Modified-Since``; raises :class:`BucketError`.

    A 304 gives ``Download(modified=False)``. The body is checked to be a
    bucketing file (an object with a ``campaigns`` list, or ``panic``) before it
    is handed back, so a garbage answer can never replace a good bucket.
    """
    headers = {"If-Modified-Since": last_modified} if last_modified else {}
    try:
        response = session.get(url, headers=headers, timeout=timeout)
    except requests.Timeout:
        raise BucketError(f"the bucketing file did not arrive within {timeout:g} s") from None
    except requests.RequestException as exc:
        raise BucketError(
            f"the bucketing file could not be downloaded: {type(exc).__name__}"
        ) from None
    if response.status_code == 304:
        return Download(modified=False, last_modified=last_modified)
    if response.status_code != 200:
        raise BucketError(
            f"the bucketing file request answered {response.status_code}: "
            f"{short_text(response.text, 120)}"
        )
    try:
        data = response.json()
    except ValueError:
        raise BucketError(
            f"the bucketing file is not JSON: {short_text(response.text, 80)}"
        ) from None
    check_bucketing_shape(data)
    return Download(modified=True, data=data, last_modified=response.headers.get("Last-Modified"))


def check_bucketing_shape(data: Any) -> None:
    if not isinstance(data, dict):
        raise BucketError("the bucketing file is not a JSON object")
    if data.get("panic") is True:
        return
    if not isinstance(data.get("campaigns"), list):
        raise BucketError("the bucketing file has no campaigns list")


def load_bucketing_file(path: str) -> dict[str, Any]:
    """Read and shape-check a local bucketing file; raises :class:`BucketError`."""
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except OSError as exc:
        raise BucketError(f"cannot read bucket file {path!r}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise BucketError(f"bucket file {path!r} is not valid JSON: {exc}") from None
    check_bucketing_shape(data)
    return data


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

    def __init__(self, path: str, on_error: Callable[[str], None] | None = None) -> None:
        super().__init__(Bucket.parse(load_bucketing_file(path), on_error=on_error))
        self.path = path


class CdnBucketSource:
    """The bucketing file from Flagship's CDN, optionally polled by a daemon thread.

    ``refresh()`` does one conditional download. ``start()`` fetches once and,
    when ``polling_interval > 0``, keeps a thread refreshing until ``close()``,
    which stops it at once (the thread waits on an :class:`threading.Event`).
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
    ) -> None:
        self.url = url
        self.timeout = timeout
        self.polling_interval = polling_interval
        self.session = session or make_session(pool_size=2)
        self._on_error = on_error or (lambda message: None)
        self._on_update = on_update
        self._bucket: Bucket | None = None
        self.last_modified: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def current(self) -> Bucket | None:
        return self._bucket

    def refresh(self) -> bool:
        """Download once; ``True`` when a new bucket was installed. Never raises."""
        with self._lock:
            try:
                download = download_bucketing_file(
                    self.session, self.url, timeout=self.timeout, last_modified=self.last_modified
                )
                if not download.modified:
                    return False
                bucket = Bucket.parse(download.data or {}, on_error=self._on_error)
            except Exception as exc:  # never lets a bad answer stop the polling thread
                kept = "keeping the current bucket" if self._bucket else "no bucket yet"
                problem = exc if isinstance(exc, BucketError) else f"{type(exc).__name__}: {exc}"
                self._on_error(f"{problem}; {kept}")
                return False
            self._bucket = bucket
            self.last_modified = download.last_modified
        if self._on_update is not None:
            self._on_update(bucket)
        return True

    def start(self) -> None:
        self.refresh()
        if self.polling_interval > 0 and self._thread is None:
            self._thread = threading.Thread(
                target=self._poll, name="flagship-bucket-poller", daemon=True
            )
            self._thread.start()

    def _poll(self) -> None:
        while not self._stop.wait(self.polling_interval):
            self.refresh()

    @property
    def polling(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def close(self) -> None:
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=self.timeout + 1)
