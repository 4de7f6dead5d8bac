"""``FlagRequiredMixin``: ``@flag_required`` for class-based views."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest

from .decorators import flag_denied, request_flags

__all__ = ["FlagRequiredMixin"]


class FlagRequiredMixin:
    """Serve the view only while the boolean flag ``flag_key`` is true.

    Set ``flag_redirect_to`` to redirect instead of answering 404. Put the
    mixin first in the bases, before the view class. Async views (``async def
    get``) are supported.
    """

    flag_key: str | None = None
    flag_redirect_to: str | None = None

    def get_flag_key(self) -> str:
        if not self.flag_key:
            raise ImproperlyConfigured(f"{type(self).__name__} needs a flag_key")
        return self.flag_key

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        key = self.get_flag_key()
        parent = super().dispatch  # type: ignore[misc]
        if getattr(self, "view_is_async", False):

            async def checked() -> Any:
                if await request_flags(request).aget(key, False):
                    return await parent(request, *args, **kwargs)
                return flag_denied(key, self.flag_redirect_to)

            return checked()
        if request_flags(request).get(key, False):
            return parent(request, *args, **kwargs)
        return flag_denied(key, self.flag_redirect_to)
