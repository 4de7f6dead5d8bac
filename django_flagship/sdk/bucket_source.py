"""Where BUCKETING mode gets its bucketing file: the CDN, polled, or a local file.

A download that fails or does not parse never replaces the bucket in use.
Every way in (a download, a file, the shared cache) goes through
:func:`parse_bucketing_text`: the same size, depth, shape and count bounds
(:mod:`.bucket_limits`), the same errors.
"""

from __future__ import annotations

import http.client
import os
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import requests
import urllib3

from . import strict_json
from .bucket_limits import DEFAULT_LIMITS, BucketLimits, check_bucket_limits
from .bucketing import Bucket, BucketError
from .http import make_session, short_text

__all__ = [
    "BucketSource",
    "CdnBucketSource",
    "Download",
    "FileBucketSource",
    "StaticBucketSource",
    "check_bucketing_shape",
    "download_bucketing_file",
    "load_bucketing_file",
    "parse_bucketing_text",
]

#: Bytes asked of the connection per read while a file streams in.
_CHUNK = 64 * 1024


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
    session: requests.Session,
    url: str,
    *,
    timeout: float,
    last_modified: str | None = None,
    limits: BucketLimits = DEFAULT_LIMITS,
    stop: threading.Event | None = None,
) -> Download:
    """GET the bucketing file with ``If-Modified-Since``; raises :class:`BucketError`.

    A 304 gives ``Download(modified=False)``. The body streams in: refused as
    soon as it passes ``limits.max_bytes`` (or when ``Content-Length`` says it
    will), and abandoned once ``limits.download_deadline`` has passed since
    the request started (``timeout`` bounds each wait, so the whole download
    ends within the deadline plus one ``timeout``) or when ``stop`` is set.
    The body is then checked by :func:`parse_bucketing_text`, so a garbage
    answer can never replace a good bucket.
    """
    headers = {"If-Modified-Since": last_modified} if last_modified else {}
    # Decoded here, chunk by chunk, so that the size bound holds after inflation.
    headers["Accept-Encoding"] = "gzip"
    started = time.monotonic()
    try:
        response = session.get(url, headers=headers, timeout=timeout, stream=True)
    except requests.Timeout:
        raise BucketError(f"the bucketing file did not arrive within {timeout:g} s") from None
    except requests.RequestException as exc:
        raise BucketError(
            f"the bucketing file could not be downloaded: {type(exc).__name__}"
        ) from None
    with response:
        if response.status_code == 304:
            return Download(modified=False, last_modified=last_modified)
        if response.status_code != 200:
            try:
                head = _read_body(response, started, timeout, limits, stop, cap=1024)
            except BucketError:
                head = b""
            raise BucketError(
                f"the bucketing file request answered {response.status_code}: "
                f"{short_text(head.decode('utf-8', 'replace'), 120)}"
            )
        body = _read_body(response, started, timeout, limits, stop)
    data = parse_bucketing_text(body, limits)
    return Download(modified=True, data=data, last_modified=response.headers.get("Last-Modified"))


def _read_body(
    response: requests.Response,
    started: float,
    timeout: float,
    limits: BucketLimits,
    stop: threading.Event | None,
    *,
    cap: int | None = None,
) -> bytes:
    """The decoded body within the bounds of :func:`download_bucketing_file`.

    With ``cap``, at most that many bytes are read (an error page's first
    words) and the size bound does not apply.
    """
    if cap is None:
        declared = response.headers.get("Content-Length", "").strip()
        if declared.isdigit():
            limits.check_size(int(declared), "the bucketing file (by its Content-Length)")
    read = _reader(response, (cap or limits.max_bytes) + 1)
    chunks: list[bytes] = []
    size = 0
    try:
        while True:
            if stop is not None and stop.is_set():
                raise BucketError("the download was stopped")
            if time.monotonic() - started > limits.download_deadline:
                raise BucketError(
                    f"the bucketing file did not arrive within the download deadline of "
                    f"{limits.download_deadline:g} s (FLAGSHIP_BUCKET_DOWNLOAD_DEADLINE raises it)"
                )
            chunk = read()
            if chunk is None:
                break
            size += len(chunk)
            chunks.append(chunk)
            if cap is not None and size >= cap:
                break
            limits.check_size(size)
    except TimeoutError:
        raise BucketError(f"the bucketing file stalled for more than {timeout:g} s") from None
    except (
        OSError,
        zlib.error,
        http.client.HTTPException,
        urllib3.exceptions.HTTPError,
        requests.RequestException,
    ) as exc:
        raise BucketError(
            f"the bucketing file could not be downloaded: {type(exc).__name__}"
        ) from None
    return b"".join(chunks)[:cap]


