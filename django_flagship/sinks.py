"""Where a Django project's hits go: the sink chosen by ``FLAGSHIP_HIT_SINK``.

Every client the app builds gets a :class:`~django_flagship.signals.SignalTracker`
(the core's :class:`~django_flagship.sdk.events.HookedTracker` fed to the
signals) whose receivers hand the items to one sink:

``"auto"`` (default)
    ``"collector"`` when ``FLAGSHIP_ENV_ID`` is set, with or without an API key
    (the collector and the activate endpoint take none), else ``"log"``: with
    no environment id (offline) there is nowhere to send them. That choice is
    logged once, at WARNING, when the sink is built.
``"collector"``
    Flagship's collector, through a
    :class:`~django_flagship.sdk.flusher.BackgroundTracker` (bounded queue,
    background thread, retries, spool).
``"log"``
    one JSON line per item on the ``django_flagship.hits`` logger, at INFO.
``"memory"``
    kept in a :class:`~django_flagship.sdk.tracking.MemoryTracker`, for tests
    and debug pages (see :func:`memory_sink`).
a dotted path
    a callable taking the SDK :class:`~django_flagship.sdk.Config` and
    returning a tracker (``add_hit``, ``add_activation``, ``flush``, ``close``).

(This module was ``django_flagship.delivery``, which still re-exports it.)
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponseBase
from django.utils.module_loading import import_string

from .conf import conf
from .sdk.config import Config
from .sdk.events import BasicTracker, HookedTracker
from .sdk.flusher import BackgroundTracker
from .sdk.hits import Page
from .sdk.spool import Spool, default_spool_dir
from .sdk.tracking import CollectorClient, LogTracker, MemoryTracker
from .signals import SignalTracker

__all__ = [
    "HITS_LOGGER",
    "SINKS",
    "build_collector_tracker",
    "build_hit_tracker",
    "build_sink",
    "build_spool",
    "has_env_id",
    "memory_sink",
    "page_hit_url",
    "send_page_hit",
    "warn_hits_logged",
]

logger = logging.getLogger("django_flagship")

#: The logger of the ``"log"`` sink.
HITS_LOGGER = "django_flagship.hits"

#: The sink names ``FLAGSHIP_HIT_SINK`` accepts besides a dotted path.
SINKS = ("auto", "collector", "log", "memory")


def build_spool(config: Config, *, served: bool = False) -> Spool | None:
    """The spool ``FLAGSHIP_HIT_SPOOL_DIR`` names; ``None`` when it is disabled.

    ``served``: the spool of what the served Decision API received for
    ``config.env_id``, apart from the site's own, so that its files and its
    size cap are its own.
    """
    directory = conf.hit_spool_dir
    if directory is False or directory == "":
        return None
    own = config.env_id == conf.env_id
    if directory is None:
        base = default_spool_dir(config.env_id)
        return Spool(base / "served" if served and own else base, env_id=config.env_id)
    if not isinstance(directory, str | os.PathLike):
        raise ImproperlyConfigured(
            f"FLAGSHIP_HIT_SPOOL_DIR must be a path, None or False, got {directory!r}"
        )
    base = Path(directory)
    if config.env_id and (served or not own):
        base = base / "environments" / config.env_id
    return Spool(base, env_id=config.env_id)


def build_collector_tracker(config: Config, *, served: bool = False) -> BackgroundTracker:
    """A background tracker posting to the configured collector endpoints.

    ``served``: the tracker of the served Decision API for ``config.env_id``
    (its own queue and spool, see :func:`build_spool`).
    """
    spool = build_spool(config, served=served)
    client = CollectorClient(
        config.env_id,
        events_url=config.events_url,
        activate_url=config.activate_url,
        timeout=config.timeout,
    )
    try:
        return BackgroundTracker(
            client,
            max_queue=conf.hit_queue_size,
            flush_interval=conf.hit_flush_interval,
            batch_size=conf.hit_batch_size,
            shutdown_timeout=conf.hit_shutdown_timeout,
            max_retries=conf.hit_max_retries,
            spool=spool,
        )
    except (TypeError, ValueError) as exc:
        client.close()
        raise ImproperlyConfigured(f"Flagship hit settings: {exc}") from None


def build_sink(config: Config) -> BasicTracker:
    """The tracker ``FLAGSHIP_HIT_SINK`` selects for ``config``."""
    setting = conf.hit_sink
    if not isinstance(setting, str) or not setting.strip():
        raise ImproperlyConfigured(
            f"FLAGSHIP_HIT_SINK must be one of {', '.join(SINKS)} or a dotted path, got {setting!r}"
        )
    name = setting.strip()
    if name == "auto":
        name = "collector" if has_env_id() else "log"
        if name == "log":
            warn_hits_logged("FLAGSHIP_ENV_ID is not set (offline)")
    if name == "collector":
        return build_collector_tracker(config)
    if name == "log":
        return LogTracker(logging.getLogger(HITS_LOGGER))
    if name == "memory":
        return MemoryTracker(maxlen=conf.hit_queue_size)
    try:
        factory = import_string(name)
    except ImportError as exc:
        raise ImproperlyConfigured(f"FLAGSHIP_HIT_SINK {name!r} cannot be imported: {exc}") from exc
    sink = factory(config)
    missing = [m for m in ("add_hit", "add_activation", "flush", "close") if not hasattr(sink, m)]
    if missing:
        raise ImproperlyConfigured(
            f"FLAGSHIP_HIT_SINK {name!r} returned {type(sink).__name__}, which lacks "
            f"{', '.join(missing)}"
        )
    return sink


def has_env_id() -> bool:
    """Whether ``FLAGSHIP_ENV_ID`` names an environment that hits can be sent for."""
    env_id = conf.env_id
    return isinstance(env_id, str) and bool(env_id.strip())


def warn_hits_logged(reason: str) -> None:
    """Say, at WARNING, that hits go to the log: INFO is not shown by a default setup."""
    logger.warning(
        "Flagship: hits and activations are written to the %r logger at INFO, not sent "
        "to Flagship: %s. Set FLAGSHIP_ENV_ID to send them to Flagship's collector.",
        HITS_LOGGER,
        reason,
    )


def build_hit_tracker(config: Config, sink: BasicTracker | None = None) -> SignalTracker:
    """The tracker of a Django client: signals first, then ``sink`` (or the setting's)."""
    return SignalTracker(sink if sink is not None else build_sink(config))


def memory_sink(tracker: Any) -> MemoryTracker:
    """The :class:`MemoryTracker` behind ``tracker`` (with ``FLAGSHIP_HIT_SINK="memory"``)."""
    sink = tracker.sink if isinstance(tracker, HookedTracker) else tracker
    if not isinstance(sink, MemoryTracker):
        raise LookupError(f"the hit sink is {type(sink).__name__}, not the memory sink")
    return sink


# -- automatic page hits -----------------------------------------------------------

_MAX_URL_BYTES = 2048  # the collector's limit for ``dl``


def page_hit_url(request: HttpRequest, response: HttpResponseBase) -> str | None:
    """The URL an automatic page hit records for this response, or ``None``.

    Only a ``GET`` answered with a 2xx ``text/html`` response counts. The query
    string is left out unless ``FLAGSHIP_PAGE_HIT_QUERY_STRING`` is true (it is
    also left out when the whole URL is longer than the collector accepts).
    """
    if request.method != "GET" or not 200 <= response.status_code < 300:
        return None
    if not response.get("Content-Type", "").lower().startswith("text/html"):
        return None
    try:
        url = request.build_absolute_uri(request.path)
        if conf.page_hit_query_string and request.META.get("QUERY_STRING"):
            full = request.build_absolute_uri()
            if len(full.encode()) <= _MAX_URL_BYTES:
                url = full
    except Exception:  # DisallowedHost and the like: no hit rather than an error page
        return None
    return url if len(url.encode()) <= _MAX_URL_BYTES else None


def send_page_hit(request: HttpRequest, flags: Any, response: HttpResponseBase) -> bool:
    """Send the automatic ``PAGEVIEW`` when ``FLAGSHIP_AUTO_PAGE_HITS`` is on."""
    if not conf.auto_page_hits:
        return False
    url = page_hit_url(request, response)
    if url is None:
        return False
    return bool(flags.send_hit(Page(url)))
