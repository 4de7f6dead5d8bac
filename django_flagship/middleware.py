"""``FlagshipMiddleware``: attaches ``request.flags`` (sync and async).

Place it after ``SessionMiddleware`` and ``AuthenticationMiddleware``. It does
no work of its own until a view or template reads a flag. When flags were read,
the response gets ``Vary: Cookie`` (``FLAGSHIP_VARY_HEADERS``), so that a
shared cache never hands one visitor's variation to another.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, cast

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.conf import settings
from django.http import HttpRequest, HttpResponseBase
from django.utils.cache import patch_vary_headers

from .client import runtime
from .flags import RequestFlags
from .identity import COOKIE_SALT
from .sinks import send_page_hit

__all__ = ["FlagshipMiddleware"]


class FlagshipMiddleware:
    sync_capable = True
    async_capable = True

    def __init__(
        self,
        get_response: Callable[[HttpRequest], HttpResponseBase]
        | Callable[[HttpRequest], Awaitable[HttpResponseBase]],
    ) -> None:
        self.get_response = get_response
        self.async_mode = iscoroutinefunction(get_response)
        if self.async_mode:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        if self.async_mode:
            return self.__acall__(request)
        flags = RequestFlags(request)
        request.flags = flags  # type: ignore[attr-defined]
        # In sync mode get_response is the synchronous one.
        response = cast(HttpResponseBase, self.get_response(request))
        if runtime().auto_page_hits:
            send_page_hit(request, flags, response)
        return finish_response(flags, response)

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        flags = RequestFlags(request)
        request.flags = flags  # type: ignore[attr-defined]
        response = await cast("Awaitable[HttpResponseBase]", self.get_response(request))
        if runtime().auto_page_hits:  # resolving the visitor may read the session: a thread
            await sync_to_async(send_page_hit)(request, flags, response)
        return finish_response(flags, response)


def finish_response(flags: RequestFlags, response: HttpResponseBase) -> HttpResponseBase:
    """Add ``Vary`` and the anonymous-id cookie when the response used flags."""
    if not flags.used:
        return response
    rt = flags.runtime
    if rt is None:
        return response
    if rt.vary_headers:
        if response.has_header("Vary"):
            patch_vary_headers(response, rt.vary_headers)
        else:
            response.headers["Vary"] = rt.vary_value
    new_cookie = flags.new_cookie
    if new_cookie:
        response.set_signed_cookie(
            rt.cookie_name,
            new_cookie,
            salt=COOKIE_SALT,
            max_age=int(rt.cookie_age),
            secure=settings.SESSION_COOKIE_SECURE,
            httponly=True,
            samesite=settings.SESSION_COOKIE_SAMESITE,
            domain=settings.SESSION_COOKIE_DOMAIN,
            path=settings.SESSION_COOKIE_PATH,
        )
    return response
