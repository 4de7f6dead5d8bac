"""System checks for the ``FLAGSHIP_*`` settings and the middleware order.

=========================  ===========================================================
Id                         Problem
=========================  ===========================================================
``django_flagship.E001``   a setting that must be a string is not one
``django_flagship.E002``   ``FLAGSHIP_MODE`` is not ``BUCKETING`` or ``DECISION_API``
``django_flagship.E003``   DECISION_API mode without ``FLAGSHIP_ENV_ID`` or API key
``django_flagship.E004``   ``FLAGSHIP_CACHE_ALIAS`` is not in ``CACHES``
``django_flagship.E005``   ``FLAGSHIP_BUCKET_FILE`` cannot be read or does not parse
``django_flagship.E006``   a time setting is not a positive number of seconds
``django_flagship.E007``   a dotted-path setting does not import or is not callable
``django_flagship.E008``   an endpoint URL setting is not an absolute http(s) URL
``django_flagship.E009``   the middleware comes before the session or auth middleware
``django_flagship.E010``   a boolean setting is not ``True`` or ``False``
``django_flagship.E011``   ``FLAGSHIP_VARY_HEADERS`` is not a list of header names
``django_flagship.E012``   a ``FLAGSHIP_DECISION_API_*`` setting (served Decision API) is malformed
``django_flagship.E013``   a hit count setting (queue, batch, retries) is not an int in range
``django_flagship.E014``   ``FLAGSHIP_HIT_SINK`` is not a sink name or an importable path
``django_flagship.E015``   ``FLAGSHIP_HIT_SPOOL_DIR`` is not a path, ``None`` or ``False``
``django_flagship.E016``   a ``FLAGSHIP_BROWSER_*`` setting (the browser event view) is malformed
``django_flagship.E017``   ``FLAGSHIP_DRF_DENY_STATUS`` is not 403 or 404
``django_flagship.E018``   ``FLAGSHIP_DECISION_CACHE_SIZE`` is not an int >= 0
``django_flagship.E019``   ``FLAGSHIP_BUCKET_MAX_BYTES`` is not an int >= 1024
``django_flagship.E020``   a ``FLAGSHIP_BUCKET_MAX_*`` count (campaigns, variation groups,
                           variations, targetings) is not an int >= 1
``django_flagship.E021``   ``FLAGSHIP_BUCKET_DOWNLOAD_DEADLINE`` is not a number of seconds > 0
``django_flagship.E022``   ``FLAGSHIP_CLIENT_ADDRESS_HEADER`` is not a header name (and proxy count)
``django_flagship.E023``   ``FLAGSHIP_DECISION_API_RATE_LIMIT`` is malformed, or below one batch
``django_flagship.E024``   ``FLAGSHIP_DECISION_API_MAX_BATCH`` is not an int >= 1
``django_flagship.E031``   a ``FLAGSHIP_ASYNC_*`` setting (the async connection pool) is malformed
``django_flagship.W001``   nothing configured: every flag serves its default
``django_flagship.W002``   ``FlagshipMiddleware`` is not in ``MIDDLEWARE``
``django_flagship.W003``   the bucket cache is a ``DummyCache``: nothing is shared
``django_flagship.W004``   (``--deploy``) the bucket cache is private to each process
``django_flagship.W005``   the bucket download deadline is shorter than ``FLAGSHIP_TIMEOUT``
``django_flagship.W006``   (``--deploy``) behind a proxy, but rate limits count the proxy's address
``django_flagship.W007``   the bucket cache is Redis or Memcached with no socket timeout
``django_flagship.W008``   the served Decision API answers an environment without a key
``django_flagship.W009``   a template backend loads the flag tags without the request processor
``django_flagship.W011``   (``--deploy``) an ASGI site in DECISION_API mode without aiohttp
=========================  ===========================================================

Settings are read as given through :meth:`django_flagship.conf.FlagshipSettings.raw`
(defaults from :data:`django_flagship.conf.DEFAULTS`).
"""

from __future__ import annotations

import math
import os
from typing import Any
from urllib.parse import urlsplit

