"""What the Django template tags and the Jinja2 globals share."""

from __future__ import annotations

import logging
from typing import Any

from .flags import Flags, typed
from .log import warn_rarely

__all__ = ["flag_matches", "read_flag"]

logger = logging.getLogger("django_flagship")


def _flags_of(request: Any, where: str) -> Flags | None:
    if request is None:
        warn_rarely(
            f"no-request:{where}",
            "Flagship: %s has no request in its template context, so it serves the "
            "default. Render with a request (render(request, ...)) and enable the "
            "'django.template.context_processors.request' context processor.",
            where,
        )
        return None
    flags = getattr(request, "flags", None)
    if not isinstance(flags, Flags):
        warn_rarely(
            f"no-flags:{where}",
            "Flagship: %s found no request.flags, so it serves the default. "
            "Add 'django_flagship.middleware.FlagshipMiddleware' to MIDDLEWARE.",
            where,
        )
        return None
    return flags


def read_flag(request: Any, key: Any, default: Any, *, where: str) -> Any:
    """``request.flags.get(key, default)``, or the default without a request."""
    flags = getattr(request, "flags", None)
    if isinstance(flags, Flags):  # the common case, first: a tag's read costs a get
        return flags.get(key, default) if isinstance(key, str) else default
    _flags_of(request, where)  # warns
    return default


def flag_matches(request: Any, key: Any, value: Any = True, *, where: str) -> bool:
    """True when the flag exists, has ``value``'s type, and equals it."""
    flags = getattr(request, "flags", None)
    if not isinstance(flags, Flags):
        _flags_of(request, where)  # warns
        return False
    if not isinstance(key, str):
        return False
    raw = flags.get(key, None)
    if raw is None:
        return False
    if raw.__class__ is value.__class__:
        return bool(raw == value)
    typed_raw, matched = typed(raw, value)
    return matched and typed_raw == value
