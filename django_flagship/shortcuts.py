"""Flags outside a request: Celery tasks, management commands, scripts.

::

    from django_flagship import flags_for

    @shared_task
    def send_digest(user_id):
        user = User.objects.get(pk=user_id)
        flags = flags_for(user)
        if flags.get("new_digest", False):
            ...
        flags.send_hit(Event("Action Tracking", "digest_sent"))

``flags_for`` returns a :class:`~django_flagship.flags.Flags`, the accessor
``request.flags`` is built on, with the same ``get``, ``info``, ``activate``,
``all`` and ``send_hit`` (and their ``a``-prefixed async forms). A user gets
the variation they get on the site: the visitor id comes from the same rules
(``FLAGSHIP_VISITOR_ID``, else the user's primary key) and, in BUCKETING mode,
the same assignment history in the cache.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from django.http import HttpRequest
from django.utils import translation

from .context import build_context, default_context
from .flags import Flags
from .identity import Identity, resolve_identity

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser
    from django.contrib.auth.models import AnonymousUser

    from .client import Runtime

__all__ = ["UserFlags", "flags_for"]

logger = logging.getLogger("django_flagship")


def bare_request(user: Any) -> HttpRequest:
    """The request the project's hooks see outside a request: no headers, no session.

    It carries ``user`` and the active language, so a ``FLAGSHIP_VISITOR_ID``,
    ``FLAGSHIP_CONTEXT`` or ``FLAGSHIP_CONSENT`` callable that reads the user
    decides as it does on the site.
    """
    request = HttpRequest()
    request.user = user
    language = translation.get_language()
    if language:
        request.LANGUAGE_CODE = language  # type: ignore[attr-defined]
    return request


class UserFlags(Flags):
    """The flags of a user, resolved with the middleware's rules on a :func:`bare_request`."""

    def __init__(
        self,
        user: AbstractBaseUser,
        context: Mapping[str, Any] | None = None,
        *,
        consent: bool | None = None,
    ) -> None:
        super().__init__()
        self._user = user
        self._extra = dict(context or {})
        self._consent = consent

    def _resolve(self, rt: Runtime) -> tuple[Identity, dict[str, Any], bool]:
        request = bare_request(self._user)
        identity = resolve_identity(request, rt)
        try:
            context = build_context(request, rt)
        except Exception:
            logger.exception("Flagship: FLAGSHIP_CONTEXT failed; using the default context")
            context = default_context(request)
        context.update(self._extra)
        consent = self._consent
        if consent is None:
            consent = True
            if rt.consent_hook is not None:
                try:
                    consent = bool(rt.consent_hook(request))
                except Exception:
                    logger.exception("Flagship: FLAGSHIP_CONSENT failed; assuming no consent")
                    consent = False
        return identity, context, consent


def flags_for(
    user: AbstractBaseUser | AnonymousUser | None = None,
    visitor_id: str | None = None,
    context: Mapping[str, Any] | None = None,
    *,
    anonymous_id: str | None = None,
    consent: bool | None = None,
) -> Flags:
    """The flags of ``user``, or of ``visitor_id``, for code running outside a request.

    With ``user`` (an authenticated user) the visitor id and the context come
    from the middleware's rules, and ``context`` adds to or overrides that
    context. With ``visitor_id`` (for instance ``request.flags.visitor_id``
    handed to a task) the context is exactly ``context``. ``consent`` defaults
    to what ``FLAGSHIP_CONSENT`` says for the user, else ``True``.

    Nothing is decided until the first read, and a read never raises.
    """
    if (user is None) == (visitor_id is None):
        raise TypeError("flags_for() takes a user or a visitor_id (exactly one of them)")
    if user is not None:
        if not getattr(user, "is_authenticated", False):
            raise ValueError(
                "flags_for(): an anonymous user has no lasting visitor id; pass the "
                "visitor_id the site used (request.flags.visitor_id)"
            )
        if anonymous_id is not None:
            raise TypeError("flags_for(): anonymous_id goes with visitor_id, not with user")
        return UserFlags(user, context, consent=consent)
    if not isinstance(visitor_id, str) or not visitor_id:
        raise ValueError("flags_for(): visitor_id must be a non-empty string")
    return Flags(
        visitor_id,
        context,
        anonymous_id=anonymous_id,
        consent=True if consent is None else consent,
    )
