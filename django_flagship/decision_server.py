"""The Decision API served from the app's own bucket: request parsing, decisions, bodies.

The views in :mod:`django_flagship.views` stay thin: everything that can be
checked without an HTTP request lives here, as plain functions over plain data.
Shapes follow Flagship's v1 reference and the v2 server (protocol file 1.3-1.6
and 6): v2 writes every campaign field, ``null`` when unknown, in the server's
order; v1 writes the fields of its reference only.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import itertools
import json
import logging
import math
import operator
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeGuard
from urllib.parse import urlsplit

from django.core.cache import caches
from django.views.decorators.debug import sensitive_variables

from . import client
from .conf import DEFAULTS
from .conf import conf as app_conf
from .delivery import build_collector_tracker
from .sdk import strict_json
from .sdk.context import MAX_CONTEXT_LIST_ITEMS
from .sdk.flusher import BackgroundTracker
from .sdk.hits import Activation, Hit
from .sdk.model import Assignment
from .sdk.tracking import TrackedHit, Tracker
from .signals import SignalTracker

__all__ = [
    "MODES",
    "ActivationRequest",
    "ApiError",
    "ApiKeys",
    "BucketIndex",
    "DecisionRequest",
    "ServedActivation",
    "ServedHit",
    "ServerSettings",
    "activation_error",
    "bucket_index",
    "campaign_v1",
    "campaign_v2",
    "check_api_key",
    "close_served_trackers",
    "decide",
    "dumps",
    "formatted_value",
    "is_http_url",
    "loads_json",
    "modification_value",
    "parse_activation_v1",
    "parse_activations_v2",
    "parse_decision_query",
    "parse_decision_request",
    "parse_flag",
    "parse_mode",
    "render_campaigns",
    "served_settings",
    "served_tracker",
    "server_settings",
    "track_activations",
    "track_hit",
]

logger = logging.getLogger("django_flagship.decision_api")

#: Response shapes of the campaigns endpoints (query ``mode``).
MODES = ("normal", "simple", "full")


class ApiError(Exception):
    """A request the server refuses: an HTTP status and a JSON body naming the problem."""

    def __init__(self, status: int, message: str, body: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.body: dict[str, Any] = dict(body) if body is not None else {"message": message}


# -- settings ------------------------------------------------------------------


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
    configured = app_conf.decision_api_environments
    if configured is None:
        # A FLAGSHIP_ENV_ID or FLAGSHIP_API_KEY that is not a string is check E001's.
        env_id = app_conf.env_id.strip() if isinstance(app_conf.env_id, str) else ""
        api_key = app_conf.api_key if isinstance(app_conf.api_key, str) else ""
        configured = {env_id: [api_key]} if env_id else {}
    if not isinstance(configured, Mapping):
        raise TypeError("FLAGSHIP_DECISION_API_ENVIRONMENTS must be a dict of env id -> keys")
    if not all(isinstance(env, str) and env for env in configured):
        raise TypeError("FLAGSHIP_DECISION_API_ENVIRONMENTS keys must be non-empty env ids")
    environments = {env: _keys(env, keys) for env, keys in configured.items()}
    return environments


def _max_body() -> int:
    max_body = app_conf.decision_api_max_body
    if isinstance(max_body, bool) or not isinstance(max_body, int) or max_body < 1:
        raise ValueError("FLAGSHIP_DECISION_API_MAX_BODY must be a positive number of bytes")
    return max_body


def _group_ttl() -> float | None:
    group_ttl = app_conf.decision_api_group_ttl
    if group_ttl is not None and (
        isinstance(group_ttl, bool)
        or not isinstance(group_ttl, (int, float))
        or not math.isfinite(group_ttl)
        or group_ttl <= 0
    ):
        raise ValueError("FLAGSHIP_DECISION_API_GROUP_TTL must be a number of seconds > 0 or None")
    return None if group_ttl is None else float(group_ttl)


#: The malformed settings :func:`served_settings` logged, each once per process.
_reported: set[str] = set()


def _or_fallback(read: Any, fallback: Any, consequence: str) -> Any:
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
        app_conf.cache_alias or "default",
        app_conf.cache_key_prefix or "flagship",
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
        app_conf.cache_alias or "default",
        app_conf.cache_key_prefix or "flagship",
    )


_encode = operator.methodcaller("encode", "utf-8", "surrogatepass")


@sensitive_variables("given", "candidate")
def check_api_key(given: str | None, accepted: Iterable[str]) -> bool:
    """Whether ``given`` is one of the ``accepted`` keys, compared in constant time.

    Every accepted key is compared, so the time taken does not tell which
    one came closest. The comparisons run in C (``map``): no Python frame
    ever holds an accepted key, which a ``DEBUG`` error page would show.
    """
    if not given:
        return False
    candidate = _encode(given)
    return any(list(map(hmac.compare_digest, itertools.repeat(candidate), map(_encode, accepted))))


# -- JSON -----------------------------------------------------------------------


def loads_json(raw: bytes | str, what: str = "the body") -> Any:
    """Strict, bounded JSON (:mod:`.sdk.strict_json`): a 400 naming the problem otherwise."""
    try:
        return strict_json.loads(raw)
    except strict_json.JsonTextError as exc:
        raise ApiError(400, str(exc) if what == "the body" else f"{what}: {exc}") from None
    except strict_json.JsonError as exc:
        raise ApiError(400, f"{what} is not valid JSON: {exc}") from None


# -- decision requests ----------------------------------------------------------

_STR, _BOOL, _OBJECT = "a string", "a boolean", "an object"

# canonical (snake_case) name -> expected kind. protojson accepts both the proto
# name and its lowerCamelCase JSON name; anything else is an unknown field.
_DECISION_FIELDS: dict[str, str] = {
    "visitor_id": _STR,
    "anonymous_id": _STR,
    "decision_group": _STR,
    "trigger_hit": _BOOL,
    "activate": _BOOL,
    "format_response": _BOOL,
    "context": _OBJECT,
    "visitor_consent": _BOOL,
    "client_id": _STR,
    "campaign_id": _STR,
    "default_redirect_url": _STR,
    "custom_visitor_id": _STR,
}


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


_DECISION_ALIASES: dict[str, str] = {}
for _name in _DECISION_FIELDS:
    _DECISION_ALIASES[_name] = _name
    _DECISION_ALIASES[_camel(_name)] = _name


@dataclass(frozen=True, slots=True)
class DecisionRequest:
    """A campaigns request, validated; names follow the v1 reference."""

    visitor_id: str
    context: dict[str, Any] = field(default_factory=dict)
    anonymous_id: str | None = None
    decision_group: str | None = None
    trigger_hit: bool = True
    format_response: bool = False
    visitor_consent: bool = True
    default_redirect_url: str | None = None


def _check_context(context: Mapping[str, Any]) -> dict[str, Any]:
    for key, value in context.items():
        if not key:
            raise ApiError(400, "context keys must be non-empty strings")
        if isinstance(value, list):
            if len(value) > MAX_CONTEXT_LIST_ITEMS:
                raise ApiError(
                    400,
                    f"context value of {key!r} must be a list of at most "
                    f"{MAX_CONTEXT_LIST_ITEMS} values",
                )
            if all(_is_scalar(item) for item in value):
                continue
        elif _is_scalar(value):
            continue
        raise ApiError(
            400,
            f"context value of {key!r} must be a string, a number, a boolean or a list of those",
        )
    return dict(context)


def _is_scalar(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    return isinstance(value, (str, int, bool))


def parse_decision_request(data: Any) -> DecisionRequest:
    """Validate a campaigns request body (snake_case or lowerCamelCase names).

    ``null`` counts as absent, as protojson reads wrapper fields. An unknown
    field, a field given twice under its two names, or a value of the wrong
    type is a 400 naming the field.
    """
    if not isinstance(data, Mapping):
        raise ApiError(400, "the body must be a JSON object")
    values: dict[str, Any] = {}
    for name, value in data.items():
        canonical = _DECISION_ALIASES.get(name)
        if canonical is None:
            raise ApiError(400, f"unknown field {name!r}")
        if canonical in values:
            raise ApiError(400, f"field {canonical!r} is given twice")
        if value is None:
            continue
        kind = _DECISION_FIELDS[canonical]
        ok = (
            isinstance(value, str)
            if kind is _STR
            else isinstance(value, bool)
            if kind is _BOOL
            else isinstance(value, Mapping)
        )
        if not ok:
            raise ApiError(400, f"{canonical} must be {kind}")
        values[canonical] = value
    return _build_request(values)


def _build_request(values: Mapping[str, Any]) -> DecisionRequest:
    visitor_id = values.get("visitor_id")
    if not visitor_id:
        raise ApiError(400, "visitor_id is required and must not be empty")
    redirect = values.get("default_redirect_url") or None
    if redirect is not None and not is_http_url(redirect):
        raise ApiError(400, "default_redirect_url must be an absolute http or https URL")
    # GO: a hit is triggered unless trigger_hit or its synonym activate is false.
    trigger = values.get("trigger_hit", True) and values.get("activate", True)
    return DecisionRequest(
        visitor_id=visitor_id,
        context=_check_context(values.get("context") or {}),
        anonymous_id=values.get("anonymous_id") or None,
        decision_group=values.get("decision_group") or None,
        trigger_hit=bool(trigger),
        format_response=bool(values.get("format_response", False)),
        visitor_consent=bool(values.get("visitor_consent", True)),
        default_redirect_url=redirect,
    )


def parse_flag(name: str, raw: str | None, default: bool | None = None) -> bool | None:
    """A boolean query parameter: ``true``/``false`` (or ``1``/``0``); 400 otherwise."""
    if raw is None or raw == "":
        return default
    lowered = raw.strip().lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0"):
        return False
    raise ApiError(400, f"{name} must be true or false")


def parse_decision_query(query: Mapping[str, str]) -> DecisionRequest:
    """The GET form of a single-campaign request: body fields as query parameters.

    ``context`` is a JSON object. Parameters that are not request fields (the
    ``utm_*`` a newsletter link carries, ``mode``...) are ignored.
    """
    values: dict[str, Any] = {}
    for name, raw in query.items():
        canonical = _DECISION_ALIASES.get(name)
        if canonical is None:
            continue
        if canonical in values:
            raise ApiError(400, f"parameter {canonical!r} is given twice")
        kind = _DECISION_FIELDS[canonical]
        if kind is _BOOL:
            value: Any = parse_flag(canonical, raw)
        elif kind is _OBJECT:
            value = loads_json(raw, "the context parameter") if raw else None
            if value is not None and not isinstance(value, Mapping):
                raise ApiError(400, "context must be a JSON object")
        else:
            value = raw
        if value is not None:
            values[canonical] = value
    return _build_request(values)


def parse_mode(raw: str | None) -> str:
    mode = raw or "normal"
    if mode not in MODES:
        raise ApiError(400, f"unknown mode {mode!r}: use normal, simple or full")
    return mode


def is_http_url(value: Any) -> TypeGuard[str]:
    """An absolute ``http``/``https`` URL with a host, and nothing a browser could misread."""
    if not isinstance(value, str) or not value or len(value) > 2048:
        return False
    if any(ord(char) < 0x21 or char == "\\" for char in value):
        return False
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


# -- the bucket, indexed for the server ------------------------------------------


class BucketIndex:
    """What the server needs from a bucket beyond decisions, computed once per bucket.

    ``group_keys``: every flag key of each variation group, for
    ``exposeAllKeys``. ``campaigns``: campaign id and slug to id.
    ``variations``: the variation ids of each variation group, to refuse
    activations of variations that do not exist.
    """

    __slots__ = ("_fragments", "_values", "campaigns", "group_keys", "variations")

    def __init__(self, data: Any) -> None:
        # Per variation, what every visitor who gets it is answered: computed once.
        self._values: dict[tuple[str, str, str, bool], dict[str, Any]] = {}
        self._fragments: dict[tuple[str, str, str, bool, int], bytes] = {}
        self.campaigns: dict[str, str] = {}
        self.group_keys: dict[str, tuple[str, ...]] = {}
        self.variations: dict[str, frozenset[str]] = {}
        campaigns = data.get("campaigns") if isinstance(data, Mapping) else None
        for campaign in campaigns if isinstance(campaigns, list) else ():
            if not isinstance(campaign, Mapping) or not isinstance(campaign.get("id"), str):
                continue
            campaign_id = campaign["id"]
            if campaign_id in self.campaigns.values():
                continue  # a repeated campaign id is never decided: the first one wins
            self.campaigns.setdefault(campaign_id, campaign_id)
            slug = campaign.get("slug")
            if isinstance(slug, str) and slug:
                self.campaigns.setdefault(slug, campaign_id)
            groups = campaign.get("variationGroups", campaign.get("variation_groups"))
            for group in groups if isinstance(groups, list) else ():
                if isinstance(group, Mapping) and isinstance(group.get("id"), str):
                    self._add_group(group)

    def _add_group(self, group: Mapping[str, Any]) -> None:
        keys: dict[str, None] = {}
        ids: set[str] = set()
        variations = group.get("variations")
        for variation in variations if isinstance(variations, list) else ():
            if not isinstance(variation, Mapping):
                continue
            if isinstance(variation.get("id"), str):
                ids.add(variation["id"])
            modifications = variation.get("modifications")
            value = modifications.get("value") if isinstance(modifications, Mapping) else None
            if isinstance(value, Mapping):
                keys.update(dict.fromkeys(k for k in value if isinstance(k, str)))
        self.group_keys[group["id"]] = tuple(keys)
        self.variations[group["id"]] = frozenset(ids)

    def value(self, assignment: Assignment, expose_all_keys: bool) -> dict[str, Any]:
        """:func:`modification_value`, cached; callers must not change it."""
        key = (
            assignment.campaign_id,
            assignment.variation_group_id,
            assignment.variation_id,
            expose_all_keys,
        )
        value = self._values.get(key)
        if value is None:
            value = modification_value(assignment, self, expose_all_keys=expose_all_keys)
            self._values[key] = value
        return value

    def fragment(self, assignment: Assignment, expose_all_keys: bool, version: int) -> bytes:
        """The campaign's JSON in a campaigns list, cached: the same for every visitor."""
        key = (
            assignment.campaign_id,
            assignment.variation_group_id,
            assignment.variation_id,
            expose_all_keys,
            version,
        )
        fragment = self._fragments.get(key)
        if fragment is None:
            build = campaign_v2 if version == 2 else campaign_v1
            fragment = dumps(build(assignment, self.value(assignment, expose_all_keys)))
            self._fragments[key] = fragment
        return fragment