def _reader(response: requests.Response, most: int) -> Callable[[], bytes | None]:
    """A function giving the next decoded bytes of the body (``None`` at the end).

    Each call waits for one read of the connection at most, whatever arrives,
    so a server that trickles bytes cannot keep a call, and the deadline check
    between calls, waiting. urllib3 reads whole chunks (a trickle of 50 bytes
    a second holds one 64 KiB read for twenty minutes), so the connection's
    own ``read1`` is used when it has one, and gzip is inflated here, never
    to more than ``most`` bytes at once.
    """
    encoding = response.headers.get("Content-Encoding", "").strip().lower()
    read1 = getattr(getattr(response.raw, "_fp", None), "read1", None)
    if read1 is None or encoding not in ("", "identity", "gzip", "x-gzip"):
        chunks = response.iter_content(_CHUNK)
        return lambda: next(chunks, None)
    inflate = zlib.decompressobj(16 + zlib.MAX_WBITS) if encoding.endswith("gzip") else None

    def read() -> bytes | None:
        data = read1(_CHUNK)
        if inflate is None:
            return data or None
        if not data:
            rest = inflate.flush()
            return rest or None
        return inflate.decompress(data, most)

    return read


def check_bucketing_shape(data: Any, what: str = "the bucketing file") -> None:
    """An object with a ``campaigns`` list, or ``panic``; :class:`BucketError` otherwise."""
    if not isinstance(data, dict):
        raise BucketError(f"{what} is not a JSON object")
    if data.get("panic") is True:
        return
    if not isinstance(data.get("campaigns"), list):
        raise BucketError(f"{what} has no campaigns list")


def parse_bucketing_text(
    raw: bytes | str, limits: BucketLimits = DEFAULT_LIMITS, what: str = "the bucketing file"
) -> dict[str, Any]:
    """Decode and check a bucketing file's text; raises :class:`BucketError`.

    The size (``limits.max_bytes``) first, then strict JSON nested at most
    ``limits.max_depth`` deep, the shape, and the counts of
    :func:`.bucket_limits.check_bucket_limits`. ``NaN`` is let through: the
    parser skips the campaign part that holds one, as it always has.
    """
    size = len(raw) if isinstance(raw, bytes) else _text_size(raw, limits.max_bytes)
    limits.check_size(size, what)
    try:
        data = strict_json.loads(raw, max_depth=limits.max_depth, allow_nan=True)
    except strict_json.JsonError as exc:
        head = raw[:200].decode("utf-8", "replace") if isinstance(raw, bytes) else raw[:200]
        raise BucketError(
            f"{what} is not valid JSON: {exc}; it begins {short_text(head, 60)!r}"
        ) from None
    check_bucketing_shape(data, what)
    check_bucket_limits(data, limits)
    return data


def _text_size(text: str, limit: int) -> int:
    """UTF-8 size of ``text``, measured only when its length leaves a doubt."""
    if len(text) > limit or len(text) * 4 <= limit:
        return len(text)
    return len(text.encode("utf-8", "surrogatepass"))


def load_bucketing_file(path: str, limits: BucketLimits = DEFAULT_LIMITS) -> dict[str, Any]:
    """Read and check a local bucketing file; raises :class:`BucketError`.

    A file larger than ``limits.max_bytes`` is refused before it is read.
    """
    what = f"bucket file {path!r}"
    try:
        with open(path, "rb") as fh:
            limits.check_size(os.fstat(fh.fileno()).st_size, what)
            raw = fh.read(limits.max_bytes + 1)
    except OSError as exc:
        raise BucketError(f"cannot read bucket file {path!r}: {exc.strerror or exc}") from None
    return parse_bucketing_text(raw, limits, what)


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
        limits: BucketLimits = DEFAULT_LIMITS,
    ) -> None:
        self.url = url
        self.limits = limits
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
                    self.session,
                    self.url,
                    timeout=self.timeout,
                    last_modified=self.last_modified,
                    limits=self.limits,
                    stop=self._stop,
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
