"""The bucketing file, served: ``<prefix>/<env_id>/bucketing.json``, as Flagship's CDN.

Any Flagship SDK in bucketing mode can take its file from here: point its
bucketing URL at the site (for ``flagship`` 3.x, ``flagship.constants
.URL_BUCKETING``; other SDKs have a setting). The body is the document the
app decides from, byte for byte as the cache holds it, whatever the source
(authored campaigns, a download, a file). ``Last-Modified`` is the
document's, and ``If-Modified-Since`` (or ``If-None-Match`` with the
``ETag``, the version) gets a 304, which is what an SDK polls with.

Like Flagship's CDN the file is public: anyone who knows the environment id
can read every campaign, targeting values included. Mount it only where that
is acceptable.
"""

from __future__ import annotations

import logging
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.cache import get_conditional_response
from django.utils.http import http_date, parse_http_date_safe
from django.views.decorators.http import require_safe

from ..client import get_store, runtime
from .document import dumps

__all__ = ["bucketing_file"]

logger = logging.getLogger("django_flagship")


def _error(status: int, message: str) -> JsonResponse:
    return JsonResponse({"message": message}, status=status)


def _document(store: Any) -> tuple[str, str | None, str | None] | None:
    """(text, version, Last-Modified) of the document in use, from the cache when it can."""
    bucket = store.current()
    try:
        entry = store.cached_entry()
    except Exception as exc:  # an unreachable cache: serve what this process holds
        logger.warning("Flagship: serving the bucketing file without the cache: %s", exc)
        entry = None
    if isinstance(entry, dict) and isinstance(entry.get("text"), str):
        modified = entry.get("last_modified")
        stored = entry.get("stored_at")
        if not isinstance(modified, str) and isinstance(stored, int | float):
            modified = http_date(stored)
        return entry["text"], entry.get("version"), modified
    if bucket is None:
        return None
    modified = store.last_modified
    if modified is None and store.stored_at is not None:
        modified = http_date(store.stored_at)
    return dumps(bucket.raw), store.version, modified


@require_safe
def bucketing_file(request: HttpRequest, env_id: str) -> HttpResponse:
    """The bucketing file of the site's environment (404 for any other)."""
    store = get_store()
    current = runtime().namespace.rsplit(":", 1)[-1]
    if store is None or env_id != current:
        return _error(404, f"no bucketing file for environment {env_id!r}")
    served = _document(store)
    if served is None:
        return _error(503, "the bucketing file is not available yet")
    text, version, modified = served
    timestamp = parse_http_date_safe(modified) if modified else None
    etag = f'"{version}"' if isinstance(version, str) else None
    response = get_conditional_response(request, etag=etag, last_modified=timestamp)
    if response is None:
        response = HttpResponse(text.encode("utf-8"), content_type="application/json")
    if modified:
        response["Last-Modified"] = modified
    if etag:
        response["ETag"] = etag
    # Shared caches must ask again: the file changes when a campaign does.
    response["Cache-Control"] = "public, no-cache"
    return response
