"""The visitor's consent to tracking, kept in the session.

A visitor without consent sends no hits and no activations except the consent
hit itself, and the Decision API is told (``visitor_consent``). Record the
choice from a view, typically the one behind a cookie banner::

    from django_flagship.consent import set_consent

    def cookie_choice(request):
        set_consent(request, request.POST.get("analytics") == "yes")
        return redirect("/")

When the session holds no choice, ``FLAGSHIP_CONSENT`` (a callable taking the
request) decides; without it, visitors count as consenting, as in Flagship's
SDKs.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from asgiref.sync import sync_to_async
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest

from .conf import conf

if TYPE_CHECKING:
    from .client import Runtime

__all__ = ["aset_consent", "get_consent", "resolve_consent", "set_consent"]

logger = logging.getLogger("django_flagship")


def _session_key() -> str:
    key: str = conf.value("FLAGSHIP_CONSENT_SESSION_KEY")
    return key


def get_consent(request: HttpRequest, *, session_key: str | None = None) -> bool | None:
    """The choice recorded with :func:`set_consent`, or ``None``.

    ``session_key`` defaults to ``FLAGSHIP_CONSENT_SESSION_KEY``.
    """
    session = getattr(request, "session", None)
    if session is None:
        return None
    value = session.get(_session_key() if session_key is None else session_key)
    return value if isinstance(value, bool) else None


def resolve_consent(request: HttpRequest, rt: Runtime) -> bool:
    """Whether the request's visitor consents to tracking.

    The choice :func:`set_consent` kept in the session wins over
    ``FLAGSHIP_CONSENT``; without either, the visitor consents. A failing
    hook counts as no consent (and is logged).
    """
    consent = get_consent(request, session_key=rt.consent_session_key)
    if consent is not None:
        return consent
    if rt.consent_hook is None:
        return True
    try:
        return bool(rt.consent_hook(request))
    except Exception:
        logger.exception("Flagship: FLAGSHIP_CONSENT failed; assuming no consent")
        return False


def set_consent(request: HttpRequest, consented: bool) -> None:
    """Record the visitor's choice in the session and send the consent hit now.

    Needs ``SessionMiddleware``. The rest of the request, and every later one,
    follows the new choice.
    """
    if not isinstance(consented, bool):
        raise TypeError(f"consented must be True or False, got {type(consented).__name__}")
    session = getattr(request, "session", None)
    if session is None:
        raise ImproperlyConfigured(
            "set_consent() keeps the choice in the session: add "
            "django.contrib.sessions.middleware.SessionMiddleware to MIDDLEWARE"
        )
    session[_session_key()] = consented
    flags: Any = getattr(request, "flags", None)
    if flags is None:
        from .flags import RequestFlags

        flags = RequestFlags(request)
    flags.set_consent(consented)


async def aset_consent(request: HttpRequest, consented: bool) -> None:
    """:func:`set_consent` for async views (the session is read synchronously)."""
    await sync_to_async(set_consent)(request, consented)
