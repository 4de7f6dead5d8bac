"""Login continuity: which anonymous id a user keeps when logging in.

Flagship's experience continuity sends a logged-in user's id with the id the
visitor had before logging in, and bucketing copies that anonymous visitor's
variations to the user. The anonymous id comes from the session, and a
session cookie can be planted (a shared computer, a sibling subdomain setting
cookies for the parent domain, a replayed cookie-based session): the planted
id's variations would then be copied to the victim's account, and the
planter's browsing linked to it.

So at login (Django's ``user_logged_in`` signal) the anonymous id is carried
over only when both hold:

* the session held it when the user logged in (it is then taken out of the
  session: an id that appears later is never linked);
* no other account has taken it: the first account to log in with an
  anonymous id owns it, recorded in the Django cache
  (``<namespace>:anonymous-owner:<digest>``, kept as long as the assignment
  history, ``FLAGSHIP_HISTORY_TIMEOUT``). The same user logging in again
  with it keeps it.

Otherwise the user starts without an anonymous id: decisions are made for the
user's id alone and nothing is copied. When the cache cannot say who owns the
id, it is not carried over either (a warning is logged). The residual risk,
and what to set against it, is in ``docs/django.md``.
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.contrib.auth.signals import user_logged_in
from django.core.cache import caches
from django.dispatch import receiver
from django.http import HttpRequest

from .client import runtime
from .identity import ANONYMOUS_ID_SESSION_KEY, LINKED_ID_SESSION_KEY, linked_anonymous_id
from .log import warn_rarely

__all__ = ["claim_anonymous_id", "owner_key"]


def owner_key(namespace: str, anonymous_id: str) -> str:
    """The cache key recording which account took ``anonymous_id``."""
    digest = hashlib.sha256(anonymous_id.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return f"{namespace}:anonymous-owner:{digest}"


def claim_anonymous_id(anonymous_id: str, user_pk: str) -> bool:
    """Record ``user_pk`` as the owner of ``anonymous_id``; False when another one is."""
    rt = runtime()
    key = owner_key(rt.namespace, anonymous_id)
    try:
        cache = caches[rt.cache_alias]
        if cache.add(key, user_pk, timeout=rt.history_timeout):
            return True
        return cache.get(key) == user_pk
    except Exception as exc:
        warn_rarely(
            "continuity",
            "Flagship: cannot tell which account owns an anonymous id (%s: %s); "
            "it is not carried over at login",
            type(exc).__name__,
            exc,
        )
        return False


@receiver(user_logged_in, dispatch_uid="django_flagship.continuity")
def _carry_over(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    session = getattr(request, "session", None)
    if session is None or getattr(user, "pk", None) is None:
        return
    anonymous_id = session.pop(ANONYMOUS_ID_SESSION_KEY, None)
    if anonymous_id is None:
        # Logging in again in the same session keeps what this user's login linked.
        if request is not None and linked_anonymous_id(request, user) is None:
            session.pop(LINKED_ID_SESSION_KEY, None)
        return
    user_pk = str(user.pk)
    if isinstance(anonymous_id, str) and anonymous_id and claim_anonymous_id(anonymous_id, user_pk):
        session[LINKED_ID_SESSION_KEY] = [user_pk, anonymous_id]
    else:
        session.pop(LINKED_ID_SESSION_KEY, None)
