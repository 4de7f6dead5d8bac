"""The fields of a hit: their types, and the rule each value must follow.

:meth:`~.hits.Hit.validate` applies these rules, so that a hit the collector
would refuse is refused here, naming its first bad field; the values are then
written in the collector's form (:func:`wire_value`, :func:`segment_text`).
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from enum import Enum
from typing import Any
from urllib.parse import urlsplit

from .context import MAX_CONTEXT_LIST_ITEMS
from .go_text import format_float

__all__ = [
    "EventCategory",
    "HitType",
    "InvalidHitError",
    "Rule",
    "category_problem",
    "context_problem",
    "count_problem",
    "currency_problem",
    "ip_address_problem",
    "is_absolute_url",
    "money_problem",
    "segment_text",
    "shown",
    "text_rule",
    "type_name",
    "wire_value",
]

_INT64_MAX = 2**63 - 1
_CURRENCY = re.compile(r"[A-Z]{3}")


class InvalidHitError(ValueError):
    """A hit or activation that must not be sent; ``field`` is the wire name."""

    def __init__(self, kind: str, field: str, problem: str) -> None:
        self.kind = kind
        self.field = field
        self.problem = problem
        super().__init__(f"{kind}: field '{field}' {problem}")


class HitType(str, Enum):
    """Value of the ``t`` field."""

    PAGEVIEW = "PAGEVIEW"
    SCREENVIEW = "SCREENVIEW"
    EVENT = "EVENT"
    TRANSACTION = "TRANSACTION"
    ITEM = "ITEM"
    SEGMENT = "SEGMENT"


class EventCategory(str, Enum):
    """The two categories the collector accepts for ``ec``."""

    ACTION_TRACKING = "Action Tracking"
    USER_ENGAGEMENT = "User Engagement"


# --- field rules -------------------------------------------------------------
# Each rule returns None when the value is acceptable, else the problem, worded
# to follow "field 'x' ...".

Rule = Callable[[Any], "str | None"]


def type_name(value: Any) -> str:
    return type(value).__name__


def shown(value: Any, limit: int = 80) -> str:
    """``repr`` cut to ``limit`` characters, so messages stay one short line."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def text_rule(max_bytes: int) -> Rule:
    def rule(value: Any) -> str | None:
        if not isinstance(value, str):
            return f"must be a str, got {type_name(value)}"
        if not value.strip():
            return "must not be empty"
        size = len(value.encode("utf-8"))
        if size > max_bytes:
            return f"must be at most {max_bytes} bytes in UTF-8, got {size}"
        return None

    return rule


def is_absolute_url(value: Any) -> bool:
    """Whether ``value`` is a URL with a scheme and a host: what a ``PAGEVIEW``'s ``dl`` holds."""
    if not isinstance(value, str):
        return False
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return bool(parts.scheme and parts.netloc)


def currency_problem(value: Any) -> str | None:
    if not isinstance(value, str):
        return f"must be a str, got {type_name(value)}"
    if not _CURRENCY.fullmatch(value):
        return f"must be an ISO 4217 code of 3 uppercase letters, got {shown(value)}"
    return None


def ip_address_problem(value: Any) -> str | None:
    if not isinstance(value, str):
        return f"must be a str, got {type_name(value)}"
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return f"must be an IPv4 or IPv6 address, got {shown(value)}"
    return None


def money_problem(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return f"must be a number (int, float or Decimal), got {type_name(value)}"
    # Whatever is sent must survive the trip through a JSON float.
    finite = not isinstance(value, Decimal) or value.is_finite()
    if finite:
        try:
            finite = math.isfinite(float(value))
        except OverflowError:
            finite = False
    if not finite:
        return f"must be a finite number, got {shown(value)}"
    if value < 0:
        return f"must not be negative, got {shown(value)}"
    return None


def count_problem(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return f"must be an int, got {type_name(value)}"
    if value < 0:
        return f"must not be negative, got {shown(value)}"
    if value > _INT64_MAX:
        return "must fit in a signed 64-bit integer"
    return None


def category_problem(value: Any) -> str | None:
    if not isinstance(value, EventCategory):
        allowed = ", ".join(repr(c.value) for c in EventCategory)
        return f"must be an EventCategory ({allowed}), got {shown(value)}"
    return None


def _scalar_context_problem(key: Any, item: Any) -> str | None:
    if not isinstance(item, str | int | float):  # bool is an int subclass
        return (
            f"value for {shown(key)} must be a str, number, bool or a list of those, "
            f"got {type_name(item)}"
        )
    if isinstance(item, float) and not math.isfinite(item):
        return f"value for {shown(key)} must be finite, got {shown(item)}"
    return None


def context_problem(value: Any) -> str | None:
    if not isinstance(value, Mapping):
        return f"must be a mapping, got {type_name(value)}"
    for key, item in value.items():
        if not isinstance(key, str) or not key:
            return f"must have non-empty str keys, got {shown(key)}"
        if isinstance(item, list | tuple):
            if len(item) > MAX_CONTEXT_LIST_ITEMS:
                return (
                    f"value for {shown(key)} must be a list of at most "
                    f"{MAX_CONTEXT_LIST_ITEMS} values, got {len(item)}"
                )
            for element in item:
                problem = _scalar_context_problem(key, element)
                if problem is not None:
                    return problem
            continue
        problem = _scalar_context_problem(key, item)
        if problem is not None:
            return problem
    return None


def segment_text(value: str | int | float | list[Any] | tuple[Any, ...]) -> str:
    # Lowercase booleans, as the Decision API server writes them; the official
    # Python SDK 3.0.1 uses str() and sends "True". A list is written as the
    # server's Go %v writes one: "[beta news]", "[1 2.5 true]". A number is a
    # float64 there, so 31.0 is "31" and 1234567 is "1.234567e+06".
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        try:
            return format_float(float(value))
        except OverflowError:  # an int beyond float64, which JSON could not carry either
            return str(value)
    if isinstance(value, list | tuple):
        return "[" + " ".join(segment_text(item) for item in value) + "]"
    return str(value)


def wire_value(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal):
        return float(value)
    return value


# --- hits --------------------------------------------------------------------
