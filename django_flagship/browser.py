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
rate of the client address and of the visitor (429), the event itself (400),
then that the request has a visitor already (403): an event never creates a
visitor, so a client that drops its cookies leaves no session and no history
behind. ``{% flags_json %}`` makes sure the page's visitor exists.

Settings:

``FLAGSHIP_BROWSER_RATE_LIMIT`` (default ``(60, 60.0)``)
    at most this many events per visitor in this many seconds; ``None``
    removes the limit.
``FLAGSHIP_BROWSER_ADDRESS_RATE_LIMIT`` (default ``(600, 60.0)``)
    at most this many events per client address in this many seconds (see
    :mod:`django_flagship.client_address`), whatever the cookies say; higher,
    as several visitors may share an address. ``None`` removes it.
``FLAGSHIP_BROWSER_MAX_BODY`` (default ``2048``)
    the largest request body accepted, in bytes.

Counts live in the ``FLAGSHIP_CACHE_ALIAS`` cache (:mod:`django_flagship.ratelimit`).
The settings are read through :data:`django_flagship.conf.conf` on each request.
``manage.py check`` reports a malformed one (``django_flagship.E016``); should
one reach a request anyway, the view logs an error and uses the default
instead, so the limits stay in force and no request fails on it.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.middleware.csrf import get_token
from django.urls import NoReverseMatch, reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_POST

from .client import runtime
from .client_address import client_address
from .conf import DEFAULTS, conf
from .identity import existing_identity
from .ratelimit import charge
from .sdk import strict_json
from .sdk.hits import Event, EventCategory
from .setting_parsers import rate_limit
from .settings_table import setting

__all__ = [
    "DEFAULT_MAX_BODY",
    "DEFAULT_RATE_LIMIT",
    "BrowserEvent",
    "InvalidEventError",
    "browser_data",
    "parse_address_rate_limit",
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
    try:
        size = len(value.encode("utf-8"))
    except UnicodeEncodeError:  # a lone surrogate: no hit could carry it
        raise InvalidEventError(f"'{name}' is not valid text") from None
    if size > MAX_TEXT_BYTES:
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
    ``activate=False``. The visitor is resolved even when no flag is named,
    as the events the page sends need one.
    """
    flags = getattr(request, "flags", None)
    if flags is not None:
        flags.visitor_id  # noqa: B018 - resolving creates the visitor's id
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


def parse_rate_limit(value: Any) -> tuple[int, float] | None:
    """``FLAGSHIP_BROWSER_RATE_LIMIT`` checked: ``(count, seconds)`` or ``None``.

    Raises :class:`ValueError` naming the problem (system check
    ``django_flagship.E016`` reports it).
    """
    return rate_limit("FLAGSHIP_BROWSER_RATE_LIMIT", value)


def parse_address_rate_limit(value: Any) -> tuple[int, float] | None:
    """``FLAGSHIP_BROWSER_ADDRESS_RATE_LIMIT`` checked, as :func:`parse_rate_limit`."""
    return rate_limit("FLAGSHIP_BROWSER_ADDRESS_RATE_LIMIT", value)


def parse_max_body(value: Any) -> int:
    """``FLAGSHIP_BROWSER_MAX_BODY`` checked: an int >= 1, else :class:`ValueError`."""
    size: int = setting("FLAGSHIP_BROWSER_MAX_BODY").parsed(value)
    return size


def _rate_limit() -> tuple[int, float] | None:
    return conf.value("FLAGSHIP_BROWSER_RATE_LIMIT")


def _address_rate_limit() -> tuple[int, float] | None:
    return conf.value("FLAGSHIP_BROWSER_ADDRESS_RATE_LIMIT")


def _max_body() -> int:
    return conf.value("FLAGSHIP_BROWSER_MAX_BODY")


# -- receiving events -----------------------------------------------------------


def _error(status: int, message: str, **headers: str) -> JsonResponse:
    response = JsonResponse({"error": message}, status=status)
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


def _visitor_key(request: HttpRequest) -> str | None:
    """What the per-visitor limit counts by: the session, else the visitor id.

    ``None`` when the request has no visitor yet; none is created here.
    """
    session = getattr(request, "session", None)
    identity = existing_identity(request, runtime())
    if identity is None:
        return None
    key = getattr(session, "session_key", None)
    return f"session:{key}" if key else f"visitor:{identity.visitor_id}"


def _over_limit(request: HttpRequest) -> float | None:
    """Count this event for the client address and the visitor; the wait when over."""
    waits = []
    address_limit = _address_rate_limit()
    if address_limit is not None:
        waits.append(charge("browser-address", client_address(request), address_limit))
    limit = _rate_limit()
    visitor = _visitor_key(request) if limit is not None else None
    if limit is not None and visitor is not None:
        waits.append(charge("browser-events", visitor, limit))
    over = [wait for wait in waits if wait is not None]
    return max(over) if over else None


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
        event = parse_event(strict_json.loads(body))
    except strict_json.JsonTextError as exc:
        return _error(400, str(exc))
    except strict_json.JsonError as exc:
        return _error(400, f"the body is not valid JSON: {exc}")
    except InvalidEventError as exc:
        return _error(400, str(exc))
    if existing_identity(request, runtime()) is None:
        return _error(403, "no visitor: events come from the pages of this site")
    sent = flags.send_hit(event.to_hit())
    return JsonResponse({"sent": bool(sent)}, status=202)
