"""The browser side: flags handed to JavaScript, events received from it.

``{% flags_json "btnColor" "btnText" %}`` writes a ``<script
type="application/json" id="flagship-data">`` element holding the values of
the flags the template names (nothing else: no other flag, no key, no
environment id), the URL of :func:`track_event` and the CSRF token.
``django_flagship/flagship.js`` reads it and offers ``flagship.flag(key,
default)`` and ``flagship.track(event)``.

:func:`track_event` turns a posted event into an ``Event`` hit sent through the
hit pipeline as the visitor of the request. It checks, in order: the method
(405), the CSRF token (403), the body size (413), the content type (415), the
session's rate (429), then the event itself (400).

Settings:

``FLAGSHIP_BROWSER_RATE_LIMIT`` (default ``(60, 60.0)``)
    at most this many events per session in this many seconds; ``None``
    removes the limit. Counted in the ``FLAGSHIP_CACHE_ALIAS`` cache.
``FLAGSHIP_BROWSER_MAX_BODY`` (default ``2048``)
    the largest request body accepted, in bytes.

Both are read through :data:`django_flagship.conf.conf` on each request.
``manage.py check`` reports a malformed one (``django_flagship.E016``); should
one reach a request anyway, the view logs an error and uses the default
instead, so the limits stay in force and no request fails on it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.core.cache import caches
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.middleware.csrf import get_token
from django.urls import NoReverseMatch, reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_POST

from .conf import DEFAULTS, conf, setting_or_default
from .sdk.hits import Event, EventCategory

__all__ = [
    "DEFAULT_MAX_BODY",
    "DEFAULT_RATE_LIMIT",
    "BrowserEvent",
    "InvalidEventError",
    "browser_data",
    "parse_event",
    "parse_max_body",
    "parse_rate_limit",
    "track_event",
]

logger = logging.getLogger("django_flagship")

DEFAULT_RATE_LIMIT: tuple[int, float] = DEFAULTS["FLAGSHIP_BROWSER_RATE_LIMIT"]
DEFAULT_MAX_BODY: int = DEFAULTS["FLAGSHIP_BROWSER_MAX_BODY"]

#: The collector's limit for an event's action and label, in UTF-8 bytes.
MAX_TEXT_BYTES = 500
#: The largest integer a JavaScript number holds exactly.
MAX_SAFE_INTEGER = 2**53 - 1

_FIELDS = frozenset({"category", "action", "label", "value"})


class InvalidEventError(ValueError):
    """The posted event is not one the view accepts; the message says why."""


@dataclass(frozen=True, slots=True)
class BrowserEvent:
    """An event as ``track()`` posts it, validated."""

    action: str
    category: EventCategory = EventCategory.ACTION_TRACKING
    label: str | None = None
    value: int | None = None

    def to_hit(self) -> Event:
        hit = Event(self.category, self.action)
        if self.label is not None:
            hit.with_event_label(self.label)
        if self.value is not None:
            hit.with_event_value(self.value)
        return hit


def _text(name: str, value: Any) -> str:
    if not isinstance(value, str):
        raise InvalidEventError(f"'{name}' must be a string")
    value = value.strip()
    if not value:
        raise InvalidEventError(f"'{name}' must not be empty")
    if len(value.encode("utf-8")) > MAX_TEXT_BYTES:
        raise InvalidEventError(f"'{name}' must be at most {MAX_TEXT_BYTES} bytes")
    if any(ord(char) < 32 or ord(char) == 127 for char in value):
        raise InvalidEventError(f"'{name}' must not contain control characters")
    return value


def parse_event(data: Any) -> BrowserEvent:
    """Validate a decoded event ``{"action", "category"?, "label"?, "value"?}``."""
    if not isinstance(data, Mapping):
        raise InvalidEventError("the event must be a JSON object")
    unknown = sorted(set(data) - _FIELDS)
    if unknown:
        raise InvalidEventError(f"unknown field(s): {', '.join(map(repr, unknown))}")
    if "action" not in data:
        raise InvalidEventError("'action' is required")
    action = _text("action", data["action"])
    category = EventCategory.ACTION_TRACKING
    if data.get("category") is not None:
        try:
            category = EventCategory(data["category"])
        except ValueError:
            known = ", ".join(repr(c.value) for c in EventCategory)
            raise InvalidEventError(f"'category' must be one of {known}") from None
    label = _text("label", data["label"]) if data.get("label") is not None else None
    value = data.get("value")
    if value is not None:
        # JSON has one number type: 3.0 is the integer 3, 3.5 is refused.
        if isinstance(value, float) and math.isfinite(value) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidEventError("'value' must be an integer")
        if not 0 <= value <= MAX_SAFE_INTEGER:
            raise InvalidEventError(f"'value' must be between 0 and {MAX_SAFE_INTEGER}")
    return BrowserEvent(action, category, label, value)


# -- flags for JavaScript -------------------------------------------------------


def browser_data(
    request: HttpRequest, keys: Iterable[str], *, activate: bool | None = None
) -> dict[str, Any]:
    """What ``{% flags_json %}`` writes: the named flags, the event URL, the CSRF token.

    A flag the visitor does not have is ``null``; ``flagship.flag(key, default)``
    then gives the default. Reads activate like ``request.flags.get`` unless
    ``activate=False``.
    """
    flags = getattr(request, "flags", None)
    values: dict[str, Any] = {}
    for key in keys:
        if not isinstance(key, str) or not key:
            raise TypeError(f"flag names must be non-empty strings, got {key!r}")
        values[key] = flags.get(key, None, activate=activate) if flags is not None else None
    try:
        track_url: str | None = reverse("flagship_browser:track")
    except NoReverseMatch:
        track_url = None
    return {"flags": values, "trackUrl": track_url, "csrfToken": get_token(request)}


# -- settings -------------------------------------------------------------------


def _is_number(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, int | float) and math.isfinite(value)


def parse_rate_limit(value: Any) -> tuple[int, float] | None:
    """``FLAGSHIP_BROWSER_RATE_LIMIT`` checked: ``(count, seconds)`` or ``None``.

    Raises :class:`ValueError` naming the problem (system check
    ``django_flagship.E016`` reports it).
    """
    if value is None:
        return None
    if not isinstance(value, list | tuple) or len(value) != 2:
        raise ValueError(
            f"FLAGSHIP_BROWSER_RATE_LIMIT is {value!r}; it must be a (count, seconds) pair or None"
        )
    count, seconds = value
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ValueError(
            f"FLAGSHIP_BROWSER_RATE_LIMIT's count is {count!r}; it must be an int >= 1"
        )
    if not _is_number(seconds) or seconds <= 0:
        raise ValueError(
            f"FLAGSHIP_BROWSER_RATE_LIMIT's seconds are {seconds!r}; "
            "they must be a number of seconds > 0"
        )
    return count, float(seconds)


def parse_max_body(value: Any) -> int:
    """``FLAGSHIP_BROWSER_MAX_BODY`` checked: an int >= 1, else :class:`ValueError`."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(
            f"FLAGSHIP_BROWSER_MAX_BODY is {value!r}; it must be a number of bytes (an int >= 1)"
        )
    return value


