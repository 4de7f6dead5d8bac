"""The rules a visitor context obeys (protocol section 5)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from .constants import RESERVED_CONTEXT_KEYS

__all__ = ["ContextError", "check_context_item", "normalize_context_update"]


class ContextError(ValueError):
    """A context key or value was refused."""


def check_context_item(key: Any, value: Any) -> None:
    """Raise :class:`ContextError` naming ``key`` when the pair is not allowed."""
    if not isinstance(key, str) or not key:
        raise ContextError(f"context key {key!r} refused: keys must be non-empty strings")
    if key in RESERVED_CONTEXT_KEYS:
        raise ContextError(f"context key {key!r} refused: it is reserved by the SDK")
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        raise ContextError(f"context key {key!r} refused: {value!r} is not a finite number")
    if not isinstance(value, (str, bool, int, float)):
        raise ContextError(
            f"context key {key!r} refused: values must be str, int, float or bool, "
            f"got {type(value).__name__}"
        )


def normalize_context_update(update: Any) -> list[tuple[Any, Any]]:
    """Turn the seed's ``(key, value)`` tuple or ``{key: value}`` dict into pairs."""
    if isinstance(update, Mapping):
        return list(update.items())
    if isinstance(update, tuple) and len(update) == 2:
        return [update]
    raise ContextError(
        f"context must be a (key, value) tuple or a dict, got {type(update).__name__}"
    )
