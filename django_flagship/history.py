"""The assignment history on the Django cache, mirrored in the session.

The core's synchronisation (:mod:`django_flagship.sdk.history`) reads and
writes an :class:`~django_flagship.sdk.history.AssignmentHistory`; this is
the Django layer's, :class:`CacheHistory`, built with the runtime
(``runtime().history``, ``None`` when ``FLAGSHIP_ASSIGNMENT_HISTORY`` is off
or the mode is DECISION_API) as the bucket store is.

The history lives in the cache under a digest of the visitor id, so that a
user finds it on any device and an anonymous visitor's is copied at login. A
request with a session also keeps a copy there (:func:`session_mirror`): the
session is loaded anyway to identify the visitor, so a returning visitor's
history costs no cache round trip.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from django.core.cache import caches
from django.http import HttpRequest

from .log import warn_rarely
from .sdk.history import MIRROR_KEY, Mirror

if TYPE_CHECKING:
    from .client import Runtime

__all__ = ["HISTORY_SESSION_KEY", "CacheHistory", "history_key", "session_mirror"]

#: The session key of the history's copy.
HISTORY_SESSION_KEY = MIRROR_KEY


def history_key(namespace: str, visitor_id: str) -> str:
    """The cache key of ``visitor_id``'s history under the runtime's ``namespace``."""
    digest = hashlib.sha256(visitor_id.encode("utf-8")).hexdigest()[:32]
    return f"{namespace}:history:{digest}"


class CacheHistory:
    """Histories in the Django cache ``cache_alias``; an unreachable cache is logged, rarely."""

    __slots__ = ("cache_alias", "namespace", "timeout")

    def __init__(self, cache_alias: str, namespace: str, timeout: float | None) -> None:
        self.cache_alias = cache_alias
        self.namespace = namespace
        #: Seconds a history is kept after its last change (``None``: forever).
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"<CacheHistory {self.cache_alias!r} {self.namespace!r}>"

    def key(self, visitor_id: str) -> str:
        return history_key(self.namespace, visitor_id)

    def load(self, visitor_ids: Sequence[str]) -> dict[str, Any] | None:
        keys = [self.key(visitor_id) for visitor_id in visitor_ids]
        try:
            found = caches[self.cache_alias].get_many(keys)
        except Exception as exc:
            warn_rarely(
                "history",
                "Flagship: assignment history unavailable (%s: %s); hashing alone",
                type(exc).__name__,
                exc,
            )
            return None
        return {
            visitor_id: found[key]
            for visitor_id, key in zip(visitor_ids, keys, strict=True)
            if key in found
        }

    def save(self, visitor_id: str, record: dict[str, Any]) -> None:
        try:
            caches[self.cache_alias].set(self.key(visitor_id), record, timeout=self.timeout)
        except Exception as exc:
            warn_rarely(
                "history",
                "Flagship: assignment history not saved (%s: %s)",
                type(exc).__name__,
                exc,
            )


def session_mirror(request: HttpRequest, rt: Runtime) -> Mirror | None:
    """The request's session as the history's mirror, or ``None``.

    A cookie-based session would carry the history in every request's cookie:
    the cache alone is used then.
    """
    if not rt.history_in_session:
        return None
    session: Mirror | None = getattr(request, "session", None)
    return session