def _rate_limit() -> tuple[int, float] | None:
    return setting_or_default(
        "FLAGSHIP_BROWSER_RATE_LIMIT", conf.browser_rate_limit, parse_rate_limit, "E016"
    )


def _max_body() -> int:
    return setting_or_default(
        "FLAGSHIP_BROWSER_MAX_BODY", conf.browser_max_body, parse_max_body, "E016"
    )


# -- receiving events -----------------------------------------------------------


def _error(status: int, message: str, **headers: str) -> JsonResponse:
    response = JsonResponse({"error": message}, status=status)
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


def _client_key(request: HttpRequest) -> str:
    session = getattr(request, "session", None)
    key = getattr(session, "session_key", None)
    if not key:
        flags = getattr(request, "flags", None)
        key = getattr(flags, "visitor_id", None) or request.META.get("REMOTE_ADDR", "")
    return hashlib.sha256(str(key).encode()).hexdigest()[:32]


def _over_limit(request: HttpRequest) -> float | None:
    """Count this event; the seconds to wait when the session is over its limit."""
    limit = _rate_limit()
    if limit is None:
        return None
    count, seconds = limit
    now = time.time()
    window = int(now // seconds)
    key = f"{conf.cache_key_prefix}:browser-events:{_client_key(request)}:{window}"
    try:
        cache = caches[conf.cache_alias]
        cache.add(key, 0, timeout=math.ceil(seconds) + 1)
        seen = cache.incr(key)
    except ValueError:  # the key expired between add and incr: a new window
        cache.set(key, 1, timeout=math.ceil(seconds) + 1)
        seen = 1
    except Exception as exc:  # a cache outage must not turn into lost events
        logger.warning("Flagship: browser event rate not counted (%s: %s)", type(exc).__name__, exc)
        return None
    if seen > count:
        return (window + 1) * seconds - now
    return None


def _read_body(request: HttpRequest, limit: int) -> bytes | None:
    """The body, or ``None`` when it is larger than ``limit`` (read no further)."""
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        return None
    body = request.read(limit + 1)
    return None if len(body) > limit else body


@never_cache
@require_POST
@csrf_protect
def track_event(request: HttpRequest) -> HttpResponse:
    """Receive one event from ``flagship.track()`` and send it as the visitor's hit."""
    limit = _max_body()
    body = _read_body(request, limit)
    if body is None:
        return _error(413, f"the body must be at most {limit} bytes")
    if request.content_type != "application/json":
        return _error(415, "the body must be application/json")
    flags = getattr(request, "flags", None)
    if flags is None:
        logger.error("Flagship: browser events need FlagshipMiddleware in MIDDLEWARE")
        return _error(503, "Flagship is not set up on this site")
    wait = _over_limit(request)
    if wait is not None:
        return _error(429, "too many events, slow down", Retry_After=str(max(1, math.ceil(wait))))
    try:
        event = parse_event(json.loads(body))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return _error(400, "the body is not valid JSON")
    except InvalidEventError as exc:
        return _error(400, str(exc))
    sent = flags.send_hit(event.to_hit())
    return JsonResponse({"sent": bool(sent)}, status=202)
