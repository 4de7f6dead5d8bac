"""The process's Flagship client, built from the settings and cached.

``get_client()`` and ``get_bucket()`` are the two entry points other parts of
the app build on. Everything here is rebuilt when a ``FLAGSHIP_*`` setting (or
``CACHES``) changes, which keeps ``override_settings`` honest in tests.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import caches
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import HttpResponseBase
from django.utils.cache import patch_vary_headers

from .async_support import async_limits
from .cache import CacheBucketStore
from .conf import DEFAULTS, conf
from .history import CacheHistory
from .limits import bucket_limits
from .polling import cache_bucket_poller
from .sdk import Config, Flagship, FlagshipEventHandler, Mode
from .sdk.bucket_poller import BucketPoller
from .sdk.bucket_source import StaticBucketSource
from .sdk.bucketing import Bucket
from .sdk.history import AssignmentHistory
from .sdk.tracking import LogTracker, Tracker
from .sdk.updates import UpdateListeners
from .settings_table import setting
from .signals import SignalTracker, runtime_reset
from .sinks import HITS_LOGGER, build_hit_tracker
from .startup import log_setup

__all__ = [
    "build_config",
    "build_tracker",
    "get_bucket",
    "get_client",
    "get_poller",
    "get_store",
    "reset",
]

logger = logging.getLogger("django_flagship")

COOKIE_SESSIONS = "django.contrib.sessions.backends.signed_cookies"

#: The env id the client uses when none is configured (offline, or nothing at all).
LOCAL_ENV_ID = "local"


@dataclass(frozen=True, slots=True)
class Runtime:
    """Everything a request needs, resolved once from the settings."""

    client: Flagship
    store: CacheBucketStore | None
    #: Downloads the bucket into ``store``; reading through it starts its thread.
    poller: BucketPoller[CacheBucketStore] | None
    configured: bool
    mode: Mode
    auto_activate: bool
    #: Where the assignment history is kept; ``None`` when it is off (or in DECISION_API mode).
    history: AssignmentHistory | None
    history_timeout: float | None
    cache_alias: str
    namespace: str
    visitor_id_hook: Callable[[Any], Any] | None
    context_hook: Callable[[Any], Any] | None
    #: Whether the default context holds the user's group names.
    context_groups: bool
    consent_hook: Callable[[Any], Any] | None
    vary_headers: tuple[str, ...]
    #: The ``Vary`` value ``vary_headers`` give a response that has none yet.
    vary_value: str
    cookie_name: str
    cookie_age: float
    history_in_session: bool
    #: Read on every request: kept here, as reading a setting a project left
    #: unset costs Django an exception each time.
    auto_page_hits: bool
    consent_session_key: str


_lock = threading.Lock()
_runtime: Runtime | None = None
#: ``get_client().on_update`` listeners: every client built here shares them,
#: so they outlive a client rebuilt after a settings change.
_updates = UpdateListeners()


def get_client() -> Flagship:
    """The configured, started :class:`~django_flagship.sdk.Flagship` client.

    Without an environment id and a bucket file, or with malformed settings, it
    is a client with no bucket: every flag then serves its default.
    """
    return runtime().client


def get_bucket() -> Bucket | None:
    """The current parsed bucket from the Django cache (or the bucket file).

    ``None`` when no bucket is configured or none could be loaded yet.
    """
    poller = runtime().poller
    return poller.current() if poller is not None else None


def get_store() -> CacheBucketStore | None:
    """The bucket store on the Django cache, when a bucket is configured."""
    return runtime().store


def get_poller() -> BucketPoller[CacheBucketStore] | None:
    """What downloads the bucket into :func:`get_store`, when a bucket is configured."""
    return runtime().poller


def runtime() -> Runtime:
    current = _runtime
    if current is not None:
        return current
    return _build()


def _build() -> Runtime:
    global _runtime
    with _lock:
        if _runtime is None:
            try:
                _runtime = _build_runtime()
            except ImproperlyConfigured as exc:
                log_setup(None, placeholder_env=LOCAL_ENV_ID, problem=str(exc))
                _runtime = _unconfigured_runtime()
        return _runtime


def reset() -> None:
    """Forget the client and the bucket store; the next use rebuilds them."""
    global _runtime
    with _lock:
        old, _runtime = _runtime, None
    if old is not None:
        _close(old)


def _close(old: Runtime) -> None:
    try:
        old.client.stop()
    except Exception:
        logger.exception("Flagship: stopping the client failed")
    if old.poller is not None:
        old.poller.close()
    # What was built for this runtime elsewhere (the served Decision API's
    # trackers) is flushed now, not by the next request that finds it stale.
    runtime_reset.send_robust(Runtime, runtime=old)


@receiver(setting_changed)
def _on_setting_changed(*, setting: str, **kwargs: Any) -> None:
    if setting.startswith("FLAGSHIP_") or setting in ("CACHES", "SESSION_ENGINE"):
        reset()


# -- building ---------------------------------------------------------------


def _event_handler() -> FlagshipEventHandler | None:
    handler = conf.strict("FLAGSHIP_EVENT_HANDLER")
    if handler is None:
        return None
    instance = handler() if isinstance(handler, type) else handler
    if not isinstance(instance, FlagshipEventHandler):
        raise ImproperlyConfigured(
            "FLAGSHIP_EVENT_HANDLER must name a FlagshipEventHandler subclass or instance"
        )
    return instance


def _local_fetch() -> Callable[[str | None], Any] | None:
    """The local source's fetch with ``FLAGSHIP_BUCKET_SOURCE = "local"``, else ``None``."""
    from .authoring.source import fetch, is_local

    return fetch if is_local() else None


