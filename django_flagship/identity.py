"""Who the visitor is: the ids flags are decided for.

* An authenticated user is their primary key (``str(user.pk)``).
* An anonymous visitor gets a random id, created on the first flag read and
  kept in the session, or, when the request has no session, in a signed
  cookie (``FLAGSHIP_COOKIE_NAME``).
* When that visitor logs in, the id the session held becomes the user's
  *anonymous id*, next to the user's id: Flagship's experience continuity
  (the Decision API receives both; in bucketing mode the anonymous visitor's
  assignments are copied to the user, see :mod:`django_flagship.flags`). Only
  an id the session held when the user logged in, and that no other account
  has taken, is carried over (see :mod:`django_flagship.continuity`).
* ``logout()`` flushes the session: the next visitor is a new anonymous one,
  which is what a shared computer needs.

``FLAGSHIP_VISITOR_ID`` replaces the rules: a callable taking the request and
returning the visitor id, a ``(visitor_id, anonymous_id)`` pair, or ``None``
to fall back to the rules above.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject, empty

from .sdk.remembering import remembering

if TYPE_CHECKING:
    from .client import Runtime

__all__ = [
    "ANONYMOUS_ID_SESSION_KEY",
    "COOKIE_SALT",
    "LINKED_ID_SESSION_KEY",
    "Identity",
    "existing_identity",
    "request_user",
    "resolve_identity",
]

#: The session key holding an anonymous visitor's id.
ANONYMOUS_ID_SESSION_KEY = "_flagship_anonymous_id"
#: The session key holding ``[user pk, anonymous id]``: the id carried over at login.
LINKED_ID_SESSION_KEY = "_flagship_linked_id"
#: Salt of the signed cookie used when the request has no session.
COOKIE_SALT = "django_flagship.visitor"

MAX_ID_LENGTH = 128


@dataclass(frozen=True, slots=True)
class Identity:
    """The ids of one visitor; ``new_cookie`` is an id the response must set.

    ``new``: the anonymous id was created for this request (a first visit, or
    a client that keeps no cookie).
    """

    visitor_id: str
    anonymous_id: str | None = None
    authenticated: bool = False
    new_cookie: str | None = None
    new: bool = False


def is_usable_id(value: Any) -> bool:
    """Whether ``value`` can be a visitor id: a string of 1 to ``MAX_ID_LENGTH``."""
    return isinstance(value, str) and 0 < len(value) <= MAX_ID_LENGTH


def request_user(request: HttpRequest) -> Any:
    """``request.user`` itself, or ``None``: the user behind AuthenticationMiddleware's lazy object.

    Every attribute read through Django's ``SimpleLazyObject`` costs about a
    microsecond (it looks the name up on the wrapper first and falls back on an
    ``AttributeError``); the visitor's id and context read up to five. The
    user is evaluated here when nothing read it yet, as the first read would.
    """
    user = getattr(request, "user", None)
    if type(user) is SimpleLazyObject:
        # A wrapper without _wrapped (another Django) answers as the user would.
        wrapped = getattr(user, "_wrapped", user)
        if wrapped is empty:
            user.is_authenticated  # noqa: B018 - evaluates the lazy user
            wrapped = getattr(user, "_wrapped", user)
        return wrapped
    return user


def _new_id() -> str:
    return uuid.uuid4().hex


def _from_hook(value: Any) -> Identity | None:
    if value is None or value == "":
        return None
    if isinstance(value, tuple) and len(value) == 2:
        visitor_id, anonymous_id = value
        if anonymous_id is not None:
            anonymous_id = str(anonymous_id)
        return Identity(str(visitor_id), anonymous_id or None, anonymous_id is not None)
    return Identity(str(value))


def _anonymous_id(
    request: HttpRequest, runtime: Runtime, *, create: bool
) -> tuple[str | None, bool]:
    """The anonymous id, and whether it was created now (``None`` if not and not ``create``)."""
    session = getattr(request, "session", None)
    if session is not None:
        value = session.get(ANONYMOUS_ID_SESSION_KEY)
        if is_usable_id(value):
            return value, False
        if not create:
            return None, False
        value = _new_id()
        session[ANONYMOUS_ID_SESSION_KEY] = value
        return value, True
    value = request.get_signed_cookie(
        runtime.cookie_name,
        default=None,
        salt=COOKIE_SALT,
        # Django compares the cookie's age with it as a number: a float works,
        # infinity included, though the stubs ask for an int.
        max_age=runtime.cookie_age,  # type: ignore[arg-type]
    )
    if is_usable_id(value):
        return value, False
    if not create:
        return None, False
    return _new_id(), True


def linked_anonymous_id(request: HttpRequest, user: Any) -> str | None:
    """The anonymous id carried over when ``user`` logged in in this session, if any."""
    session = getattr(request, "session", None)
    linked = session.get(LINKED_ID_SESSION_KEY) if session is not None else None
    if isinstance(linked, list | tuple) and len(linked) == 2 and linked[0] == str(user.pk):
        return linked[1] if is_usable_id(linked[1]) else None
    return None


def _resolve(request: HttpRequest, runtime: Runtime, *, create: bool) -> Identity | None:
    if runtime.visitor_id_hook is not None:
        identity = _from_hook(runtime.visitor_id_hook(request))
        if identity is not None:
            return identity
    user = request_user(request)
    if user is not None and user.is_authenticated:
        return Identity(str(user.pk), linked_anonymous_id(request, user), authenticated=True)
    anonymous_id, new = _anonymous_id(request, runtime, create=create)
    if anonymous_id is None:
        return None
    if not new:
        return _returning(anonymous_id)
    with_cookie = getattr(request, "session", None) is None
    return Identity(anonymous_id, None, False, anonymous_id if with_cookie else None, True)


#: ``Identity(anonymous_id)``, shared by the requests of a returning anonymous
#: visitor: theirs is the same on every request, so it is built once per
#: visitor (for the last 4,096 at most).
_returning: Callable[[str], Identity] = remembering(Identity, size=4096)


def resolve_identity(request: HttpRequest, runtime: Runtime) -> Identity:
    """The visitor's ids for this request (may create the anonymous id)."""
    identity = _resolve(request, runtime, create=True)
    assert identity is not None
    return identity


def existing_identity(request: HttpRequest, runtime: Runtime) -> Identity | None:
    """The visitor's ids when the request has a visitor already; never creates one."""
    return _resolve(request, runtime, create=False)
