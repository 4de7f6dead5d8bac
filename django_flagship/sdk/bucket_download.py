"""Downloading, reading and checking a bucketing file: every way in meets the same bounds.

A download, a local file and a shared cache's entry all go through
:func:`parse_bucketing_text`: the same size, depth, shape and count bounds
(:mod:`.bucket_limits`), the same errors; :func:`parse_bucket` then refuses
a file none of whose campaigns can be used.
"""

from __future__ import annotations

import http.client
import os
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests
import urllib3

from . import strict_json
from .bucket_limits import DEFAULT_LIMITS, BucketLimits, check_bucket_limits
from .bucketing import Bucket, BucketError
from .http import short_text

__all__ = [
    "Download",
    "check_bucketing_shape",
    "download_bucketing_file",
    "load_bucketing_file",
    "parse_bucket",
    "parse_bucketing_text",
]

#: Bytes asked of the connection per read while a file streams in.
_CHUNK = 64 * 1024


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


def parse_bucket(data: Any, on_error: Callable[[str], None]) -> Bucket:
    """Parse a checked document; a file whose every campaign is refused counts as bad.

    Each refused part is reported to ``on_error``; raises :class:`BucketError`
    when campaigns were listed and none of them could be used.
    """
    problems: list[str] = []

    def collect(message: str) -> None:
        problems.append(message)
        on_error(message)

    bucket = Bucket.parse(data, on_error=collect)
    campaigns = data.get("campaigns") if isinstance(data, dict) else None
    if not bucket.panic and campaigns and bucket.campaign_count == 0:
        raise BucketError(
            f"none of the {len(campaigns)} campaigns of the bucketing file could be used"
            + (f" (first problem: {problems[0]})" if problems else "")
        )
    return bucket
