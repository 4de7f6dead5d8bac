"""``@flag_required``: a view that exists only while a flag is on."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from asgiref.sync import iscoroutinefunction
from django.http import Http404, HttpRequest, HttpResponseBase
from django.shortcuts import redirect

__all__ = ["flag_denied", "flag_required", "request_flags"]

_View = TypeVar("_View", bound=Callable[..., Any])


def flag_denied(key: str, redirect_to: str | None) -> HttpResponseBase:
    """404 (the feature does not exist for this visitor) or a redirect."""
    if redirect_to is None:
        raise Http404(f"flag {key!r} is off")
    return redirect(redirect_to)


def request_flags(request: HttpRequest) -> Any:
    """``request.flags``; a ``RuntimeError`` naming the middleware when it is missing."""
    flags = getattr(request, "flags", None)
    if flags is None:
        raise RuntimeError(
            "flag_required needs request.flags: add "
            "'django_flagship.middleware.FlagshipMiddleware' to MIDDLEWARE"
        )
    return flags


def flag_required(key: str, redirect_to: str | None = None) -> Callable[[_View], _View]:
    """Serve the view only when the boolean flag ``key`` is true for the visitor.

    Otherwise raise ``Http404``, or redirect to ``redirect_to`` (a URL, a URL
    name or anything ``django.shortcuts.redirect`` takes). Works on sync and
    async views; the read activates the flag like any other.
    """

    def decorator(view: _View) -> _View:
        if iscoroutinefunction(view):

            @functools.wraps(view)
            async def async_wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
                if await request_flags(request).aget(key, False):
                    return await view(request, *args, **kwargs)
                return flag_denied(key, redirect_to)

            return async_wrapper  # type: ignore[return-value]

        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            if request_flags(request).get(key, False):
                return view(request, *args, **kwargs)
            return flag_denied(key, redirect_to)

        return wrapper  # type: ignore[return-value]

    return decorator
