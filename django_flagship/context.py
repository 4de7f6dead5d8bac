"""The visitor context built from the request, for targeting.

The default holds nothing personal: whether the visitor is authenticated,
staff or superuser, the names of their groups (a list, so that a campaign can
target ``groups CONTAINS "beta-testers"``; ``FLAGSHIP_CONTEXT_GROUPS = False``
leaves it out), their language, and a device type guessed from the user
agent. No IP address, email or user id: a project that wants them adds them
in its ``FLAGSHIP_CONTEXT`` callable, whose values win over the defaults.

The groups cost one query per request that reads flags, for an authenticated
user only (none when they were prefetched); the answer is kept on the request.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.signals import setting_changed
from django.db import DatabaseError
from django.dispatch import receiver
from django.http import HttpRequest
from django.utils import translation

from .identity import request_user
from .sdk.context import MAX_CONTEXT_LIST_ITEMS, ContextError, SharedContext

if TYPE_CHECKING:
    from .client import Runtime

__all__ = ["build_context", "default_context", "device_type", "group_names", "visitor_context"]

logger = logging.getLogger("django_flagship")

_BOT = re.compile(r"bot\b|crawl|spider|slurp|bingpreview|facebookexternalhit|headless", re.I)
_TABLET = re.compile(r"ipad|tablet|kindle|silk/|playbook|android(?!.*mobile)", re.I)
_MOBILE = re.compile(
    r"mobi|iphone|ipod|android.*mobile|windows phone|blackberry|opera mini|iemobile", re.I
)


@functools.lru_cache(maxsize=2048)
def device_type(user_agent: str) -> str:
    """``"bot"``, ``"tablet"``, ``"mobile"``, ``"desktop"``, or ``"unknown"`` without one."""
    # Cached: a site sees the same few hundred user agents over and over.
    if not user_agent:
        return "unknown"
    if _BOT.search(user_agent):
        return "bot"
    if _TABLET.search(user_agent):
        return "tablet"
    if _MOBILE.search(user_agent):
        return "mobile"
    return "desktop"


def _language_question(cookie: str | None, accept: str) -> HttpRequest:
    """A request holding only what ``get_language_from_request`` reads (without the path)."""
    question = HttpRequest()
    if cookie is not None:
        question.COOKIES[settings.LANGUAGE_COOKIE_NAME] = cookie
    question.META["HTTP_ACCEPT_LANGUAGE"] = accept
    return question


@functools.lru_cache(maxsize=512)
def _language_for(cookie: str | None, accept: str) -> str | None:
    # Django parses the header and looks for translations each time; a site
    # sees few distinct headers, so the answers are remembered (and forgotten
    # when settings change, see below).
    return translation.get_language_from_request(_language_question(cookie, accept)) or None


@receiver(setting_changed)
def _forget_languages(**kwargs: Any) -> None:
    _language_for.cache_clear()


def _language(request: HttpRequest) -> str | None:
    # LocaleMiddleware has decided already; otherwise read the language cookie
    # and Accept-Language, as Django does.
    language = getattr(request, "LANGUAGE_CODE", None)
    if language:
        return language
    return _language_for(
        request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME),
        request.META.get("HTTP_ACCEPT_LANGUAGE", ""),
    )


#: Where the user's group names are kept for the rest of the request.
_GROUPS_ATTRIBUTE = "_flagship_group_names"
_warned_groups = False


def group_names(request: HttpRequest, user: Any) -> tuple[str, ...] | None:
    """The names of ``user``'s groups, sorted; ``None`` when there is no such list.

    One query, once per request and user; none for a user whose groups were
    prefetched. A user model without ``groups``, a failing query or more
    groups than a context list holds gives ``None``: the key is left out.
    """
    cached = getattr(request, _GROUPS_ATTRIBUTE, None)
    if cached is not None and cached[0] is user:
        return cached[1]
    names = _read_group_names(user)
    setattr(request, _GROUPS_ATTRIBUTE, (user, names))
    return names


def _read_group_names(user: Any) -> tuple[str, ...] | None:
    global _warned_groups
    manager = getattr(user, "groups", None)
    if manager is None:
        return None
    try:
        prefetched = getattr(user, "_prefetched_objects_cache", {}).get("groups")
        if prefetched is not None:
            names = [group.name for group in prefetched]
        else:
            names = list(manager.values_list("name", flat=True)[: MAX_CONTEXT_LIST_ITEMS + 1])
    except DatabaseError:
        logger.exception("Flagship: the user's groups could not be read; 'groups' is left out")
        return None
    if len(names) > MAX_CONTEXT_LIST_ITEMS:
        if not _warned_groups:
            _warned_groups = True
            logger.warning(
                "Flagship: a user is in more than %d groups, more than a context list holds; "
                "'groups' is left out of their context",
                MAX_CONTEXT_LIST_ITEMS,
            )
        return None
    return tuple(sorted(names))


#: What the default context is made of, in order; ``None`` for a key left out.
_DefaultValues = tuple[bool, bool, bool, str, tuple[str, ...] | None, str | None]


def _default_values(request: HttpRequest, groups: bool) -> _DefaultValues:
    user = request_user(request)
    authenticated = bool(user is not None and user.is_authenticated)
    return (
        authenticated,
        authenticated and bool(getattr(user, "is_staff", False)),
        authenticated and bool(getattr(user, "is_superuser", False)),
        device_type(request.META.get("HTTP_USER_AGENT", "")),
        (group_names(request, user) if authenticated else ()) if groups else None,
        _language(request) or None,
    )


def _context_of(values: _DefaultValues) -> dict[str, Any]:
    authenticated, staff, superuser, device, groups, language = values
    context: dict[str, Any] = {
        "is_authenticated": authenticated,
        "is_staff": staff,
        "is_superuser": superuser,
        "device_type": device,
    }
    if groups is not None:
        context["groups"] = groups
    if language is not None:
        context["language"] = language
    return context


@functools.lru_cache(maxsize=1024)
def _shared_context(values: _DefaultValues) -> SharedContext:
    # Most requests come from anonymous visitors, who share a few contexts
    # (device type by language): each is checked and keyed once.
    return SharedContext(_context_of(values))


def default_context(request: HttpRequest, *, groups: bool = True) -> dict[str, Any]:
    """Targeting keys every project gets (see the module docstring)."""
    return _context_of(_default_values(request, groups))


def build_context(request: HttpRequest, runtime: Runtime) -> dict[str, Any]:
    """The default context updated with the project's ``FLAGSHIP_CONTEXT``."""
    context = default_context(request, groups=runtime.context_groups)
    extra = _hook_context(request, runtime)
    if extra is not None:
        context.update(extra)
    return context


def visitor_context(request: HttpRequest, runtime: Runtime) -> Mapping[str, Any]:
    """:func:`build_context` as the request's visitor is created with it.

    Without a ``FLAGSHIP_CONTEXT`` (or when it returns ``None``), a
    :class:`~.sdk.context.SharedContext` shared with every request of the same
    default context: read-only, checked and keyed once. A default context
    the visitor would refuse a pair of comes back as a plain dict.
    """
    values = _default_values(request, runtime.context_groups)
    extra = _hook_context(request, runtime)
    if extra is None:
        try:
            return _shared_context(values)
        except (ContextError, TypeError):  # refused, or unhashable: the visitor checks
            return _context_of(values)  # it and logs each refused pair
    context = _context_of(values)
    context.update(extra)
    return context


def _hook_context(request: HttpRequest, runtime: Runtime) -> Mapping[str, Any] | None:
    if runtime.context_hook is None:
        return None
    extra = runtime.context_hook(request)
    if extra is not None and not isinstance(extra, Mapping):
        raise TypeError(f"FLAGSHIP_CONTEXT must return a dict, got {type(extra).__name__}")
    return extra