def build_config() -> Config | None:
    """A :class:`Config` from the settings; ``None`` when nothing is configured.

    Raises ``ImproperlyConfigured`` naming the first malformed setting.
    """
    env_id = conf.strict("FLAGSHIP_ENV_ID")
    api_key = conf.strict("FLAGSHIP_API_KEY")
    mode = conf.strict("FLAGSHIP_MODE")
    bucket_file = conf.bucket_file or None
    if mode is Mode.DECISION_API and not (env_id and api_key):
        if env_id or api_key or bucket_file:
            raise ImproperlyConfigured(
                "DECISION_API mode needs FLAGSHIP_ENV_ID and FLAGSHIP_API_KEY"
            )
        return None
    if mode is Mode.BUCKETING and not (env_id or bucket_file or _local_fetch()):
        return None
    try:
        return Config(
            env_id or LOCAL_ENV_ID,
            api_key,
            mode=mode,
            event_handler=_event_handler(),
            timeout=conf.strict("FLAGSHIP_TIMEOUT"),
            polling_interval=conf.strict("FLAGSHIP_POLLING_INTERVAL"),
            bucket_file=bucket_file,
            decision_api_url=conf.strict("FLAGSHIP_DECISION_API_URL"),
            bucketing_url=conf.strict("FLAGSHIP_BUCKETING_URL"),
            events_url=conf.strict("FLAGSHIP_EVENTS_URL"),
            activate_url=conf.strict("FLAGSHIP_ACTIVATE_URL"),
            decision_cache_size=conf.strict("FLAGSHIP_DECISION_CACHE_SIZE"),
            **async_limits(),
        )
    except (TypeError, ValueError) as exc:
        # The SDK names its argument ("timeout must be..."); name the setting.
        argument = str(exc).split(" ", 1)[0]
        setting = f"FLAGSHIP_{argument.upper()}"
        raise ImproperlyConfigured(
            f"{setting}: {exc}" if setting in DEFAULTS else f"Flagship settings: {exc}"
        ) from None


def build_tracker(config: Config) -> Tracker:
    """Where hits and activations go: signals, then the sink (see :mod:`.sinks`).

    ``FLAGSHIP_HIT_SINK`` picks the sink (Flagship's collector through a
    background thread when an environment id is set, the log without one). ``FLAGSHIP_TRACKER``, a
    dotted path to ``f(config)`` returning an object with ``add_hit``,
    ``add_activation``, ``flush`` and ``close``, replaces the sink when set.
    """
    factory = conf.strict("FLAGSHIP_TRACKER")
    return build_hit_tracker(config, factory(config) if factory is not None else None)


def _vary_value(headers: tuple[str, ...]) -> str:
    probe = HttpResponseBase()
    patch_vary_headers(probe, headers)
    return probe.get("Vary", "")


def _cache_alias() -> str:
    alias: str = conf.strict("FLAGSHIP_CACHE_ALIAS")
    if alias not in caches.settings:
        raise ImproperlyConfigured(f"FLAGSHIP_CACHE_ALIAS {alias!r} is not in CACHES")
    return alias