from django.apps import apps
from django.conf import settings
from django.core.cache import InvalidCacheBackendError, caches
from django.core.checks import CheckMessage, Error, Warning
from django.template.backends.django import DjangoTemplates
from django.utils.module_loading import import_string

from .async_support import LIMIT_SETTINGS, aiohttp_installed, asgi_site, parse_limits
from .authoring.source import is_local
from .conf import DEFAULTS, DRF_DENY_STATUSES, conf
from .limits import SETTINGS as BUCKET_LIMIT_SETTINGS
from .limits import bucket_limits
from .sdk import FlagshipEventHandler, Mode
from .sdk.bucket_source import load_bucketing_file
from .sdk.bucketing import Bucket

__all__ = [
    "check_async_deploy",
    "check_deploy",
    "check_middleware",
    "check_settings",
    "check_templates",
]

MIDDLEWARE_PATH = "django_flagship.middleware.FlagshipMiddleware"
_MUST_COME_AFTER = (
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
)


def _error(id_: int, msg: str, hint: str) -> Error:
    return Error(msg, hint=hint, id=f"django_flagship.E{id_:03d}")


def _warning(id_: int, msg: str, hint: str) -> Warning:
    return Warning(msg, hint=hint, id=f"django_flagship.W{id_:03d}")


def check_settings(**kwargs: Any) -> list[CheckMessage]:
    """Every problem in the ``FLAGSHIP_*`` settings, each with a hint."""
    errors: list[CheckMessage] = []
    errors += _check_strings()
    errors += _check_mode()
    errors += _check_cache()
    errors += _check_bucket_file()
    errors += _check_numbers()
    errors += _check_callables()
    errors += _check_urls()
    errors += _check_booleans()
    errors += _check_vary()
    errors += _check_decision_api()
    errors += _check_activation_limits()
    errors += _check_client_address()
    errors += _check_hits()
    errors += _check_browser()
    errors += _check_drf()
    errors += _check_decision_cache()
    errors += _check_bucket_limits()
    errors += _check_async_limits()
    return errors


def _check_strings() -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    for name in (
        "FLAGSHIP_ENV_ID",
        "FLAGSHIP_API_KEY",
        "FLAGSHIP_CACHE_ALIAS",
        "FLAGSHIP_CACHE_KEY_PREFIX",
        "FLAGSHIP_COOKIE_NAME",
        "FLAGSHIP_CONSENT_SESSION_KEY",
    ):
        value = conf.raw(name)
        if value is not None and not isinstance(value, str):
            errors.append(
                _error(
                    1,
                    f"{name} must be a string, not {type(value).__name__}.",
                    f"Set {name} to a string, for example from the environment with "
                    f"django-environ: env.str({name!r}, default='').",
                )
            )
    return errors


def _text(name: str) -> str:
    value = conf.raw(name)
    return value.strip() if isinstance(value, str) else ""


def _check_mode() -> list[CheckMessage]:
    try:
        mode = Mode.coerce(conf.mode)
    except ValueError:
        return [
            _error(
                2,
                f"FLAGSHIP_MODE is {conf.mode!r}, which is not a Flagship mode.",
                "Use 'BUCKETING' (decisions made here from the bucketing file) or "
                "'DECISION_API' (one call to Flagship per request).",
            )
        ]
    env_id, api_key = _text("FLAGSHIP_ENV_ID"), _text("FLAGSHIP_API_KEY")
    if mode is Mode.DECISION_API:
        if env_id and api_key:
            return []
        if env_id or api_key or conf.bucket_file:
            missing = "FLAGSHIP_API_KEY" if env_id else "FLAGSHIP_ENV_ID"
            return [
                _error(
                    3,
                    f"FLAGSHIP_MODE is DECISION_API but {missing} is not set.",
                    f"Set {missing} (Flagship > Settings > Environment), or use "
                    "FLAGSHIP_MODE = 'BUCKETING', which needs only the environment id "
                    "or a bucket file.",
                )
            ]
    elif env_id or conf.bucket_file or is_local():
        return []
    return [
        _warning(
            1,
            "Flagship is not configured: every flag serves its default.",
            "Set FLAGSHIP_ENV_ID (hits then go to Flagship too), or point "
            "FLAGSHIP_BUCKET_FILE at a bucketing file to run offline.",
        )
    ]


