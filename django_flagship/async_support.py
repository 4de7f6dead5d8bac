"""Async sites in DECISION_API mode: the connection pool's settings, and aiohttp.

``await request.flags.aget(...)`` calls the Decision API from the event loop,
on an aiohttp session of the loop's own (:mod:`.sdk.async_http`), at most
``FLAGSHIP_ASYNC_MAX_CONNECTIONS`` calls at once, an idle connection kept
open for ``FLAGSHIP_ASYNC_KEEPALIVE_EXPIRY`` seconds. aiohttp is the
``async`` extra; without it the call runs in a thread pool, which caps how
many requests wait on Flagship at once, and ``check --deploy`` says so for
an ASGI site (``django_flagship.W011``). Malformed limits are
``django_flagship.E031``; at run time each one is logged once and its
default used.
"""

from __future__ import annotations

import math
from typing import Any

from django.conf import settings

from .conf import conf, setting_or_default
from .sdk.async_http import aiohttp_installed, importable

__all__ = [
    "ASGI_SERVERS",
    "LIMIT_SETTINGS",
    "aiohttp_installed",
    "asgi_site",
    "async_limits",
    "parse_limits",
]

#: The limit settings, for the checks.
LIMIT_SETTINGS = ("FLAGSHIP_ASYNC_MAX_CONNECTIONS", "FLAGSHIP_ASYNC_KEEPALIVE_EXPIRY")

#: ASGI servers whose presence says a site is served over ASGI.
ASGI_SERVERS = ("uvicorn", "daphne", "hypercorn", "granian")


def _count(name: str, value: Any, lowest: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < lowest:
        raise ValueError(f"{name} is {value!r}; it must be an int >= {lowest}")
    return value


def _max_connections(value: Any) -> int:
    return _count("FLAGSHIP_ASYNC_MAX_CONNECTIONS", value, 1)


def _keepalive_expiry(value: Any) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value <= 0
    ):
        raise ValueError(
            f"FLAGSHIP_ASYNC_KEEPALIVE_EXPIRY is {value!r}; it must be a number of seconds > 0"
        )
    return float(value)


def parse_limits(max_connections: Any, expiry: Any) -> list[str]:
    """What is wrong with these values, one message per problem (none: empty)."""
    problems = []
    for parse, value in ((_max_connections, max_connections), (_keepalive_expiry, expiry)):
        try:
            parse(value)
        except ValueError as exc:
            problems.append(str(exc))
    return problems


def async_limits() -> dict[str, Any]:
    """The limits as ``Config`` arguments; a malformed one is logged and its default used."""
    return {
        "async_max_connections": setting_or_default(
            "FLAGSHIP_ASYNC_MAX_CONNECTIONS",
            conf.async_max_connections,
            _max_connections,
            "E031",
        ),
        "async_keepalive_expiry": setting_or_default(
            "FLAGSHIP_ASYNC_KEEPALIVE_EXPIRY",
            conf.async_keepalive_expiry,
            _keepalive_expiry,
            "E031",
        ),
    }


def asgi_site() -> str | None:
    """Why the site looks served over ASGI (``ASGI_APPLICATION``, a server), or ``None``."""
    if getattr(settings, "ASGI_APPLICATION", None):
        return "ASGI_APPLICATION is set"
    for name in ASGI_SERVERS:
        if importable(name):
            return f"{name} is installed"
    return None
