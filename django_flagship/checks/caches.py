"""The cache holding the bucket: it exists, is shared, and has a socket timeout.

``E004`` (the alias is not in ``CACHES``), ``W003`` (a ``DummyCache``), ``W007``
(a network cache without a socket timeout) and, with ``--deploy``, ``W004`` (a
cache private to each process).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.cache import InvalidCacheBackendError, caches
from django.core.checks import CheckMessage

from ..conf import conf
from ..setting_parsers import is_number
from .messages import error, text, warning

__all__ = ["check_cache", "check_shared_cache"]


def check_cache() -> list[CheckMessage]:
    """The bucket's cache is in ``CACHES``, shared, and bounded in time (E004, W003, W007)."""
    alias = conf.cache_alias
    if not isinstance(alias, str):
        return []  # reported by E001
    if alias not in settings.CACHES:
        known = ", ".join(repr(name) for name in settings.CACHES) or "none"
        return [
            error(
                4,
                f"FLAGSHIP_CACHE_ALIAS is {alias!r}, which is not in CACHES.",
                f"Use one of the configured caches ({known}), or add {alias!r} to CACHES.",
            )
        ]
    timeout = _check_cache_timeout(alias, settings.CACHES[alias])
    if timeout:
        return timeout  # read from the settings: the backend's library may be absent here
    try:
        backend = caches.create_connection(alias)
    except (InvalidCacheBackendError, ImportError):
        return []  # Django reports broken CACHES (or a missing client library) itself
    if type(backend).__name__ == "DummyCache":
        return [
            warning(
                3,
                f"The cache {alias!r} holding the Flagship bucket is a DummyCache.",
                "Nothing is shared between processes: each one downloads and keeps its "
                "own bucket. Point FLAGSHIP_CACHE_ALIAS at Redis or Memcached.",
            )
        ]
    return []


#: What to add to a network cache's OPTIONS so that a server that hangs costs a
#: request a fraction of a second per cache call, by the backend's family.
_TIMEOUT_OPTIONS = {
    "django_redis": '"OPTIONS": {"SOCKET_TIMEOUT": 0.25, "SOCKET_CONNECT_TIMEOUT": 0.25}',
    "redis": '"OPTIONS": {"socket_timeout": 0.25, "socket_connect_timeout": 0.25} '
    "(or ?socket_timeout=0.25&socket_connect_timeout=0.25 in a django-environ CACHE_URL)",
    "pylibmc": '"OPTIONS": {"behaviors": {"connect_timeout": 250, '
    '"receive_timeout": 250000, "send_timeout": 250000}} (milliseconds, microseconds)',
    "memcache": '"OPTIONS": {"timeout": 0.25, "connect_timeout": 0.25}',
}
#: The option naming the socket timeout, by family (keys compared in lower case).
_TIMEOUT_NAMES = {
    "django_redis": "socket_timeout",
    "redis": "socket_timeout",
    "memcache": "timeout",
}
_PYLIBMC_TIMEOUTS = {"receive_timeout", "send_timeout", "_poll_timeout"}


def _cache_family(backend: str) -> str | None:
    backend = backend.lower()
    if "django_redis" in backend:
        return "django_redis"
    if "redis" in backend or "valkey" in backend:
        return "redis"
    if "pylibmc" in backend:
        return "pylibmc"
    if "memcached" in backend or "pymemcache" in backend:  # not "locmemcache"
        return "memcache"
    return None


def _has_socket_timeout(family: str, options: Any) -> bool:
    if not isinstance(options, dict):
        return False
    if family == "pylibmc":
        behaviors = options.get("behaviors")
        return isinstance(behaviors, dict) and any(
            str(key) in _PYLIBMC_TIMEOUTS and is_number(value) and value > 0
            for key, value in behaviors.items()
        )
    places = [options]
    for name in ("CONNECTION_POOL_KWARGS", "connection_pool_kwargs"):
        if isinstance(options.get(name), dict):
            places.append(options[name])
    wanted = _TIMEOUT_NAMES[family]
    return any(
        str(key).lower() == wanted and is_number(value) and value > 0
        for place in places
        for key, value in place.items()
    )


def _check_cache_timeout(alias: str, config: Any) -> list[CheckMessage]:
    """A network cache without a socket timeout makes every request wait when it hangs."""
    if not isinstance(config, dict):
        return []
    family = _cache_family(str(config.get("BACKEND", "")))
    if family is None or _has_socket_timeout(family, config.get("OPTIONS")):
        return []
    return [
        warning(
            7,
            f"The cache {alias!r} holding the Flagship bucket has no socket timeout.",
            "Requests read the bucket's version and the visitors' history there: a "
            "server that stops answering (paused, overloaded, a dropped link) makes each "
            "of them wait the client's default (5 s per call for redis-py, forever for "
            "pymemcache). Bound it, for example with "
            f"{_TIMEOUT_OPTIONS[family]} in CACHES[{alias!r}]; the flags are then served "
            "from the last bucket the process holds.",
        )
    ]


def check_shared_cache() -> list[CheckMessage]:
    """``--deploy``: the bucket's cache is not private to each process (W004)."""
    alias = conf.cache_alias
    if not (text("FLAGSHIP_ENV_ID") or conf.bucket_file):
        return []
    if not isinstance(alias, str) or alias not in settings.CACHES:
        return []
    backend = settings.CACHES[alias].get("BACKEND", "")
    if backend.rsplit(".", 1)[-1] != "LocMemCache":
        return []
    return [
        warning(
            4,
            f"The cache {alias!r} holding the Flagship bucket is local to each process.",
            "Every process then downloads and parses the bucket itself, and a "
            "'flagship_refresh_bucket' reaches only its own process. Point "
            "FLAGSHIP_CACHE_ALIAS at Redis or Memcached.",
        )
    ]
