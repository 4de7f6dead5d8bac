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
``request.flags`` is built on (for a user, a ``RequestFlags`` like
``request.flags`` itself), with the same ``get``, ``info``, ``activate``,
``all`` and ``send_hit`` (and their ``a``-prefixed async forms). A user gets
the variation they get on the site: the visitor id comes from the same rules
(``FLAGSHIP_VISITOR_ID``, else the user's primary key) and, in BUCKETING mode,
the same assignment history in the cache.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, cast

from django.http import HttpRequest
from django.utils import translation

from .flags import Flags, RequestFlags
from .identity import Identity

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser
    from django.contrib.auth.models import AnonymousUser

    from .client import Runtime

__all__ = ["UserFlags", "bare_request", "flags_for"]


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
        request.LANGUAGE_CODE = language
    return request


class UserFlags(RequestFlags):
    """A user's flags: ``request.flags`` on a :func:`bare_request`, plus extra context.

    Subclassing :class:`RequestFlags` keeps the rules in one place: the
    visitor id, the context and the consent come from the very code the
    middleware runs.
    """

    def __init__(
        self,
        user: AbstractBaseUser,
        context: Mapping[str, Any] | None = None,
        *,
        consent: bool | None = None,
    ) -> None:
        super().__init__(bare_request(user))
        self._extra = dict(context or {})
        self._consent = consent

    def _resolve(self, rt: Runtime) -> tuple[Identity, Mapping[str, Any], bool]:
        identity, context, consent = super()._resolve(rt)
        if self._extra:  # the request's context may be shared: never changed in place
            context = {**context, **self._extra}
        return identity, context, consent if self._consent is None else self._consent


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
        # Authenticated, so not an AnonymousUser.
        return UserFlags(cast("AbstractBaseUser", user), context, consent=consent)
    if not isinstance(visitor_id, str) or not visitor_id:
        raise ValueError("flags_for(): visitor_id must be a non-empty string")
    return Flags(
        visitor_id,
        context,
        anonymous_id=anonymous_id,
        consent=True if consent is None else consent,
    )
