"""The settings of the served Decision API (``FLAGSHIP_DECISION_API_*``), read and checked.

Only the server (:mod:`django_flagship.decision_api`) and the system checks
read them. They live in the Django layer, which never imports the server, so
``manage.py check`` validates them with the very functions the views use.

Their defaults, and the parsers of all but ``FLAGSHIP_DECISION_API_ENVIRONMENTS``,
are in :mod:`django_flagship.settings_table`.
``FLAGSHIP_DECISION_API_ENVIRONMENTS``, ``_MAX_BODY`` and ``_GROUP_TTL`` are
read together as a :class:`ServerSettings` (check ``E012``);
``FLAGSHIP_DECISION_API_MAX_BATCH`` and ``_RATE_LIMIT`` bound the activation
endpoints, which take no key (checks ``E024`` and ``E023``; see
:mod:`django_flagship.decision_api.limits`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from django.views.decorators.debug import sensitive_variables

from .conf import DEFAULTS, conf
from .setting_parsers import parse_activation_rate_limit, parse_max_batch

__all__ = [
    "ApiKeys",
    "ServerSettings",
    "activation_rate_limit",
    "max_batch",
    "parse_activation_rate_limit",
    "parse_max_batch",
    "served_settings",
    "server_settings",
]

logger = logging.getLogger("django_flagship.decision_api")

_T = TypeVar("_T")


class ApiKeys(tuple[str, ...]):
    """The API keys an environment accepts: a tuple whose repr never shows them.

    Error pages, debuggers and logs print the settings through ``repr``.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return f"ApiKeys(<{len(self)} hidden>)"

    __str__ = __repr__


@dataclass(frozen=True, slots=True)
class ServerSettings:
    """The settings the Decision API views read, resolved once per request.

    ``environments`` maps each served environment id to the keys it accepts;
    an environment with no key refuses every request (campaigns and
    activations alike), and ``None`` instead of keys serves it without a key,
    as the seed's v1 reference describes (check ``W008`` says what that exposes).
    """

    environments: Mapping[str, ApiKeys | None]
    max_body: int
    group_ttl: float | None
    cache_alias: str
    cache_key_prefix: str

    def closed(self, env_id: str) -> bool:
        """Whether ``env_id`` is served but refuses everything (its list of keys is empty)."""
        keys = self.environments.get(env_id)
        return keys is not None and len(keys) == 0


@sensitive_variables("value", "key")
def _keys(env_id: str, value: Any) -> ApiKeys | None:
    if value is None:
        return None  # public, as v1 of the seed: the env id in the URL is enough
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        raise TypeError(f"FLAGSHIP_DECISION_API_ENVIRONMENTS[{env_id!r}] must be a list of keys")
    if not all(isinstance(key, str) for key in value):
        raise TypeError(f"FLAGSHIP_DECISION_API_ENVIRONMENTS[{env_id!r}] must hold strings")
    return ApiKeys(key.strip() for key in value if key.strip())


@sensitive_variables("configured", "api_key", "environments")
def _environments() -> dict[str, ApiKeys | None]:
    configured = conf.decision_api_environments
    if configured is None:
        # A FLAGSHIP_ENV_ID or FLAGSHIP_API_KEY that is not a string is check E001's.
        env_id = conf.env_id.strip() if isinstance(conf.env_id, str) else ""
        api_key = conf.api_key if isinstance(conf.api_key, str) else ""
        configured = {env_id: [api_key]} if env_id else {}
    if not isinstance(configured, Mapping):
        raise TypeError("FLAGSHIP_DECISION_API_ENVIRONMENTS must be a dict of env id -> keys")
    if not all(isinstance(env, str) and env for env in configured):
        raise TypeError("FLAGSHIP_DECISION_API_ENVIRONMENTS keys must be non-empty env ids")
    environments = {env: _keys(env, keys) for env, keys in configured.items()}
    return environments


def _max_body() -> int:
    max_body: int = conf.parsed("FLAGSHIP_DECISION_API_MAX_BODY")
    return max_body


def _group_ttl() -> float | None:
    group_ttl: float | None = conf.parsed("FLAGSHIP_DECISION_API_GROUP_TTL")
    return group_ttl


#: The malformed settings :func:`served_settings` logged, each once per process.
_reported: set[str] = set()


def _or_fallback(read: Callable[[], _T], fallback: _T, consequence: str) -> _T:
    try:
        return read()
    except (TypeError, ValueError) as exc:
        message = str(exc)
        if message not in _reported:
            _reported.add(message)
            logger.error(
                "Flagship: %s (system check django_flagship.E012); %s", message, consequence
            )
        return fallback


def server_settings() -> ServerSettings:
    """Read the ``FLAGSHIP_DECISION_API_*`` settings now, so ``override_settings`` works.

    ``FLAGSHIP_DECISION_API_ENVIRONMENTS`` maps each served environment id to
    its API keys; by default the app's own ``FLAGSHIP_ENV_ID`` is served with
    ``FLAGSHIP_API_KEY``. An environment with no key refuses every request:
    the server fails closed. Raises :class:`TypeError` or :class:`ValueError`
    naming a malformed setting (system check ``E012``); the views read
    :func:`served_settings` instead.
    """
    return ServerSettings(
        _environments(),
        _max_body(),
        _group_ttl(),
        conf.cache_alias or "default",
        conf.cache_key_prefix or "flagship",
    )


def served_settings() -> ServerSettings:
    """:func:`server_settings` for a request: a malformed setting never raises into a view.

    It is logged once; malformed environments serve none (every request gets
    ``404``: fail closed), and a malformed body limit or group TTL takes its
    default.
    """
    return ServerSettings(
        _or_fallback(_environments, {}, "no environment is served"),
        _or_fallback(_max_body, DEFAULTS["FLAGSHIP_DECISION_API_MAX_BODY"], "using the default"),
        _or_fallback(_group_ttl, DEFAULTS["FLAGSHIP_DECISION_API_GROUP_TTL"], "using the default"),
        conf.cache_alias or "default",
        conf.cache_key_prefix or "flagship",
    )


# -- the activation endpoints' bounds -------------------------------------------------


def max_batch() -> int:
    """The most activations one ``v2/activate`` batch may hold.

    A malformed setting gives the default (and is logged once).
    """
    batch: int = conf.value("FLAGSHIP_DECISION_API_MAX_BATCH")
    return batch


def activation_rate_limit() -> tuple[int, int, float] | None:
    """``(requests, activations, seconds)`` per client address; ``None``: no limit.

    A malformed setting gives the default (and is logged once).
    """
    limit: tuple[int, int, float] | None = conf.value("FLAGSHIP_DECISION_API_RATE_LIMIT")
    return limit