def _common(config: Config | None, *, defaults: bool = False) -> dict[str, Any]:
    """The runtime's settings, parsed (``ImproperlyConfigured`` for a malformed one).

    With ``defaults``, their defaults instead.
    """
    env_id = config.env_id if config is not None else LOCAL_ENV_ID
    read: Callable[[str], Any] = _default if defaults else conf.strict
    # Not among the settings that turn the client off: a malformed one is logged
    # and its default used.
    soft: Callable[[str], Any] = _default if defaults else conf.value
    return {
        "auto_activate": read("FLAGSHIP_AUTO_ACTIVATE"),
        "history_timeout": read("FLAGSHIP_HISTORY_TIMEOUT"),
        "cache_alias": read("FLAGSHIP_CACHE_ALIAS") if defaults else _cache_alias(),
        "namespace": f"{read('FLAGSHIP_CACHE_KEY_PREFIX')}:{env_id}",
        "visitor_id_hook": read("FLAGSHIP_VISITOR_ID"),
        "context_hook": read("FLAGSHIP_CONTEXT"),
        "context_groups": read("FLAGSHIP_CONTEXT_GROUPS"),
        "consent_hook": read("FLAGSHIP_CONSENT"),
        "vary_headers": (vary := read("FLAGSHIP_VARY_HEADERS")),
        "vary_value": _vary_value(vary),
        "cookie_name": read("FLAGSHIP_COOKIE_NAME") or DEFAULTS["FLAGSHIP_COOKIE_NAME"],
        "cookie_age": read("FLAGSHIP_COOKIE_AGE"),
        "history_in_session": settings.SESSION_ENGINE != COOKIE_SESSIONS,
        "auto_page_hits": soft("FLAGSHIP_AUTO_PAGE_HITS"),
        "consent_session_key": soft("FLAGSHIP_CONSENT_SESSION_KEY"),
    }


def _build_runtime() -> Runtime:
    config = build_config()
    common = _common(config)
    if config is None:
        log_setup(None, placeholder_env=LOCAL_ENV_ID)
        return _unconfigured_runtime(common)
    local = _local_fetch()
    alias: str = common["cache_alias"]
    poller = cache_bucket_poller(
        lambda: caches[alias],
        namespace=common["namespace"],
        url=config.resolved_bucketing_url if config.env_id != LOCAL_ENV_ID and not local else None,
        bucket_file=None if local else config.bucket_file,
        fetch=local,
        timeout=config.timeout,
        polling_interval=config.polling_interval,
        check_interval=conf.strict("FLAGSHIP_BUCKET_CHECK_INTERVAL"),
        limits=bucket_limits(),
    )
    store = poller.store
    tracker = build_tracker(config)
    client = Flagship(
        config, bucket_source=poller, tracker=tracker, announce=False, updates=_updates
    )
    history = conf.strict("FLAGSHIP_ASSIGNMENT_HISTORY")
    log_setup(config, placeholder_env=LOCAL_ENV_ID)
    return Runtime(
        client=client,
        store=store,
        poller=poller,
        configured=True,
        mode=config.mode,
        history=(
            CacheHistory(alias, common["namespace"], common["history_timeout"])
            if history and config.mode is Mode.BUCKETING
            else None
        ),
        **common,
    )


def _unconfigured_runtime(common: dict[str, Any] | None = None) -> Runtime:
    """Defaults for every flag, hits to the log: what runs with no settings at all."""
    if common is None:
        try:
            common = _common(None)
        except ImproperlyConfigured:
            common = _fallback_common()
    config = Config(LOCAL_ENV_ID, mode=Mode.BUCKETING, polling_interval=0)
    # Its config is a stand-in; log_setup() has said what is really in effect.
    client = Flagship(
        config,
        bucket_source=StaticBucketSource(None),
        tracker=SignalTracker(LogTracker(logging.getLogger(HITS_LOGGER))),
        announce=False,
        updates=_updates,
    )
    return Runtime(
        client=client,
        store=None,
        poller=None,
        configured=False,
        mode=Mode.BUCKETING,
        history=None,
        **common,
    )


def _fallback_common() -> dict[str, Any]:
    """:func:`_common` of the defaults: what runs when a setting it reads is malformed."""
    return _common(None, defaults=True)


def _default(name: str) -> Any:
    return setting(name).parsed(DEFAULTS[name])
