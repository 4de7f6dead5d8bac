"""Every ``FLAGSHIP_*`` setting, once: its name, default, parser, system check id and meaning.

:mod:`django_flagship.conf` reads the settings through this table (a setting
left unset is its default), the system checks (:mod:`django_flagship.checks`)
report a value its parser refuses under its check id, and the run time
(:mod:`django_flagship.client` and the per-request readers) uses what the
parser returns, or the default when it refuses the value. ``docs/settings.md``
documents each entry with its default (a test keeps the two in step).

A check id shared by several entries is one family of problems (``E006``:
every time setting). Some settings are also checked with others they go with
(``FLAGSHIP_MODE`` with the env id and the key, ``E003``; the bucket file is
read, ``E005``): those checks live in :mod:`django_flagship.checks`, and the
parser here is :func:`~.setting_parsers.as_given`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from . import setting_parsers as p
from .sdk import constants
from .sdk.bucket_limits import DEFAULT_LIMITS

__all__ = ["DEFAULTS", "SETTINGS", "Setting", "setting"]

DAY = 24 * 60 * 60.0

#: Below this, not even a small real bucketing file fits.
MIN_BUCKET_BYTES = 1024


@dataclass(frozen=True, slots=True)
class Setting:
    """One setting: what it is when unset, how a value is checked, and which check says so."""

    name: str
    default: Any
    #: ``parse(name, value)``: the value to use, or :class:`ValueError`.
    parse: p.Parser
    #: The system check reporting a value ``parse`` refuses (``"E006"``).
    check_id: str
    doc: str

    def parsed(self, value: Any) -> Any:
        """``value`` as the app uses it; :class:`ValueError` naming the setting if malformed."""
        return self.parse(self.name, value)


def _s(name: str, default: Any, parse: p.Parser, check_id: str, doc: str) -> Setting:
    return Setting(f"FLAGSHIP_{name}", default, parse, check_id, doc)


_seconds = p.seconds()
_seconds_or_zero = p.seconds(allow_zero=True)

#: In the order of ``docs/settings.md``'s tables.
SETTINGS: tuple[Setting, ...] = (
    # Connection and mode
    _s("ENV_ID", "", p.stripped_string, "E001", "Flagship environment id"),
    _s("API_KEY", "", p.stripped_string, "E001", "API key (DECISION_API mode)"),
    _s("MODE", "BUCKETING", p.mode, "E002", '"BUCKETING" or "DECISION_API"'),
    _s("BUCKET_FILE", None, p.as_given, "E005", "local bucketing file seeding the cache"),
    _s("BUCKET_SOURCE", "cdn", p.as_given, "E029", '"cdn" (download) or "local" (authored)'),
    _s("LOCAL_FLAGS", None, p.as_given, "E030", "{key: value or {value: percent}}, local"),
    _s("TIMEOUT", 2.0, _seconds, "E006", "seconds for any Flagship HTTP call"),
    _s("POLLING_INTERVAL", 60.0, _seconds_or_zero, "E006", "seconds between bucket downloads"),
    _s("BUCKET_CHECK_INTERVAL", 5.0, _seconds_or_zero, "E006", "seconds between version checks"),
    # Async sites in DECISION_API mode
    _s(
        "ASYNC_MAX_CONNECTIONS",
        constants.ASYNC_MAX_CONNECTIONS,
        p.count(1),
        "E031",
        "async Decision API calls (and connections) at once per event loop",
    ),
    _s(
        "ASYNC_KEEPALIVE_EXPIRY",
        constants.ASYNC_KEEPALIVE_EXPIRY,
        _seconds,
        "E031",
        "seconds an idle async connection is kept open",
    ),
    # The Django cache
    _s("CACHE_ALIAS", "default", p.string, "E001", "Django cache holding the bucket"),
    _s("CACHE_KEY_PREFIX", "flagship", p.stripped_string, "E001", "prefix of every cache key"),
    _s("ASSIGNMENT_HISTORY", True, p.flag, "E010", "keep assignments in the cache"),
    _s(
        "HISTORY_TIMEOUT",
        90 * DAY,
        p.seconds(allow_none=True),
        "E006",
        "seconds a visitor's history is kept",
    ),
    # The bucketing file's bounds (sdk.bucket_limits holds the fixed ones)
    _s(
        "BUCKET_MAX_BYTES",
        DEFAULT_LIMITS.max_bytes,
        p.count(MIN_BUCKET_BYTES),
        "E019",
        "largest bucketing file accepted",
    ),
    _s("BUCKET_MAX_CAMPAIGNS", DEFAULT_LIMITS.max_campaigns, p.count(1), "E020", "campaigns"),
    _s(
        "BUCKET_MAX_VARIATION_GROUPS",
        DEFAULT_LIMITS.max_variation_groups,
        p.count(1),
        "E020",
        "variation groups in one file",
    ),
    _s("BUCKET_MAX_VARIATIONS", DEFAULT_LIMITS.max_variations, p.count(1), "E020", "variations"),
    _s("BUCKET_MAX_TARGETINGS", DEFAULT_LIMITS.max_targetings, p.count(1), "E020", "targetings"),
    _s(
        "BUCKET_DOWNLOAD_DEADLINE",
        DEFAULT_LIMITS.download_deadline,
        _seconds,
        "E021",
        "seconds a whole download of the bucketing file may take",
    ),
    # Visitors and requests
    _s("VISITOR_ID", None, p.dotted_callable, "E007", "dotted path: f(request) -> str"),
    _s("CONTEXT", None, p.dotted_callable, "E007", "dotted path: f(request) -> dict"),
    _s("CONTEXT_GROUPS", True, p.flag, "E010", "the user's group names in the context"),
    _s("CONSENT", None, p.dotted_callable, "E007", "dotted path: f(request) -> bool"),
    _s(
        "CONSENT_SESSION_KEY",
        "_flagship_consent",
        p.string,
        "E001",
        "session key of the consent flag",
    ),
    _s("AUTO_ACTIVATE", True, p.flag, "E010", "reads send the activation"),
    _s("COOKIE_NAME", "flagship_visitor", p.stripped_string, "E001", "cookie without sessions"),
    _s("COOKIE_AGE", 365 * DAY, _seconds, "E006", "that cookie's max age in seconds"),
    _s("VARY_HEADERS", ("Cookie",), p.header_names, "E011", "Vary added when flags were read"),
    _s(
        "DECISION_CACHE_SIZE",
        constants.DECISION_CACHE_SIZE,
        p.count(0),
        "E018",
        "recent decisions kept per process (bucketing); 0 turns it off",
    ),
    # Plugging in
    _s("TRACKER", None, p.dotted_callable, "E007", "dotted path: f(config) -> tracker"),
    _s("EVENT_HANDLER", None, p.event_handler, "E007", "dotted path to a FlagshipEventHandler"),
    _s("DECISION_API_URL", constants.DECISION_API_URL, p.url, "E008", "Decision API base URL"),
    _s("BUCKETING_URL", constants.BUCKETING_URL, p.url, "E008", "may contain {env_id}"),
    _s("EVENTS_URL", constants.EVENTS_URL, p.url, "E008", "hits endpoint"),
    _s("ACTIVATE_URL", constants.ACTIVATE_URL, p.url, "E008", "activation endpoint"),
    # The served Decision API (django_flagship.urls)
    _s(
        "DECISION_API_ENVIRONMENTS",
        None,
        p.as_given,
        "E012",
        "served environments: env id -> keys (None: the app's env id and API key)",
    ),
    _s(
        "DECISION_API_MAX_BODY",
        64 * 1024,
        p.served_max_body,
        "E012",
        "bytes; larger request bodies get 413",
    ),
    _s(
        "DECISION_API_GROUP_TTL",
        180 * DAY,
        p.served_group_ttl,
        "E012",
        "seconds a decision group's variations are kept",
    ),
    _s(
        "DECISION_API_MAX_BATCH",
        100,
        p.count(1),
        "E024",
        "activations in one v2/activate",
    ),
    _s(
        "DECISION_API_RATE_LIMIT",
        (600, 6000, 60.0),
        lambda name, value: p.parse_activation_rate_limit(value),
        "E023",
        "(requests, activations, seconds) per client address",
    ),
    # Hits and activations
    _s("HIT_SINK", "auto", p.hit_sink, "E014", '"collector", "log", "memory" or a path'),
    _s("HIT_QUEUE_SIZE", 10_000, p.count(1), "E013", "hits waiting in memory per process"),
    _s("HIT_FLUSH_INTERVAL", 5.0, _seconds, "E006", "seconds between background sends"),
    _s("HIT_BATCH_SIZE", 100, p.count(1), "E013", "items per request to the collector"),
    _s("HIT_SHUTDOWN_TIMEOUT", 2.0, _seconds, "E006", "seconds to flush at process exit"),
    _s("HIT_MAX_RETRIES", 5, p.count(0), "E013", "failures in a row before spooling"),
    _s("HIT_SPOOL_DIR", None, p.spool_dir, "E015", "unsent hits; False turns it off"),
    _s("AUTO_PAGE_HITS", False, p.flag, "E010", "a page hit per 2xx HTML GET"),
    _s("PAGE_HIT_QUERY_STRING", False, p.flag, "E010", "keep the query string in its URL"),
    # Django REST framework
    _s("DRF_DENY_STATUS", 404, p.deny_status, "E017", "DRF FlagRequired: 403 or 404"),
    # The browser side (django_flagship.browser_urls)
    _s(
        "BROWSER_RATE_LIMIT",
        (60, 60.0),
        p.rate_limit,
        "E016",
        "browser events per visitor: (count, seconds) or None",
    ),
    _s(
        "BROWSER_ADDRESS_RATE_LIMIT",
        (600, 60.0),
        p.rate_limit,
        "E016",
        "browser events per client address: (count, seconds) or None",
    ),
    _s(
        "BROWSER_MAX_BODY",
        2048,
        p.count(1, unit="bytes"),
        "E016",
        "bytes; larger event bodies get 413",
    ),
    # Public endpoints: the client address
    _s(
        "CLIENT_ADDRESS_HEADER",
        None,
        lambda name, value: p.parse_address_header(value),
        "E022",
        "proxy header with the client address",
    ),
)

_BY_NAME: Mapping[str, Setting] = MappingProxyType({entry.name: entry for entry in SETTINGS})

#: Every setting's default, by name.
DEFAULTS: Mapping[str, Any] = MappingProxyType({entry.name: entry.default for entry in SETTINGS})


def setting(name: str) -> Setting:
    """The entry of ``name``; :class:`KeyError` for a name that is not a setting."""
    return _BY_NAME[name]
