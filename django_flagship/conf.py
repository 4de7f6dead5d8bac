"""The app's settings: flat ``FLAGSHIP_*`` names read from ``django.conf.settings``.

Every property reads the setting when it is accessed, so ``override_settings``
works in tests. Values are returned as given; :mod:`django_flagship.checks`
reports the malformed ones and the client falls back to serving defaults.

==================================  ======================  =====================================
Setting                             Default                 Meaning
==================================  ======================  =====================================
``FLAGSHIP_ENV_ID``                 ``""``                  Flagship environment id
``FLAGSHIP_API_KEY``                ``""``                  API key (DECISION_API mode)
``FLAGSHIP_MODE``                   ``"BUCKETING"``         ``"BUCKETING"`` or ``"DECISION_API"``
``FLAGSHIP_BUCKET_FILE``            ``None``                local bucketing file seeding the cache
``FLAGSHIP_BUCKET_SOURCE``          ``"cdn"``               ``"cdn"`` (download) or ``"local"``
                                                            (campaigns authored in Django)
``FLAGSHIP_LOCAL_FLAGS``            ``None``                ``{key: value or {value: percent}}``,
                                                            flags of the local source
``FLAGSHIP_TIMEOUT``                ``2.0``                 seconds for any Flagship HTTP call
``FLAGSHIP_POLLING_INTERVAL``       ``60.0``                seconds between bucket downloads
``FLAGSHIP_BUCKET_CHECK_INTERVAL``  ``5.0``                 seconds between a process's checks
                                                            of the cached bucket version
``FLAGSHIP_BUCKET_MAX_BYTES``       ``16777216`` (16 MiB)   largest bucketing file accepted
``FLAGSHIP_BUCKET_MAX_CAMPAIGNS``   ``5000``                most campaigns in a bucketing file
``FLAGSHIP_BUCKET_MAX_VARIATION_    ``20000``               most variation groups in one
GROUPS``
``FLAGSHIP_BUCKET_MAX_VARIATIONS``  ``50000``               most variations in one
``FLAGSHIP_BUCKET_MAX_TARGETINGS``  ``50000``               most targetings in one
``FLAGSHIP_BUCKET_DOWNLOAD_         ``30.0``                seconds a whole download of the
DEADLINE``                                                  bucketing file may take
``FLAGSHIP_CACHE_ALIAS``            ``"default"``           Django cache holding the bucket
``FLAGSHIP_CACHE_KEY_PREFIX``       ``"flagship"``          prefix of every cache key
``FLAGSHIP_VISITOR_ID``             ``None``                dotted path: ``f(request) -> str``
``FLAGSHIP_CONTEXT``                ``None``                dotted path: ``f(request) -> dict``
``FLAGSHIP_CONTEXT_GROUPS``         ``True``                the user's group names in the
                                                            default context (``groups``)
``FLAGSHIP_CONSENT``                ``None``                dotted path: ``f(request) -> bool``
``FLAGSHIP_AUTO_ACTIVATE``          ``True``                reads send the activation
``FLAGSHIP_ASSIGNMENT_HISTORY``     ``True``                keep assignments in the cache
``FLAGSHIP_HISTORY_TIMEOUT``        ``7776000.0`` (90 d)    seconds a visitor's history is kept
``FLAGSHIP_COOKIE_NAME``            ``"flagship_visitor"``  signed cookie used without sessions
``FLAGSHIP_COOKIE_AGE``             ``31536000.0`` (1 y)    that cookie's max age in seconds
``FLAGSHIP_VARY_HEADERS``           ``("Cookie",)``         ``Vary`` added when flags were read
``FLAGSHIP_DECISION_CACHE_SIZE``    ``2048``                recent decisions kept per process
                                                            (bucketing); ``0`` turns it off
``FLAGSHIP_ASYNC_MAX_CONNECTIONS``  ``100``                 async code: Decision API calls (and
                                                            connections) at once per event loop
``FLAGSHIP_ASYNC_KEEPALIVE_EXPIRY`` ``15.0``                seconds an idle one is kept open
``FLAGSHIP_TRACKER``                ``None``                dotted path: ``f(config) -> tracker``,
                                                            the sink behind the hit signals
``FLAGSHIP_HIT_SINK``               ``"auto"``              ``"collector"`` (with an env id),
                                                            ``"log"``, ``"memory"`` or a
                                                            dotted path
``FLAGSHIP_HIT_QUEUE_SIZE``         ``10000``               hits waiting in memory per process
``FLAGSHIP_HIT_FLUSH_INTERVAL``     ``5.0``                 seconds between background sends
``FLAGSHIP_HIT_BATCH_SIZE``         ``100``                 items per request to the collector
``FLAGSHIP_HIT_SHUTDOWN_TIMEOUT``   ``2.0``                 seconds to flush at process exit
``FLAGSHIP_HIT_MAX_RETRIES``        ``5``                   failures in a row before spooling
``FLAGSHIP_HIT_SPOOL_DIR``          ``None`` (temp dir)     unsent hits; ``False`` turns it off
``FLAGSHIP_AUTO_PAGE_HITS``         ``False``               a page hit per 2xx HTML ``GET``
``FLAGSHIP_PAGE_HIT_QUERY_STRING``  ``False``               keep the query string in its URL
``FLAGSHIP_CONSENT_SESSION_KEY``    ``"_flagship_consent"`` session key of the consent flag
``FLAGSHIP_EVENT_HANDLER``          ``None``                dotted path to a FlagshipEventHandler
``FLAGSHIP_DECISION_API_URL``       Flagship's              Decision API base URL
``FLAGSHIP_BUCKETING_URL``          Flagship's CDN          may contain ``{env_id}``
``FLAGSHIP_EVENTS_URL``             Flagship's collector    hits endpoint
``FLAGSHIP_ACTIVATE_URL``           Flagship's              activation endpoint
``FLAGSHIP_DECISION_API_            ``None``: the app's     served Decision API: env id -> keys
ENVIRONMENTS``                      env id and API key      (``None``: served without a key)
``FLAGSHIP_DECISION_API_MAX_BODY``  ``65536``               bytes; larger request bodies get 413
``FLAGSHIP_DECISION_API_GROUP_TTL`` ``15552000.0`` (180 d)  seconds a decision group's variations
                                                            are kept
``FLAGSHIP_DECISION_API_MAX_BATCH`` ``100``                 activations in one ``v2/activate``
``FLAGSHIP_DECISION_API_RATE_       ``(600, 6000, 60.0)``   activation requests and items per
LIMIT``                                                     client address per window of seconds
``FLAGSHIP_CLIENT_ADDRESS_HEADER``  ``None``                proxy header with the client address
``FLAGSHIP_DRF_DENY_STATUS``        ``404``                 DRF ``FlagRequired``: 403 or 404
``FLAGSHIP_BROWSER_RATE_LIMIT``     ``(60, 60.0)``          browser events per visitor:
                                                            ``(count, seconds)`` or ``None``
``FLAGSHIP_BROWSER_ADDRESS_RATE_    ``(600, 60.0)``         browser events per client address:
LIMIT``                                                     ``(count, seconds)`` or ``None``
``FLAGSHIP_BROWSER_MAX_BODY``       ``2048``                bytes; larger event bodies get 413
==================================  ======================  =====================================
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from .sdk import constants
from .sdk.bucket_limits import DEFAULT_LIMITS

__all__ = ["DEFAULTS", "DRF_DENY_STATUSES", "FlagshipSettings", "conf", "setting_or_default"]

DAY = 24 * 60 * 60.0

#: Every setting and its default, in one place for the docs and the checks.
DEFAULTS: dict[str, Any] = {
    "FLAGSHIP_ENV_ID": "",
    "FLAGSHIP_API_KEY": "",
    "FLAGSHIP_MODE": "BUCKETING",
    "FLAGSHIP_BUCKET_FILE": None,
    # Where the bucketing file comes from (django_flagship.authoring).
    "FLAGSHIP_BUCKET_SOURCE": "cdn",
    "FLAGSHIP_LOCAL_FLAGS": None,
    "FLAGSHIP_TIMEOUT": 2.0,
    "FLAGSHIP_POLLING_INTERVAL": 60.0,
    "FLAGSHIP_BUCKET_CHECK_INTERVAL": 5.0,
    # Bounds on the bucketing file (sdk.bucket_limits holds the fixed ones).
    "FLAGSHIP_BUCKET_MAX_BYTES": DEFAULT_LIMITS.max_bytes,
    "FLAGSHIP_BUCKET_MAX_CAMPAIGNS": DEFAULT_LIMITS.max_campaigns,
    "FLAGSHIP_BUCKET_MAX_VARIATION_GROUPS": DEFAULT_LIMITS.max_variation_groups,
    "FLAGSHIP_BUCKET_MAX_VARIATIONS": DEFAULT_LIMITS.max_variations,
    "FLAGSHIP_BUCKET_MAX_TARGETINGS": DEFAULT_LIMITS.max_targetings,
    "FLAGSHIP_BUCKET_DOWNLOAD_DEADLINE": DEFAULT_LIMITS.download_deadline,
    "FLAGSHIP_CACHE_ALIAS": "default",
    "FLAGSHIP_CACHE_KEY_PREFIX": "flagship",
    "FLAGSHIP_VISITOR_ID": None,
    "FLAGSHIP_CONTEXT": None,
    "FLAGSHIP_CONTEXT_GROUPS": True,
    "FLAGSHIP_CONSENT": None,
    "FLAGSHIP_AUTO_ACTIVATE": True,
    "FLAGSHIP_ASSIGNMENT_HISTORY": True,
    "FLAGSHIP_HISTORY_TIMEOUT": 90 * DAY,
    "FLAGSHIP_COOKIE_NAME": "flagship_visitor",
    "FLAGSHIP_COOKIE_AGE": 365 * DAY,
    "FLAGSHIP_VARY_HEADERS": ("Cookie",),
    "FLAGSHIP_DECISION_CACHE_SIZE": constants.DECISION_CACHE_SIZE,
    "FLAGSHIP_ASYNC_MAX_CONNECTIONS": constants.ASYNC_MAX_CONNECTIONS,
    "FLAGSHIP_ASYNC_KEEPALIVE_EXPIRY": constants.ASYNC_KEEPALIVE_EXPIRY,
    "FLAGSHIP_TRACKER": None,
    "FLAGSHIP_HIT_SINK": "auto",
    "FLAGSHIP_HIT_QUEUE_SIZE": 10_000,
    "FLAGSHIP_HIT_FLUSH_INTERVAL": 5.0,
    "FLAGSHIP_HIT_BATCH_SIZE": 100,
    "FLAGSHIP_HIT_SHUTDOWN_TIMEOUT": 2.0,
    "FLAGSHIP_HIT_MAX_RETRIES": 5,
    "FLAGSHIP_HIT_SPOOL_DIR": None,
    "FLAGSHIP_AUTO_PAGE_HITS": False,
    "FLAGSHIP_PAGE_HIT_QUERY_STRING": False,
    "FLAGSHIP_CONSENT_SESSION_KEY": "_flagship_consent",
    "FLAGSHIP_EVENT_HANDLER": None,
    "FLAGSHIP_DECISION_API_URL": constants.DECISION_API_URL,
    "FLAGSHIP_BUCKETING_URL": constants.BUCKETING_URL,
    "FLAGSHIP_EVENTS_URL": constants.EVENTS_URL,
    "FLAGSHIP_ACTIVATE_URL": constants.ACTIVATE_URL,
    # The Decision API the app serves (django_flagship.urls).
    "FLAGSHIP_DECISION_API_ENVIRONMENTS": None,
    "FLAGSHIP_DECISION_API_MAX_BODY": 64 * 1024,
    "FLAGSHIP_DECISION_API_GROUP_TTL": 180 * DAY,
    "FLAGSHIP_DECISION_API_MAX_BATCH": 100,
    # (requests, activations, seconds) per client address on the activate endpoints.
    "FLAGSHIP_DECISION_API_RATE_LIMIT": (600, 6000, 60.0),
    # Public endpoints (browser events, activations): where the client address is.
    "FLAGSHIP_CLIENT_ADDRESS_HEADER": None,
    "FLAGSHIP_DRF_DENY_STATUS": 404,
    # The browser side (django_flagship.browser_urls).
    "FLAGSHIP_BROWSER_RATE_LIMIT": (60, 60.0),
    "FLAGSHIP_BROWSER_ADDRESS_RATE_LIMIT": (600, 60.0),
    "FLAGSHIP_BROWSER_MAX_BODY": 2048,
}

#: The statuses ``FLAGSHIP_DRF_DENY_STATUS`` may take: here, so that the checks
#: know them without importing rest_framework.
DRF_DENY_STATUSES = (403, 404)


def _get(name: str) -> Any:
    return getattr(settings, name, DEFAULTS[name])


_T = TypeVar("_T")

#: The malformed values :func:`setting_or_default` logged, each once per process.
_reported: set[str] = set()


def setting_or_default(name: str, value: Any, parse: Callable[[Any], _T], check_id: str) -> _T:
    """``parse(value)``, or, for a value it refuses, ``parse`` of the default.

    For settings read on each request: ``manage.py check`` reports a malformed
    one (``check_id``); should it reach a request anyway, it is logged once
    and the default applies, never a 500.
    """
    try:
        return parse(value)
    except (ValueError, ImproperlyConfigured) as exc:
        message = str(exc)
        if message not in _reported:
            _reported.add(message)
            logging.getLogger("django_flagship").error(
                "Flagship: %s (system check django_flagship.%s); using the default, %r",
                message,
                check_id,
                DEFAULTS[name],
            )
        return parse(DEFAULTS[name])


class FlagshipSettings:
    """Typed access to the ``FLAGSHIP_*`` settings, read at access time."""

    def raw(self, name: str) -> Any:
        """Setting ``name`` (a key of :data:`DEFAULTS`) as given, else its default."""
        return _get(name)

    @property
    def env_id(self) -> str:
        return _get("FLAGSHIP_ENV_ID")

    @property
    def api_key(self) -> str:
        return _get("FLAGSHIP_API_KEY")

    @property
    def mode(self) -> str:
        return _get("FLAGSHIP_MODE")

    @property
    def bucket_file(self) -> str | None:
        return _get("FLAGSHIP_BUCKET_FILE")

    @property
    def bucket_source(self) -> str:
        return _get("FLAGSHIP_BUCKET_SOURCE")

    @property
    def local_flags(self) -> Mapping[str, Any] | None:
        return _get("FLAGSHIP_LOCAL_FLAGS")

    @property
    def timeout(self) -> float:
        return _get("FLAGSHIP_TIMEOUT")

    @property
    def polling_interval(self) -> float:
        return _get("FLAGSHIP_POLLING_INTERVAL")

    @property
    def bucket_check_interval(self) -> float:
        return _get("FLAGSHIP_BUCKET_CHECK_INTERVAL")

    @property
    def bucket_max_bytes(self) -> int:
        return _get("FLAGSHIP_BUCKET_MAX_BYTES")

    @property
    def bucket_max_campaigns(self) -> int:
        return _get("FLAGSHIP_BUCKET_MAX_CAMPAIGNS")

    @property
    def bucket_max_variation_groups(self) -> int:
        return _get("FLAGSHIP_BUCKET_MAX_VARIATION_GROUPS")

    @property
    def bucket_max_variations(self) -> int:
        return _get("FLAGSHIP_BUCKET_MAX_VARIATIONS")

    @property
    def bucket_max_targetings(self) -> int:
        return _get("FLAGSHIP_BUCKET_MAX_TARGETINGS")

    @property
    def bucket_download_deadline(self) -> float:
        return _get("FLAGSHIP_BUCKET_DOWNLOAD_DEADLINE")

    @property
    def cache_alias(self) -> str:
        return _get("FLAGSHIP_CACHE_ALIAS")

    @property
    def cache_key_prefix(self) -> str:
        return _get("FLAGSHIP_CACHE_KEY_PREFIX")

    @property
    def visitor_id(self) -> str | None:
        return _get("FLAGSHIP_VISITOR_ID")

    @property
    def context(self) -> str | None:
        return _get("FLAGSHIP_CONTEXT")

    @property
    def context_groups(self) -> bool:
        return _get("FLAGSHIP_CONTEXT_GROUPS")

    @property
    def consent(self) -> str | None:
        return _get("FLAGSHIP_CONSENT")

    @property
    def auto_activate(self) -> bool:
        return _get("FLAGSHIP_AUTO_ACTIVATE")

    @property
    def assignment_history(self) -> bool:
        return _get("FLAGSHIP_ASSIGNMENT_HISTORY")

    @property
    def history_timeout(self) -> float | None:
        return _get("FLAGSHIP_HISTORY_TIMEOUT")

    @property
    def cookie_name(self) -> str:
        return _get("FLAGSHIP_COOKIE_NAME")

    @property
    def cookie_age(self) -> float:
        return _get("FLAGSHIP_COOKIE_AGE")

    @property
    def vary_headers(self) -> Sequence[str]:
        return _get("FLAGSHIP_VARY_HEADERS")

    @property
    def decision_cache_size(self) -> int:
        return _get("FLAGSHIP_DECISION_CACHE_SIZE")

    @property
    def async_max_connections(self) -> int:
        return _get("FLAGSHIP_ASYNC_MAX_CONNECTIONS")

    @property
    def async_keepalive_expiry(self) -> float:
        return _get("FLAGSHIP_ASYNC_KEEPALIVE_EXPIRY")

    @property
    def tracker(self) -> str | None:
        return _get("FLAGSHIP_TRACKER")

    @property
    def hit_sink(self) -> Any:
        return _get("FLAGSHIP_HIT_SINK")

    @property
    def hit_queue_size(self) -> int:
        return _get("FLAGSHIP_HIT_QUEUE_SIZE")

    @property
    def hit_flush_interval(self) -> float:
        return _get("FLAGSHIP_HIT_FLUSH_INTERVAL")

    @property
    def hit_batch_size(self) -> int:
        return _get("FLAGSHIP_HIT_BATCH_SIZE")

    @property
    def hit_shutdown_timeout(self) -> float:
        return _get("FLAGSHIP_HIT_SHUTDOWN_TIMEOUT")

    @property
    def hit_max_retries(self) -> int:
        return _get("FLAGSHIP_HIT_MAX_RETRIES")

    @property
    def hit_spool_dir(self) -> Any:
        """A path, ``None`` (the default directory) or ``False`` (no spool)."""
        return _get("FLAGSHIP_HIT_SPOOL_DIR")

    @property
    def auto_page_hits(self) -> bool:
        return _get("FLAGSHIP_AUTO_PAGE_HITS")

    @property
    def page_hit_query_string(self) -> bool:
        return _get("FLAGSHIP_PAGE_HIT_QUERY_STRING")

    @property
    def consent_session_key(self) -> str:
        return _get("FLAGSHIP_CONSENT_SESSION_KEY")

    @property
    def event_handler(self) -> str | None:
        return _get("FLAGSHIP_EVENT_HANDLER")

    @property
    def decision_api_url(self) -> str:
        return _get("FLAGSHIP_DECISION_API_URL")

    @property
    def bucketing_url(self) -> str:
        return _get("FLAGSHIP_BUCKETING_URL")

    @property
    def events_url(self) -> str:
        return _get("FLAGSHIP_EVENTS_URL")

    @property
    def activate_url(self) -> str:
        return _get("FLAGSHIP_ACTIVATE_URL")

    @property
    def decision_api_environments(self) -> Mapping[str, Sequence[str]] | None:
        return _get("FLAGSHIP_DECISION_API_ENVIRONMENTS")

    @property
    def decision_api_max_body(self) -> int:
        return _get("FLAGSHIP_DECISION_API_MAX_BODY")

    @property
    def decision_api_group_ttl(self) -> float | None:
        return _get("FLAGSHIP_DECISION_API_GROUP_TTL")

    @property
    def decision_api_max_batch(self) -> int:
        return _get("FLAGSHIP_DECISION_API_MAX_BATCH")

    @property
    def decision_api_rate_limit(self) -> tuple[int, int, float] | None:
        """``(requests, activations, seconds)`` per client address, or ``None``."""
        return _get("FLAGSHIP_DECISION_API_RATE_LIMIT")

    @property
    def client_address_header(self) -> Any:
        """``None``, a header name, or ``(header name, proxies)``."""
        return _get("FLAGSHIP_CLIENT_ADDRESS_HEADER")

    @property
    def drf_deny_status(self) -> int:
        return _get("FLAGSHIP_DRF_DENY_STATUS")

    @property
    def browser_rate_limit(self) -> tuple[int, float] | None:
        """``(count, seconds)``, or ``None`` for no limit."""
        return _get("FLAGSHIP_BROWSER_RATE_LIMIT")

    @property
    def browser_address_rate_limit(self) -> tuple[int, float] | None:
        """``(count, seconds)`` per client address, or ``None`` for no limit."""
        return _get("FLAGSHIP_BROWSER_ADDRESS_RATE_LIMIT")

    @property
    def browser_max_body(self) -> int:
        return _get("FLAGSHIP_BROWSER_MAX_BODY")


conf = FlagshipSettings()