def _check_cache() -> list[CheckMessage]:
    alias = conf.cache_alias
    if not isinstance(alias, str):
        return []  # reported by E001
    if alias not in settings.CACHES:
        known = ", ".join(repr(name) for name in settings.CACHES) or "none"
        return [
            _error(
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
            _warning(
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
            str(key) in _PYLIBMC_TIMEOUTS and _positive(value) for key, value in behaviors.items()
        )
    places = [options]
    for name in ("CONNECTION_POOL_KWARGS", "connection_pool_kwargs"):
        if isinstance(options.get(name), dict):
            places.append(options[name])
    wanted = _TIMEOUT_NAMES[family]
    return any(
        str(key).lower() == wanted and _positive(value)
        for place in places
        for key, value in place.items()
    )


def _positive(value: Any) -> bool:
    return (
        not isinstance(value, bool)
        and isinstance(value, int | float)
        and math.isfinite(value)
        and value > 0
    )


def _check_cache_timeout(alias: str, config: Any) -> list[CheckMessage]:
    """A network cache without a socket timeout makes every request wait when it hangs."""
    if not isinstance(config, dict):
        return []
    family = _cache_family(str(config.get("BACKEND", "")))
    if family is None or _has_socket_timeout(family, config.get("OPTIONS")):
        return []
    return [
        _warning(
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


def _check_bucket_file() -> list[CheckMessage]:
    path = conf.bucket_file
    if not path:
        return []
    problems: list[str] = []
    try:
        data = load_bucketing_file(str(path), bucket_limits())
        Bucket.parse(data, on_error=problems.append)
    except Exception as exc:  # whatever it is, a check reports it rather than crash
        detail = str(exc) if isinstance(exc, ValueError) else f"{type(exc).__name__}: {exc}"
        return [
            _error(
                5,
                f"FLAGSHIP_BUCKET_FILE cannot be used: {detail}",
                "Point it at a bucketing file downloaded from "
                "https://cdn.flagship.io/<env_id>/bucketing.json, and check it with "
                "'manage.py flagship_refresh_bucket --file PATH'.",
            )
        ]
    if problems:
        return [
            _error(
                5,
                f"FLAGSHIP_BUCKET_FILE has {len(problems)} unusable campaign(s): {problems[0]}",
                "Those campaigns are skipped; fix or remove them in the file.",
            )
        ]
    return []


def _check_numbers() -> list[CheckMessage]:
    rules = {
        "FLAGSHIP_TIMEOUT": (False, False),
        "FLAGSHIP_POLLING_INTERVAL": (True, False),
        "FLAGSHIP_BUCKET_CHECK_INTERVAL": (True, False),
        "FLAGSHIP_HISTORY_TIMEOUT": (False, True),
        "FLAGSHIP_COOKIE_AGE": (False, False),
        "FLAGSHIP_HIT_FLUSH_INTERVAL": (False, False),
        "FLAGSHIP_HIT_SHUTDOWN_TIMEOUT": (False, False),
    }
    errors: list[CheckMessage] = []
    for name, (allow_zero, allow_none) in rules.items():
        value = conf.raw(name)
        if value is None and allow_none:
            continue
        ok = (
            not isinstance(value, bool)
            and isinstance(value, (int, float))
            and math.isfinite(value)
            and (value > 0 or (allow_zero and value == 0))
        )
        if not ok:
            bound = ">= 0" if allow_zero else "> 0"
            errors.append(
                _error(
                    6,
                    f"{name} is {value!r}; it must be a number of seconds {bound}.",
                    f"Every Flagship time setting is in float seconds: "
                    f"the default is {DEFAULTS[name]!r}.",
                )
            )
    return errors


def _check_decision_cache() -> list[CheckMessage]:
    value = conf.raw("FLAGSHIP_DECISION_CACHE_SIZE")
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return []
    return [
        _error(
            18,
            f"FLAGSHIP_DECISION_CACHE_SIZE is {value!r}; it must be an int >= 0.",
            "It is how many recent bucketing decisions each process remembers "
            f"(default {DEFAULTS['FLAGSHIP_DECISION_CACHE_SIZE']}); 0 turns that off.",
        )
    ]


_BUCKET_LIMIT_HINTS = {
    "E019": "The largest bucketing file accepted, in bytes (default 16 MiB, far above a "
    "real file); raise it only for an account that truly outgrows it.",
    "E020": "How much a bucketing file may hold, counted over the whole file: parsing "
    "compiles every variation group and targeting, in every process. The defaults "
    "(5,000 campaigns, 20,000 variation groups, 50,000 variations and targetings) are "
    "far above a real account's file.",
    "E021": "Seconds a whole download of the bucketing file may take (default 30.0); "
    "FLAGSHIP_TIMEOUT bounds each wait within it.",
}


def _check_bucket_limits() -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    for name, _field, parse, check_id in BUCKET_LIMIT_SETTINGS:
        try:
            parse(conf.raw(name))
        except ValueError as exc:
            errors.append(_error(int(check_id[1:]), f"{exc}.", _BUCKET_LIMIT_HINTS[check_id]))
    if errors:
        return errors
    deadline, timeout = conf.raw("FLAGSHIP_BUCKET_DOWNLOAD_DEADLINE"), conf.raw("FLAGSHIP_TIMEOUT")
    if isinstance(timeout, int | float) and not isinstance(timeout, bool) and deadline < timeout:
        errors.append(
            _warning(
                5,
                f"FLAGSHIP_BUCKET_DOWNLOAD_DEADLINE ({deadline:g} s) is shorter than "
                f"FLAGSHIP_TIMEOUT ({timeout:g} s).",
                "A download is then given up before the CDN had the time allowed to any "
                "Flagship call; give the whole download at least FLAGSHIP_TIMEOUT.",
            )
        )
    return errors


def _check_async_limits() -> list[CheckMessage]:
    values = [conf.raw(name) for name in LIMIT_SETTINGS]
    return [
        _error(
            31,
            f"{problem}.",
            "They bound each event loop's calls to the Decision API in async code: "
            "FLAGSHIP_ASYNC_MAX_CONNECTIONS calls (and connections) at once, an int >= 1 "
            f"(default {DEFAULTS['FLAGSHIP_ASYNC_MAX_CONNECTIONS']}); an idle connection "
            "stays open FLAGSHIP_ASYNC_KEEPALIVE_EXPIRY seconds, a number > 0 (default "
            f"{DEFAULTS['FLAGSHIP_ASYNC_KEEPALIVE_EXPIRY']}).",
        )
        for problem in parse_limits(*values)
    ]


def _check_callables() -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    for name in (
        "FLAGSHIP_VISITOR_ID",
        "FLAGSHIP_CONTEXT",
        "FLAGSHIP_CONSENT",
        "FLAGSHIP_TRACKER",
        "FLAGSHIP_EVENT_HANDLER",
    ):
        value = conf.raw(name)
        if value is None or value == "" or callable(value):
            continue
        problem = None
        if not isinstance(value, str):
            problem = f"must be a dotted path, not {type(value).__name__}"
        else:
            try:
                imported = import_string(value)
            except ImportError as exc:
                problem = f"cannot be imported ({exc})"
            else:
                if not callable(imported):
                    problem = "is not callable"
                elif name == "FLAGSHIP_EVENT_HANDLER" and not (
                    isinstance(imported, FlagshipEventHandler)
                    or (isinstance(imported, type) and issubclass(imported, FlagshipEventHandler))
                ):
                    problem = "is not a FlagshipEventHandler subclass"
        if problem:
            errors.append(
                _error(
                    7,
                    f"{name} = {value!r} {problem}.",
                    "Give the dotted path of a module-level callable, "
                    "e.g. 'myproject.flags.visitor_context'.",
                )
            )
    return errors


def _check_urls() -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    for name in (
        "FLAGSHIP_DECISION_API_URL",
        "FLAGSHIP_BUCKETING_URL",
        "FLAGSHIP_EVENTS_URL",
        "FLAGSHIP_ACTIVATE_URL",
    ):
        value = conf.raw(name)
        ok = isinstance(value, str)
        if ok:
            parts = urlsplit(value.replace("{env_id}", "env"))
            ok = parts.scheme in ("http", "https") and bool(parts.netloc)
        if not ok:
            errors.append(
                _error(
                    8,
                    f"{name} is {value!r}, not an absolute http(s) URL.",
                    f"Remove the setting to use Flagship's endpoint ({DEFAULTS[name]}).",
                )
            )
    return errors


def _check_booleans() -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    for name in (
        "FLAGSHIP_AUTO_ACTIVATE",
        "FLAGSHIP_ASSIGNMENT_HISTORY",
        "FLAGSHIP_CONTEXT_GROUPS",
        "FLAGSHIP_AUTO_PAGE_HITS",
        "FLAGSHIP_PAGE_HIT_QUERY_STRING",
    ):
        value = conf.raw(name)
        if not isinstance(value, bool):
            errors.append(
                _error(
                    10,
                    f"{name} is {value!r}; it must be True or False.",
                    "When reading it from the environment, use env.bool(...).",
                )
            )
    return errors


def _check_vary() -> list[CheckMessage]:
    value = conf.vary_headers
    ok = isinstance(value, (list, tuple)) and all(isinstance(h, str) and h for h in value)
    if ok:
        return []
    return [
        _error(
            11,
            f"FLAGSHIP_VARY_HEADERS is {value!r}; it must be a list of header names.",
            "The default, ('Cookie',), fits visitor ids kept in the session or a cookie.",
        )
    ]


def _check_decision_api() -> list[CheckMessage]:
    from .served_conf import server_settings

    try:
        served = server_settings()
    except (TypeError, ValueError) as exc:
        return [
            _error(
                12,
                f"{exc}.",
                "FLAGSHIP_DECISION_API_ENVIRONMENTS maps env ids to lists of API keys "
                "(or None to serve one without a key), "
                "FLAGSHIP_DECISION_API_MAX_BODY is a number of bytes and "
                "FLAGSHIP_DECISION_API_GROUP_TTL a number of seconds (or None).",
            )
        ]
    return [
        _warning(
            8,
            f"FLAGSHIP_DECISION_API_ENVIRONMENTS serves {env_id!r} without an API key.",
            "Anyone who can reach the Decision API URLs can then ask for the decisions of "
            "any visitor id with any context in that environment: by trying contexts they "
            "can read every campaign, variation and flag value of the bucket, with their "
            "names and targeting values, and each request sends its context (SEGMENT) and "
            "activations to Flagship under that environment, into its reports. Serve "
            "publicly only what is meant for browsers and apps; otherwise give the "
            "environment a list of keys. Once this is what you want, add "
            "'django_flagship.W008' to SILENCED_SYSTEM_CHECKS.",
        )
        for env_id, keys in served.environments.items()
        if keys is None
    ]


def _check_activation_limits() -> list[CheckMessage]:
    from .served_conf import parse_activation_rate_limit, parse_max_batch

    errors: list[CheckMessage] = []
    batch = rate = None
    try:
        batch = parse_max_batch(conf.raw("FLAGSHIP_DECISION_API_MAX_BATCH"))
    except ValueError as exc:
        errors.append(
            _error(
                24,
                f"{exc}.",
                "It is the most activations one v2/activate batch may hold; the default, "
                f"{DEFAULTS['FLAGSHIP_DECISION_API_MAX_BATCH']}, is the most this app's SDK "
                "sends. Read it with env.int(...).",
            )
        )
    try:
        rate = parse_activation_rate_limit(conf.raw("FLAGSHIP_DECISION_API_RATE_LIMIT"))
    except ValueError as exc:
        errors.append(
            _error(
                23,
                f"{exc}.",
                "Give (requests, activations, seconds), for example (600, 6000, 60.0): per "
                "client address in each window of seconds; None removes the limit.",
            )
        )
    if batch is not None and rate is not None and rate[1] < batch:
        errors.append(
            _error(
                23,
                f"FLAGSHIP_DECISION_API_RATE_LIMIT allows {rate[1]} activations per window, "
                f"fewer than one full batch (FLAGSHIP_DECISION_API_MAX_BATCH = {batch}).",
                "A full batch would always be refused: raise the activations of the rate "
                "limit or lower the batch size.",
            )
        )
    return errors


def _check_client_address() -> list[CheckMessage]:
    from .client_address import parse_address_header

    try:
        parse_address_header(conf.raw("FLAGSHIP_CLIENT_ADDRESS_HEADER"))
    except ValueError as exc:
        return [
            _error(
                22,
                f"{exc}.",
                "Give the header your reverse proxy writes the client's address into, "
                "e.g. 'X-Forwarded-For', or ('X-Forwarded-For', 2) behind two proxies; "
                "None counts REMOTE_ADDR.",
            )
        ]
    return []


def _check_hits() -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    for name, lowest in (
        ("FLAGSHIP_HIT_QUEUE_SIZE", 1),
        ("FLAGSHIP_HIT_BATCH_SIZE", 1),
        ("FLAGSHIP_HIT_MAX_RETRIES", 0),
    ):
        value = conf.raw(name)
        if isinstance(value, bool) or not isinstance(value, int) or value < lowest:
            errors.append(
                _error(
                    13,
                    f"{name} is {value!r}; it must be an int >= {lowest}.",
                    f"The default is {DEFAULTS[name]!r}; read it with env.int(...).",
                )
            )
    sink = conf.hit_sink
    if sink not in ("auto", "collector", "log", "memory"):
        problem = None
        if not isinstance(sink, str) or not sink:
            problem = f"is {sink!r}, not a sink name or a dotted path"
        else:
            try:
                if not callable(import_string(sink)):
                    problem = f"= {sink!r} is not callable"
            except ImportError as exc:
                problem = f"= {sink!r} cannot be imported ({exc})"
        if problem:
            errors.append(
                _error(
                    14,
                    f"FLAGSHIP_HIT_SINK {problem}.",
                    "Use 'auto', 'collector', 'log', 'memory', or the dotted path of "
                    "f(config) returning a tracker.",
                )
            )
    spool = conf.hit_spool_dir
    if not (spool is None or spool is False or isinstance(spool, str | os.PathLike)):
        errors.append(
            _error(
                15,
                f"FLAGSHIP_HIT_SPOOL_DIR is {spool!r}; it must be a path, None or False.",
                "None keeps unsent hits under the system temp directory; give a "
                "persistent directory in production, or False to turn the spool off.",
            )
        )
    return errors


def _check_browser() -> list[CheckMessage]:
    from .browser import parse_address_rate_limit, parse_max_body, parse_rate_limit

    errors: list[CheckMessage] = []
    for name, parse, hint in (
        (
            "FLAGSHIP_BROWSER_RATE_LIMIT",
            parse_rate_limit,
            "Give (count, seconds), for example (60, 60.0): at most count events per "
            "visitor in each window of seconds; None removes the limit.",
        ),
        (
            "FLAGSHIP_BROWSER_ADDRESS_RATE_LIMIT",
            parse_address_rate_limit,
            "Give (count, seconds), for example (600, 60.0): at most count events per "
            "client address in each window of seconds; None removes the limit.",
        ),
        (
            "FLAGSHIP_BROWSER_MAX_BODY",
            parse_max_body,
            f"Give the largest event body in bytes; the default is "
            f"{DEFAULTS['FLAGSHIP_BROWSER_MAX_BODY']!r}. Read it with env.int(...).",
        ),
    ):
        try:
            parse(conf.raw(name))
        except ValueError as exc:
            errors.append(_error(16, f"{exc}.", hint))
    return errors


def _check_drf() -> list[CheckMessage]:
    # Not through contrib.drf: the checks run whether rest_framework is installed or not.
    value = conf.drf_deny_status
    if not isinstance(value, bool) and value in DRF_DENY_STATUSES:
        return []
    return [
        _error(
            17,
            f"FLAGSHIP_DRF_DENY_STATUS is {value!r}; it must be 403 or 404.",
            "404 (the default) answers as if the endpoint did not exist; 403 says the "
            "feature is not available. Give the int, not a string.",
        )
    ]


def _is_middleware(path: Any, wanted: str) -> bool:
    """``path`` names the middleware class ``wanted``, or a subclass of it."""
    if path == wanted:
        return True
    if not isinstance(path, str):
        return False
    try:
        imported = import_string(path)
        base = import_string(wanted)
    except ImportError:
        return False
    return isinstance(imported, type) and issubclass(imported, base)


def check_middleware(**kwargs: Any) -> list[CheckMessage]:
    """FlagshipMiddleware is installed, after the session and auth middleware."""
    middleware = list(getattr(settings, "MIDDLEWARE", None) or [])
    position = next(
        (i for i, path in enumerate(middleware) if _is_middleware(path, MIDDLEWARE_PATH)), None
    )
    if position is None:
        return [
            _warning(
                2,
                "FlagshipMiddleware is not in MIDDLEWARE: request.flags and the "
                "{% flag %} tags will not work.",
                f"Add {MIDDLEWARE_PATH!r} to MIDDLEWARE, after the session and "
                "authentication middleware.",
            )
        ]
    errors: list[CheckMessage] = []
    for required in _MUST_COME_AFTER:
        # A project's own subclass (a custom session middleware) counts too.
        if any(_is_middleware(path, required) for path in middleware[position + 1 :]):
            errors.append(
                _error(
                    9,
                    f"FlagshipMiddleware comes before {required.rsplit('.', 1)[-1]} in "
                    "MIDDLEWARE, so it cannot see the session or the user.",
                    f"Move {MIDDLEWARE_PATH!r} after {required!r}.",
                )
            )
    return errors


def check_deploy(**kwargs: Any) -> list[CheckMessage]:
    """``check --deploy``: one bucket shared by every process, the clients' own addresses."""
    return _check_shared_cache() + _check_proxy_address()


def _check_proxy_address() -> list[CheckMessage]:
    behind_proxy = [
        name
        for name in ("USE_X_FORWARDED_HOST", "USE_X_FORWARDED_PORT", "SECURE_PROXY_SSL_HEADER")
        if getattr(settings, name, None)
    ]
    if not behind_proxy or conf.raw("FLAGSHIP_CLIENT_ADDRESS_HEADER") is not None:
        return []
    return [
        _warning(
            6,
            f"{behind_proxy[0]} says the site runs behind a proxy, but "
            "FLAGSHIP_CLIENT_ADDRESS_HEADER is not set: the rate limits of the browser "
            "events and of the served activations count every client as the proxy.",
            "Set FLAGSHIP_CLIENT_ADDRESS_HEADER to the header your proxy writes the "
            "client's address into, e.g. 'X-Forwarded-For'.",
        )
    ]


def _check_shared_cache() -> list[CheckMessage]:
    alias = conf.cache_alias
    if not (_text("FLAGSHIP_ENV_ID") or conf.bucket_file):
        return []
    if not isinstance(alias, str) or alias not in settings.CACHES:
        return []
    backend = settings.CACHES[alias].get("BACKEND", "")
    if backend.rsplit(".", 1)[-1] != "LocMemCache":
        return []
    return [
        _warning(
            4,
            f"The cache {alias!r} holding the Flagship bucket is local to each process.",
            "Every process then downloads and parses the bucket itself, and a "
            "'flagship_refresh_bucket' reaches only its own process. Point "
            "FLAGSHIP_CACHE_ALIAS at Redis or Memcached.",
        )
    ]


def check_async_deploy(**kwargs: Any) -> list[CheckMessage]:
    """``check --deploy``: an ASGI site in DECISION_API mode needs aiohttp (the ``async`` extra).

    Without it every ``await request.flags.aget(...)`` waits for a thread of
    the event loop's default pool (a few per core) to call the Decision API:
    past that many at once, requests queue behind one another's call.
    """
    try:
        mode = Mode.coerce(conf.mode)
    except ValueError:
        return []  # E002
    if mode is not Mode.DECISION_API or not (
        _text("FLAGSHIP_ENV_ID") and _text("FLAGSHIP_API_KEY")
    ):
        return []
    why = asgi_site()
    if why is None or aiohttp_installed():
        return []
    return [
        _warning(
            11,
            f"FLAGSHIP_MODE is DECISION_API and the site looks served over ASGI ({why}), "
            "but aiohttp is not installed: async views call the Decision API from a small "
            "thread pool, so concurrent requests queue behind one another's call.",
            'Install the async extra: pip install "django-flagship[async]". A site served '
            "over WSGI only can silence it: SILENCED_SYSTEM_CHECKS = "
            "['django_flagship.W011'].",
        )
    ]


REQUEST_PROCESSOR = "django.template.context_processors.request"
#: The app's template libraries, by the name ``{% load %}`` gives them; every
#: tag in them reads ``request.flags`` from the template context.
_TAG_LIBRARIES = {
    "flagship": "django_flagship.templatetags.flagship",
    "flagship_browser": "django_flagship.templatetags.flagship_browser",
}


def _is_django_templates(backend: Any) -> bool:
    if backend == "django.template.backends.django.DjangoTemplates":
        return True
    try:
        imported = import_string(backend) if isinstance(backend, str) else None
    except ImportError:
        return False  # Django reports a backend that does not import
    return isinstance(imported, type) and issubclass(imported, DjangoTemplates)


def _loads_flag_tags(options: dict[str, Any]) -> bool:
    """Whether templates of a DjangoTemplates backend with ``options`` can load our tags.

    An installed app's libraries are offered to every DjangoTemplates backend
    (with or without ``APP_DIRS``), unless ``OPTIONS["libraries"]`` gives their
    name to another module; ``builtins`` and ``libraries`` can also name ours.
    """
    libraries = options.get("libraries") or {}
    builtins = options.get("builtins") or []
    if not isinstance(libraries, dict) or not isinstance(builtins, (list, tuple)):
        return False  # Django reports malformed OPTIONS when the engine is built
    ours = set(_TAG_LIBRARIES.values())
    named = [*builtins, *libraries.values()]
    if any(isinstance(path, str) and path in ours for path in named):
        return True
    return apps.is_installed("django_flagship") and any(
        libraries.get(name, module) == module for name, module in _TAG_LIBRARIES.items()
    )


def check_templates(**kwargs: Any) -> list[CheckMessage]:
    """The flag tags need ``request`` in the template context: its processor must be on.

    Without it ``{% flag %}``, ``{% ifflag %}`` and ``{% flags_json %}`` find no
    request and serve defaults, which otherwise shows only as a log line at the
    first render. Other backends (Jinja2 gets the request from Django) are not
    concerned.
    """
    templates = getattr(settings, "TEMPLATES", None)
    if not isinstance(templates, (list, tuple)):
        return []
    warnings: list[CheckMessage] = []
    for index, backend in enumerate(templates):
        if not isinstance(backend, dict) or not _is_django_templates(backend.get("BACKEND")):
            continue
        options = backend.get("OPTIONS") or {}
        if not isinstance(options, dict) or not _loads_flag_tags(options):
            continue
        processors = options.get("context_processors") or []
        if isinstance(processors, (list, tuple)) and REQUEST_PROCESSOR in processors:
            continue
        where = f"TEMPLATES[{index}]"
        name = backend.get("NAME")
        named = f" (NAME {name!r})" if isinstance(name, str) else ""
        warnings.append(
            _warning(
                9,
                f"{where}{named} can load the Flagship template tags but lacks the "
                f"{REQUEST_PROCESSOR!r} context processor: {{% flag %}}, {{% ifflag %}} "
                "and {% flags_json %} find no request there and serve every default.",
                f'Add the line "{REQUEST_PROCESSOR}", to {where}["OPTIONS"]["context_processors"].',
            )
        )
    return warnings
