"""``FlagshipMiddleware`` is installed, after the session and auth middleware (W002, E009)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage
from django.utils.module_loading import import_string

from .messages import error, warning

__all__ = ["MIDDLEWARE_PATH", "check_middleware", "is_middleware"]

MIDDLEWARE_PATH = "django_flagship.middleware.FlagshipMiddleware"
_MUST_COME_AFTER = (
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
)


def is_middleware(path: Any, wanted: str) -> bool:
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
        (i for i, path in enumerate(middleware) if is_middleware(path, MIDDLEWARE_PATH)), None
    )
    if position is None:
        return [
            warning(
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
        if any(is_middleware(path, required) for path in middleware[position + 1 :]):
            errors.append(
                error(
                    9,
                    f"FlagshipMiddleware comes before {required.rsplit('.', 1)[-1]} in "
                    "MIDDLEWARE, so it cannot see the session or the user.",
                    f"Move {MIDDLEWARE_PATH!r} after {required!r}.",
                )
            )
    return errors
