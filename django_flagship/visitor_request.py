"""A request for a visitor described on the command line (``flagship_decide``).

To decide exactly as the site does, ``flagship_decide`` builds no context of
its own. It builds a real ``HttpRequest`` carrying what a browser's request
would carry (path, ``User-Agent``, ``Accept-Language``, the session cookie),
runs it through the request phase of the site's own session, authentication
and locale middleware (the ones in ``MIDDLEWARE``, subclasses included), and
hands it to :class:`~django_flagship.flags.RequestFlags`, the code behind
``request.flags``: the visitor id, the context (defaults and
``FLAGSHIP_CONTEXT``), the consent and the session's copy of the assignment
history then come from the same functions as on the site.

Nothing is written: the session is never saved, no cookie is sent.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.core import signing
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory
from django.utils import translation
from django.utils.module_loading import import_string

from .checks.middleware import is_middleware
from .identity import (
    ANONYMOUS_ID_SESSION_KEY,
    COOKIE_SALT,
    LINKED_ID_SESSION_KEY,
    MAX_ID_LENGTH,
    is_usable_id,
)

__all__ = ["RequestError", "VisitorDescription", "build_request", "find_user"]

SESSION_MIDDLEWARE = "django.contrib.sessions.middleware.SessionMiddleware"
AUTH_MIDDLEWARE = "django.contrib.auth.middleware.AuthenticationMiddleware"
LOCALE_MIDDLEWARE = "django.middleware.locale.LocaleMiddleware"


class RequestError(ValueError):
    """The description cannot be a request this site receives; the message says why."""


@dataclass(frozen=True, slots=True)
class VisitorDescription:
    """What the request carries. ``user`` is a user instance, or ``None``."""

    visitor_id: str | None = None
    anonymous_id: str | None = None
    user: Any = None
    anonymous: bool = False
    session_key: str | None = None
    user_agent: str | None = None
    accept_language: str | None = None
    path: str = "/"


def find_user(text: str) -> Any:
    """The user whose primary key or username (``USERNAME_FIELD``) is ``text``.

    The primary key is tried first: ``--user 42`` is the user with pk 42 even
    if another user is named "42".
    """
    model = get_user_model()
    manager = model._default_manager
    try:
        pk = model._meta.pk.to_python(text)
    except (ValidationError, ValueError, TypeError):
        pk = None
    if pk is not None:
        user = manager.filter(pk=pk).first()
        if user is not None:
            return user
    lookup: dict[str, Any] = {str(model.USERNAME_FIELD): text}
    user = manager.filter(**lookup).first()
    if user is None:
        raise RequestError(f"no user has the primary key or the {model.USERNAME_FIELD} {text!r}")
    return user


def _site_middleware(wanted: str) -> Any:
    """The site's instance of ``wanted`` (or of its subclass), or ``None``."""
    for path in getattr(settings, "MIDDLEWARE", None) or []:
        if is_middleware(path, wanted):
            # Only its request phase runs: the response callable is never called.
            return import_string(path)(lambda request: HttpResponse())
    return None


def _usable_id(option: str, value: str) -> str:
    if not is_usable_id(value):
        raise RequestError(f"{option} must be 1 to {MAX_ID_LENGTH} characters")
    return value


def build_request(description: VisitorDescription, *, cookie_name: str) -> HttpRequest:
    """A GET request as the site's middleware would hand it to ``RequestFlags``.

    ``cookie_name`` is ``FLAGSHIP_COOKIE_NAME``, where a site without sessions
    keeps the anonymous id. Raises :class:`RequestError` for a description no
    request to this site could match (``--user`` without an authentication
    middleware, an unknown session...).
    """
    d = description
    headers: dict[str, str] = {}
    if d.user_agent is not None:
        headers["User-Agent"] = d.user_agent
    if d.accept_language is not None:
        headers["Accept-Language"] = d.accept_language
    request = RequestFactory().get(d.path or "/", headers=headers)
    sessions = _site_middleware(SESSION_MIDDLEWARE)
    auth = _site_middleware(AUTH_MIDDLEWARE) if sessions is not None else None
    if d.session_key is not None:
        if sessions is None:
            raise RequestError("--session: the site has no SessionMiddleware in MIDDLEWARE")
        request.COOKIES[settings.SESSION_COOKIE_NAME] = d.session_key
    if sessions is not None:
        sessions.process_request(request)
        if d.session_key is not None and not list(request.session.keys()):
            raise RequestError(
                f"--session: the session store has no session {d.session_key!r} "
                "(expired, logged out, or not the value of the session cookie)"
            )
    if auth is not None:
        auth.process_request(request)
    _set_user(request, d, has_auth=auth is not None)
    _set_ids(request, d, cookie_name=cookie_name, has_sessions=sessions is not None)
    locale = _site_middleware(LOCALE_MIDDLEWARE)
    if locale is not None:
        # It activates the request's language for the thread: only for this call.
        with translation.override(None):
            locale.process_request(request)
    return request


def _session_user(request: HttpRequest) -> Any:
    user = getattr(request, "user", None)
    return user if user is not None and user.is_authenticated else None


def _set_user(request: HttpRequest, d: VisitorDescription, *, has_auth: bool) -> None:
    logged_in = _session_user(request) if d.session_key is not None else None
    if d.user is not None:
        if not has_auth:
            raise RequestError(
                "--user: the site has no AuthenticationMiddleware in MIDDLEWARE, so its "
                "requests have no user"
            )
        if logged_in is not None and logged_in.pk != d.user.pk:
            raise RequestError(
                f"--session {d.session_key!r} is logged in as another user (pk {logged_in.pk})"
            )
        request.user = d.user
    elif d.anonymous:
        if logged_in is not None:
            raise RequestError(
                f"--anonymous: session {d.session_key!r} is logged in (user pk {logged_in.pk})"
            )
        if has_auth:
            request.user = AnonymousUser()


def _set_ids(
    request: HttpRequest, d: VisitorDescription, *, cookie_name: str, has_sessions: bool
) -> None:
    """Put the anonymous id where the site keeps it: the session, else the signed cookie."""
    stored = _usable_id("--visitor", d.visitor_id) if d.visitor_id is not None else None
    if d.anonymous_id is not None:
        stored = _usable_id("--anonymous-id", d.anonymous_id)
    if stored is None:
        return
    if has_sessions and d.user is not None:
        # The id carried over when the user logged in (django_flagship.continuity).
        linked = [str(d.user.pk), stored]
        request.session[LINKED_ID_SESSION_KEY] = linked
    elif has_sessions:
        request.session[ANONYMOUS_ID_SESSION_KEY] = stored
    else:
        request.COOKIES[cookie_name] = _signer(cookie_name)(stored)


def _signer(cookie_name: str) -> Callable[[str], str]:
    # HttpResponse.set_signed_cookie signs with this signer and salt.
    return signing.get_cookie_signer(salt=cookie_name + COOKIE_SALT).sign