_index_lock = threading.Lock()
_index_slot: tuple[Any, BucketIndex] | None = None


def bucket_index(bucket: Any) -> BucketIndex:
    """The :class:`BucketIndex` of ``bucket``, built on first use and kept until it changes."""
    global _index_slot
    slot = _index_slot
    if slot is not None and slot[0] is bucket:
        return slot[1]
    with _index_lock:
        slot = _index_slot
        if slot is None or slot[0] is not bucket:
            slot = (bucket, BucketIndex(getattr(bucket, "raw", None)))
            _index_slot = slot
    return slot[1]


# -- decisions ------------------------------------------------------------------


def _group_cache_key(prefix: str, env_id: str, group: str) -> str:
    # Hashed: a group name is free text, and cache backends restrict keys.
    digest = hashlib.sha256(group.encode("utf-8", "surrogatepass")).hexdigest()
    env = hashlib.sha256(env_id.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return f"{prefix}:decision-group:{env}:{digest}"


def _stored_group(cache: Any, key: str) -> dict[str, str] | None:
    stored = cache.get(key)
    return stored if isinstance(stored, dict) else None


def decide(
    bucket: Any, request: DecisionRequest, *, env_id: str, conf: ServerSettings
) -> list[Assignment]:
    """The visitor's assignments, in bucket order.

    With a decision group the variation is hashed from the group (protocol
    3.5) and the group's variations are kept in the Django cache: every
    process then answers the same for the group, and a changed allocation
    does not move it.

    The group's first entry is written with ``cache.add``, so when two
    processes decide a new group at once only one entry is kept; the other
    process reads the winner's variations and answers with them. A group
    that later gets variation groups it had no variation for (a new
    campaign, other targeting) has them merged into its entry, the
    variations already stored winning.
    """
    group = request.decision_group
    if not group:
        return bucket.decide(request.visitor_id, request.context)
    cache = caches[conf.cache_alias]
    key = _group_cache_key(conf.cache_key_prefix, env_id, group)
    stored = _stored_group(cache, key)
    assignments = bucket.decide(
        request.visitor_id, request.context, decision_group=group, assignments=stored or {}
    )
    known = stored or {}
    fresh = {
        a.variation_group_id: a.variation_id
        for a in assignments
        if known.get(a.variation_group_id) != a.variation_id
    }
    if not fresh:
        return assignments
    if stored is None and cache.add(key, fresh, conf.group_ttl):
        return assignments  # the group's first decision, and this process's
    # Another process wrote the group since it was read (or this adds to it):
    # what the cache holds now wins over what was just decided.
    current = _stored_group(cache, key) or {}
    merged = {**fresh, **current}
    if merged != current:
        cache.set(key, merged, conf.group_ttl)
    if any(current.get(vg, variation) != variation for vg, variation in fresh.items()):
        assignments = bucket.decide(
            request.visitor_id, request.context, decision_group=group, assignments=merged
        )
    return assignments


# -- response bodies ------------------------------------------------------------


def modification_value(
    assignment: Assignment, index: BucketIndex | None, *, expose_all_keys: bool
) -> dict[str, Any]:
    """The variation's flags as the server writes them (protocol 1.4).

    With ``exposeAllKeys`` every key of a sibling variation of the same
    variation group is added as ``null``; without it ``null`` values are
    dropped.
    """
    flags = assignment.flags
    if not expose_all_keys:
        return {key: value for key, value in flags.items() if value is not None}
    value = dict(flags)
    if index is not None:
        for key in index.group_keys.get(assignment.variation_group_id, ()):
            if key not in value:
                value[key] = None
    return value


def campaign_v2(assignment: Assignment, value: Mapping[str, Any]) -> dict[str, Any]:
    """A campaign as the v2 server writes it: every field, in the proto's order."""
    return {
        "id": assignment.campaign_id,
        "name": assignment.campaign_name,
        "slug": assignment.slug,
        "type": assignment.campaign_type,
        "variationGroupId": assignment.variation_group_id,
        "variationGroupName": assignment.variation_group_name,
        "variation": {
            "id": assignment.variation_id,
            "name": assignment.variation_name,
            "reference": assignment.reference,
            "modifications": {"type": assignment.modification_type, "value": value},
        },
    }


def campaign_v1(assignment: Assignment, value: Mapping[str, Any]) -> dict[str, Any]:
    """A campaign as the v1 reference writes it."""
    return {
        "id": assignment.campaign_id,
        "variationGroupId": assignment.variation_group_id,
        "variation": {
            "id": assignment.variation_id,
            "modifications": {"type": assignment.modification_type, "value": value},
        },
    }


def render_campaigns(
    visitor_id: str,
    assignments: list[Assignment],
    *,
    mode: str,
    version: int,
    index: BucketIndex,
    expose_all_keys: bool,
) -> bytes:
    """The campaigns response in ``mode`` (normal, simple or full), as JSON bytes.

    Campaign objects come pre-serialized from the index: a response is mostly
    the concatenation of fragments shared by every visitor of a variation.
    ``mergedModifications`` merges the values as written in ``campaigns``,
    the later campaign winning (protocol 3.6).
    """
    parts: list[bytes] = []
    if mode != "simple":
        fragments = b",".join(index.fragment(a, expose_all_keys, version) for a in assignments)
        parts.append(b'"visitorId":' + dumps(visitor_id))
        parts.append(b'"campaigns":[' + fragments + b"]")
    if mode != "normal":
        merged: dict[str, Any] = {}
        for assignment in assignments:
            merged.update(index.value(assignment, expose_all_keys))
        pairs = [{"campaignId": a.campaign_id, "variationId": a.variation_id} for a in assignments]
        parts.append(b'"campaignsVariation":' + dumps(pairs))
        parts.append(b'"mergedModifications":' + dumps(merged))
    return b"{" + b",".join(parts) + b"}"


def dumps(body: Any) -> bytes:
    """Compact UTF-8 JSON, as the server writes every body."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def formatted_value(value: Mapping[str, Any]) -> str | None:
    """The text of a TEXT/HTML/IMAGE/REDIRECT modification: its first scalar value.

    GO takes an arbitrary key when there are several (Go map order); the first
    key of the variation is used here, so the answer is stable.
    """
    for item in value.values():
        if isinstance(item, str):
            return item
        if isinstance(item, (bool, int, float)):
            return json.dumps(item)
    return None


# -- activations ----------------------------------------------------------------

_ACTIVATION_FIELDS = {
    "cid": _STR,
    "vid": _STR,
    "aid": _STR,
    "caid": _STR,
    "vaid": _STR,
    "cvid": _STR,
    "qt": "an integer",
    "qa": _BOOL,
}
_ACTIVATION_REQUIRED = ("cid", "vid", "caid", "vaid")
#: Queue times are capped at Flagship's hit lifetime (4 h): older is not credible.
_MAX_QUEUE_TIME_MS = 4 * 3600 * 1000


@dataclass(frozen=True, slots=True)
class ActivationRequest:
    """One validated activation: ``cid`` is the environment, ``caid`` the variation group."""

    env_id: str
    visitor_id: str
    variation_group_id: str
    variation_id: str
    anonymous_id: str | None = None
    queue_time_ms: int = 0

    def to_activation(self, now: float | None = None) -> ServedActivation:
        """The activation to track, carrying ``env_id`` (the request's ``cid``)."""
        now = time.time() if now is None else now
        return ServedActivation(
            visitor_id=self.visitor_id,
            variation_group_id=self.variation_group_id,
            variation_id=self.variation_id,
            anonymous_id=self.anonymous_id,
            created_at=now - self.queue_time_ms / 1000.0,
            env_id=self.env_id,
        )


def _is_count(value: Any) -> bool:
    """A non-negative integer; JSON may write it ``12.0`` and ``1e400`` reads as infinity."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    if isinstance(value, float) and not (math.isfinite(value) and value.is_integer()):
        return False
    return value >= 0


def activation_error(errors: Mapping[str, str]) -> ApiError:
    """GO's validation error: ``message`` holds ``{"status":"error","errors":{...}}`` as text."""
    inner = json.dumps({"status": "error", "errors": dict(errors)}, separators=(",", ":"))
    return ApiError(400, inner, {"message": inner})


def _activation_item(
    data: Any,
    served: Mapping[str, Any],
    *,
    allowed: Mapping[str, str],
    required: tuple[str, ...] = _ACTIVATION_REQUIRED,
    prefix: str = "",
) -> ActivationRequest:
    if not isinstance(data, Mapping):
        raise activation_error({prefix.rstrip(".") or "body": "Must be an object."})
    errors: dict[str, str] = {}
    for name, value in data.items():
        kind = allowed.get(name)
        if kind is None:
            errors[prefix + name] = "Unknown field."
        elif value is None:
            continue
        elif kind is _STR and not isinstance(value, str):
            errors[prefix + name] = "Must be a string."
        elif kind is _BOOL and not isinstance(value, bool):
            errors[prefix + name] = "Must be a boolean."
        elif kind == "an integer" and not _is_count(value):
            errors[prefix + name] = "Must be a non-negative integer."
    for name in required:
        if prefix + name not in errors and not data.get(name):
            errors[prefix + name] = "Field is mandatory."
    cid = data.get("cid")
    if isinstance(cid, str) and cid and cid not in served:
        errors[prefix + "cid"] = "Invalid cid."
    if errors:
        raise activation_error(errors)
    return ActivationRequest(
        env_id=data.get("cid", ""),
        visitor_id=data["vid"],
        variation_group_id=data["caid"],
        variation_id=data["vaid"],
        anonymous_id=data.get("aid") or None,
        queue_time_ms=min(int(data.get("qt") or 0), _MAX_QUEUE_TIME_MS),
    )


def parse_activation_v1(data: Any, served: Mapping[str, Any]) -> ActivationRequest:
    """The v1 body ``{vid, cid, caid, vaid}``, every field required."""
    allowed = dict.fromkeys(("vid", "cid", "caid", "vaid"), _STR)
    return _activation_item(data, served, allowed=allowed)


def parse_activations_v2(data: Any, served: Mapping[str, Any]) -> list[ActivationRequest]:
    """A single activation object, or ``{cid, batch: [...]}`` (protocol 1.6).

    The envelope's ``cid`` is copied into every item, as GO does.
    """
    if not isinstance(data, Mapping):
        raise activation_error({"body": "Must be an object."})
    if "batch" not in data:
        return [_activation_item(data, served, allowed=_ACTIVATION_FIELDS)]
    unknown = {name: "Unknown field." for name in data if name not in ("cid", "batch")}
    batch = data.get("batch")
    cid = data.get("cid")
    if not isinstance(cid, str) or not cid:
        unknown["cid"] = "Field is mandatory." if not cid else "Must be a string."
    elif cid not in served:
        unknown["cid"] = "Invalid cid."
    if not isinstance(batch, list) or not batch:
        unknown["batch"] = "Must be a non-empty list."
    if unknown:
        raise activation_error(unknown)
    # Both checked above.
    assert isinstance(cid, str)
    assert isinstance(batch, list)
    items = []
    errors: dict[str, str] = {}
    for position, item in enumerate(batch):
        try:
            parsed = _activation_item(
                item,
                served,
                allowed=_ACTIVATION_FIELDS,
                required=("vid", "caid", "vaid"),
                prefix=f"batch[{position}].",
            )
        except ApiError as exc:
            errors.update(json.loads(exc.message)["errors"])
            continue
        items.append(
            ActivationRequest(
                env_id=cid,
                visitor_id=parsed.visitor_id,
                variation_group_id=parsed.variation_group_id,
                variation_id=parsed.variation_id,
                anonymous_id=parsed.anonymous_id,
                queue_time_ms=parsed.queue_time_ms,
            )
        )
    if errors:
        raise activation_error(errors)
    return items


# -- where the server's activations and hits go ----------------------------------
#
# The server receives activations and decides for every served environment,
# but the app has one tracker, built for FLAGSHIP_ENV_ID. With Flagship's
# collector as the sink (whose envelopes carry one cid) every served
# environment, the app's own included, gets a tracker of its own, built from
# the same settings for its env id: what the public endpoints accept waits in
# a queue of its own, so a flood of activations can fill only that queue and
# never drops the site's own hits. Any other sink (memory, log, a custom one)
# gets every item, which carries its env_id: as an attribute, and as "cid"
# in to_payload().


@dataclass(frozen=True, slots=True)
class ServedActivation(Activation):
    """An activation the server received, with the environment it is for.

    ``to_payload()`` starts with ``cid`` (the standalone form), so a log or a
    debug page shows the environment; :meth:`plain` is what goes inside a
    collector envelope, which carries the ``cid`` itself.
    """

    env_id: str = ""

    def to_payload(self, env_id: str | None = None, *, now: float | None = None) -> dict[str, Any]:
        return Activation.to_payload(self, env_id or self.env_id or None, now=now)

    def plain(self) -> Activation:
        return Activation(
            self.visitor_id,
            self.variation_group_id,
            self.variation_id,
            self.anonymous_id,
            created_at=self.created_at,
            id=self.id,
        )


@dataclass(frozen=True, slots=True)
class ServedHit(TrackedHit):
    """A hit the server sends (the context's ``SEGMENT``), with its environment.

    As :class:`ServedActivation`: ``to_payload()`` adds ``cid`` first, and
    :meth:`plain` is the collector's batch child.
    """

    env_id: str = ""

    @classmethod
    def for_env(cls, hit: Hit, visitor_id: str, anonymous_id: str | None, env_id: str) -> ServedHit:
        base = TrackedHit.from_hit(hit, visitor_id, anonymous_id)
        return cls(base.payload, base.visitor_id, base.anonymous_id, env_id=env_id)

    def to_payload(self, *, now: float | None = None) -> dict[str, Any]:
        payload = TrackedHit.to_payload(self, now=now)
        return {"cid": self.env_id, **payload} if self.env_id else payload

    def plain(self) -> TrackedHit:
        return TrackedHit(
            self.payload,
            self.visitor_id,
            self.anonymous_id,
            created_at=self.created_at,
            id=self.id,
        )


def _sends_to_collector(tracker: Any) -> bool:
    """Whether ``tracker`` is the app's built-in collector sink (behind its signals)."""
    if app_conf.tracker:
        return False  # FLAGSHIP_TRACKER: a custom sink
    sink_setting = app_conf.hit_sink
    if not isinstance(sink_setting, str) or sink_setting.strip() not in ("auto", "collector"):
        return False
    return isinstance(getattr(tracker, "sink", None), BackgroundTracker)


class _ServedTrackers:
    """One collector tracker per served environment, the app's own included, built lazily.

    They belong to the app's client: when it is rebuilt (a setting changed,
    ``client.reset()``) they are closed, which flushes them, and built again
    on first use.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._owner: Any = None
        self._trackers: dict[str, Tracker] = {}

    def route(self, env_id: str) -> tuple[Tracker | None, bool]:
        """The tracker for ``env_id``'s items, and whether they go to a collector."""
        app = client.get_client()
        tracker = getattr(app, "tracker", None)
        if tracker is None or not _sends_to_collector(tracker):
            return tracker, False
        config = getattr(app, "config", None)
        if config is None:
            return tracker, True
        stale: list[Tracker] = []
        with self._lock:
            if self._owner is not app:
                stale = list(self._trackers.values())
                self._trackers = {}
                self._owner = app
            own = self._trackers.get(env_id)
            if own is None:
                env_config = copy.copy(config)
                env_config.env_id = env_id
                own = SignalTracker(build_collector_tracker(env_config, served=True))
                self._trackers[env_id] = own
        _close(stale)
        return own, True

    def get(self, env_id: str) -> Tracker | None:
        with self._lock:
            return self._trackers.get(env_id)

    def close(self) -> None:
        with self._lock:
            stale = list(self._trackers.values())
            self._trackers = {}
            self._owner = None
        _close(stale)


def _close(trackers: Iterable[Tracker]) -> None:
    for tracker in trackers:
        try:
            tracker.close()
        except Exception:
            logger.exception("closing the tracker of a served environment failed")


_served_trackers = _ServedTrackers()


def served_tracker(env_id: str) -> Tracker | None:
    """The tracker built for served environment ``env_id``, if one was (collector sink only)."""
    return _served_trackers.get(env_id)


def close_served_trackers() -> None:
    """Flush and close the served environments' own trackers; they are rebuilt on use."""
    _served_trackers.close()


def track_activations(items: Iterable[ActivationRequest], now: float | None = None) -> None:
    """Queue each activation on the tracker of its environment (``cid``)."""
    now = time.time() if now is None else now
    routes: dict[str, tuple[Tracker | None, bool]] = {}
    for item in items:
        try:
            route = routes.get(item.env_id)
            if route is None:
                route = routes[item.env_id] = _served_trackers.route(item.env_id)
            tracker, to_collector = route
            if tracker is None:
                logger.warning("an activation was dropped: the Flagship client has no tracker")
                return
            activation = item.to_activation(now)
            tracker.add_activation(activation.plain() if to_collector else activation)
        except Exception:
            logger.exception("an activation could not be queued")


def track_hit(hit: Hit, visitor_id: str, anonymous_id: str | None, env_id: str) -> None:
    """Queue a hit the server sends for ``env_id`` on that environment's tracker."""
    try:
        tracker, to_collector = _served_trackers.route(env_id)
        if tracker is None:
            return
        if to_collector:
            tracker.add_hit(TrackedHit.from_hit(hit, visitor_id, anonymous_id))
        else:
            tracker.add_hit(ServedHit.for_env(hit, visitor_id, anonymous_id, env_id))
    except Exception:
        logger.exception("a hit could not be queued")
