"""Campaigns requests, parsed: the body (v1 and v2 alike), the GET query, the flags.

Names follow protojson, as Flagship's server reads them: each field by its
proto name or its lowerCamelCase JSON name, ``null`` as absent; an unknown
field, a field given twice or a value of the wrong type is a 400 naming it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeGuard
from urllib.parse import urlsplit

from ..sdk.context import MAX_CONTEXT_LIST_ITEMS
from .wire import ApiError, loads_json

__all__ = [
    "BOOLEAN",
    "MODES",
    "OBJECT",
    "STRING",
    "DecisionRequest",
    "is_http_url",
    "parse_decision_query",
    "parse_decision_request",
    "parse_flag",
    "parse_mode",
]

#: Response shapes of the campaigns endpoints (query ``mode``).
MODES = ("normal", "simple", "full")

#: The kinds of a request field, named as the 400 of a wrong value names them.
STRING, BOOLEAN, OBJECT = "a string", "a boolean", "an object"

# canonical (snake_case) name -> expected kind. protojson accepts both the proto
# name and its lowerCamelCase JSON name; anything else is an unknown field.
_DECISION_FIELDS: dict[str, str] = {
    "visitor_id": STRING,
    "anonymous_id": STRING,
    "decision_group": STRING,
    "trigger_hit": BOOLEAN,
    "activate": BOOLEAN,
    "format_response": BOOLEAN,
    "context": OBJECT,
    "visitor_consent": BOOLEAN,
    "client_id": STRING,
    "campaign_id": STRING,
    "default_redirect_url": STRING,
    "custom_visitor_id": STRING,
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
            if kind is STRING
            else isinstance(value, bool)
            if kind is BOOLEAN
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
        if kind is BOOLEAN:
            value: Any = parse_flag(canonical, raw)
        elif kind is OBJECT:
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
