"""``FLAGSHIP_BUCKET_SOURCE = "local"``: the bucket store's document comes from here.

:func:`fetch` is what :class:`~django_flagship.sdk.bucket_poller.BucketPoller` calls in
place of a download. It compiles the authored campaigns and
``FLAGSHIP_LOCAL_FLAGS`` (:mod:`.compiler`) and hands them over as a download
would, with a ``Last-Modified``: the time of the last authored change, moved
one second past the previous document's when two versions would otherwise
share one (an HTTP date counts whole seconds, and a client holding the first
must not be told the second is not modified). The store keeps what it keeps
for a download: one entry and one pointer in the cache, replaced only when
the version (the hash of the text) changes, so every process picks a change
up within ``FLAGSHIP_BUCKET_CHECK_INTERVAL`` of it reaching the cache.

A change reaches the cache when its transaction commits (:func:`publish`,
scheduled by :mod:`.signals`), and at the latest at the next poll
(``FLAGSHIP_POLLING_INTERVAL``), for changes made where no signal is sent.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from typing import Any

from django.db import DatabaseError, connections
from django.utils import timezone
from django.utils.http import http_date, parse_http_date_safe

from ..conf import conf
from ..sdk.bucket_source import Download
from ..sdk.bucketing import BucketError
from .compiler import compile_document
from .document import DocumentError, dumps

__all__ = ["SOURCES", "fetch", "is_local", "last_modified_for", "publish"]

logger = logging.getLogger("django_flagship")

#: The values ``FLAGSHIP_BUCKET_SOURCE`` takes.
SOURCES = ("cdn", "local")
#: The largest document compiled: what a downloaded bucketing file may weigh.
MAX_DOCUMENT_BYTES = 16 * 1024 * 1024

_lock = threading.Lock()


def is_local() -> bool:
    """Whether ``FLAGSHIP_BUCKET_SOURCE`` is ``"local"`` (case and spaces aside)."""
    value = conf.bucket_source
    return isinstance(value, str) and value.strip().lower() == "local"


def last_modified_for(changed_at: Any, previous: str | None) -> str:
    """The ``Last-Modified`` of a new document: its change time, past ``previous``."""
    if changed_at is None:
        seconds = math.floor(time.time())
    else:
        if timezone.is_naive(changed_at):
            changed_at = timezone.make_aware(changed_at)
        seconds = math.floor(changed_at.timestamp())
    before = parse_http_date_safe(previous) if previous else None
    if before is not None and seconds <= before:
        seconds = before + 1
    return http_date(seconds)


def fetch(last_modified: str | None) -> Download:
    """The local document, as a download of it; raises :class:`BucketError`.

    ``last_modified`` is the cached document's; the store writes the new one
    only when its version differs, with the ``Last-Modified`` given here.
    """
    alias_connections = [connections[alias] for alias in connections]
    opened_here = [c.alias for c in alias_connections if c.connection is None]
    try:
        with _lock:
            compiled = compile_document(conf.local_flags)
    except DocumentError as exc:
        raise BucketError(f"the local campaigns break a rule: {exc}") from None
    except DatabaseError as exc:
        raise BucketError(
            f"the authored campaigns could not be read: {type(exc).__name__}: {exc}"
        ) from None
    finally:
        # The poller's thread has nobody to close its connections: close the
        # ones opened for this, never one a request or a transaction holds.
        for alias in opened_here:
            connection = connections[alias]
            if not connection.in_atomic_block:
                connection.close()
    size = len(dumps(compiled.data).encode("utf-8"))
    if size > MAX_DOCUMENT_BYTES:
        raise BucketError(
            f"the local campaigns compile to {size:,} bytes, more than the "
            f"{MAX_DOCUMENT_BYTES:,} a bucketing file may have"
        )
    return Download(
        modified=True,
        data=compiled.data,
        last_modified=last_modified_for(compiled.changed_at, last_modified),
    )


def publish() -> None:
    """Compile now and store the result in the cache; logs rather than raises.

    Runs after a transaction that changed authored campaigns commits.
    """
    from ..client import get_poller

    poller = get_poller()
    if poller is None or poller.fetch is not fetch:
        return
    try:
        result = poller.refresh(force=True)
    except BucketError as exc:
        logger.warning(
            "Flagship: the changed campaigns could not be published now (%s); the next "
            "poll retries",
            exc,
        )
        return
    if result.updated:
        logger.info("Flagship: published the authored campaigns: %s", result.summary())
