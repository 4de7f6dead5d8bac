"""SDK configuration: the seed's ``Config(env_id, api_key="", **kwargs)``."""

from __future__ import annotations

import enum
import math
import os
from typing import Any
from urllib.parse import urlsplit

from . import constants
from .async_http import AsyncLimits
from .handler import FlagshipEventHandler

__all__ = ["Config", "Mode"]


class Mode(enum.Enum):
    """Where allocation and targeting happen."""

    #: One Decision API call per synchronization; Flagship decides.
    DECISION_API = "DECISION_API"
    #: Decisions computed here from the bucketing file.
    BUCKETING = "BUCKETING"

    @classmethod
    def coerce(cls, value: Mode | str) -> Mode:
        if isinstance(value, cls):
            return value
        if isinstance(value, str):
            try:
                return cls[value.strip().upper()]
            except KeyError:
                pass
        choices = ", ".join(m.name for m in cls)
        raise ValueError(f"mode must be one of {choices}, got {value!r}")


def _seconds(name: str, value: Any, *, allow_zero: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number of seconds, got {type(value).__name__}")
    value = float(value)
    if math.isnan(value) or math.isinf(value) or value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be a finite number of seconds {bound}, got {value!r}")
    return value


def _count(name: str, value: Any, *, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return value


def _url(name: str, value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string URL, got {type(value).__name__}")
    parts = urlsplit(value.replace("{env_id}", "env"))
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"{name} must be an absolute http(s) URL, got {value!r}")
    return value


class Config:
    """Configuration of a :class:`~django_flagship.sdk.Flagship` client.

    Every time is in float seconds. ``polling_interval=0`` fetches the bucketing
    file once and never polls. ``bucket_file`` buckets from a local file, with
    no download. Hits and activations go to Flagship's collector for
    ``env_id``, with or without ``api_key`` (neither endpoint takes one);
    ``tracker`` sends them elsewhere (``LogTracker()`` keeps them in the log).
    ``decision_cache_size`` is how many recent bucketing decisions the process
    remembers (see :mod:`.memo`); 0 turns the memory off.
    ``async_max_connections`` and ``async_keepalive_expiry`` bound each event
    loop's pool of connections to the Decision API (see
    :class:`~.async_http.AsyncLimits`).
    """

    __slots__ = (
        "_api_key",
        "activate_url",
        "async_keepalive_expiry",
        "async_max_connections",
        "breaker_cooldown",
        "breaker_failures",
        "bucket_file",
        "bucketing_url",
        "decision_api_url",
        "decision_cache_size",
        "env_id",
        "event_handler",
        "events_url",
        "mode",
        "polling_interval",
        "timeout",
        "tracker",
    )

    def __init__(
        self,
        env_id: str,
        api_key: str = "",
        *,
        mode: Mode | str = Mode.DECISION_API,
        event_handler: FlagshipEventHandler | None = None,
        timeout: float = 2.0,
        polling_interval: float = 60.0,
        bucket_file: str | os.PathLike[str] | None = None,
        decision_api_url: str = constants.DECISION_API_URL,
        bucketing_url: str = constants.BUCKETING_URL,
        events_url: str = constants.EVENTS_URL,
        activate_url: str = constants.ACTIVATE_URL,
        tracker: Any = None,
        breaker_failures: int = 5,
        breaker_cooldown: float = 30.0,
        decision_cache_size: int = constants.DECISION_CACHE_SIZE,
        async_max_connections: int = constants.ASYNC_MAX_CONNECTIONS,
        async_keepalive_expiry: float = constants.ASYNC_KEEPALIVE_EXPIRY,
    ) -> None:
        if not isinstance(env_id, str):
            raise TypeError(f"env_id must be a string, got {type(env_id).__name__}")
        if not env_id.strip():
            raise ValueError("env_id must not be empty")
        if api_key is None:
            api_key = ""
        if not isinstance(api_key, str):
            raise TypeError(f"api_key must be a string, got {type(api_key).__name__}")
        if event_handler is not None and not isinstance(event_handler, FlagshipEventHandler):
            raise TypeError("event_handler must be a FlagshipEventHandler instance")
        if bucket_file is not None and not isinstance(bucket_file, (str, os.PathLike)):
            raise TypeError(f"bucket_file must be a path, got {type(bucket_file).__name__}")
        if isinstance(breaker_failures, bool) or not isinstance(breaker_failures, int):
            raise TypeError("breaker_failures must be an int")
        if breaker_failures < 1:
            raise ValueError(f"breaker_failures must be >= 1, got {breaker_failures}")
        if isinstance(decision_cache_size, bool) or not isinstance(decision_cache_size, int):
            raise TypeError("decision_cache_size must be an int")
        if decision_cache_size < 0:
            raise ValueError(f"decision_cache_size must be >= 0, got {decision_cache_size}")
        _count("async_max_connections", async_max_connections, minimum=1)
        if tracker is not None:
            missing = [
                m
                for m in ("add_hit", "add_activation", "flush", "close")
                if not hasattr(tracker, m)
            ]
            if missing:
                raise TypeError(f"tracker lacks {', '.join(missing)}")

        self.env_id = env_id.strip()
        self._api_key = api_key.strip()
        self.mode = Mode.coerce(mode)
        self.event_handler = event_handler or FlagshipEventHandler()
        self.timeout = _seconds("timeout", timeout, allow_zero=False)
        self.polling_interval = _seconds("polling_interval", polling_interval, allow_zero=True)
        self.bucket_file = os.fspath(bucket_file) if bucket_file is not None else None
        self.decision_api_url = _url("decision_api_url", decision_api_url).rstrip("/")
        self.bucketing_url = _url("bucketing_url", bucketing_url)
        self.events_url = _url("events_url", events_url)
        self.activate_url = _url("activate_url", activate_url)
        self.tracker = tracker
        self.breaker_failures = breaker_failures
        self.decision_cache_size = decision_cache_size
        self.breaker_cooldown = _seconds("breaker_cooldown", breaker_cooldown, allow_zero=True)
        self.async_max_connections = async_max_connections
        self.async_keepalive_expiry = _seconds(
            "async_keepalive_expiry", async_keepalive_expiry, allow_zero=False
        )

    @property
    def async_limits(self) -> AsyncLimits:
        """The limits of each event loop's connection pool to the Decision API."""
        return AsyncLimits(self.async_max_connections, self.async_keepalive_expiry)

    @property
    def api_key(self) -> str:
        return self._api_key

    @property
    def resolved_bucketing_url(self) -> str:
        return self.bucketing_url.replace("{env_id}", self.env_id)

    def __repr__(self) -> str:
        key = "set" if self._api_key else "unset"
        return (
            f"<Config env_id={self.env_id!r} mode={self.mode.name} api_key={key} "
            f"timeout={self.timeout} polling_interval={self.polling_interval}>"
        )
