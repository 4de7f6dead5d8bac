"""The visitor's assignment history: a stored variation beats the hash (BUCKETING mode).

Once a visitor saw a variation, a changed allocation must not move them
(protocol 7.4). The history is kept per visitor id in an
:class:`AssignmentHistory` given from outside, as the bucket's store is (the
Django layer's lives in the Django cache: ``django_flagship.history``).

A request may also hold a *mirror*, a session-like mapping keeping a copy of
the history of the visitor it belongs to: a returning visitor's history is
then read with no store round trip. The store is read when the mirror holds
no copy for this visitor id (a new session, a login) and written when the
history changes.

At login, a user with no history yet keeps the variations their anonymous id
saw: that history is copied to the user's id.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from .visitor import Visitor

__all__ = [
    "MIRROR_KEY",
    "AssignmentHistory",
    "LoadedHistory",
    "Mirror",
    "history_digest",
    "load",
    "save",
]

#: The key of the history's copy in a mirror (a session).
MIRROR_KEY = "_flagship_history"


class AssignmentHistory(Protocol):
    """Where visitors' histories are kept between requests.

    A record is ``{"assignments": {variationGroupId: variationId}, "segment":
    digest or None, "digest": history_digest(assignments)}`` (records written
    before the digest was kept have none). Neither method raises: a store that cannot be reached
    reports it its own way.
    """

    def load(self, visitor_ids: Sequence[str]) -> Mapping[str, Any] | None:
        """The records kept for these ids, by id (an id with none is left out).

        ``None`` when the store cannot be read: the decision uses the hash alone.
        """
        ...

    def save(self, visitor_id: str, record: dict[str, Any]) -> None:
        """Keep ``record`` as the history of ``visitor_id``."""
        ...


class Mirror(Protocol):
    """A session-like mapping keeping a copy of one visitor's history."""

    def get(self, key: str, default: Any = None) -> Any: ...

    def __setitem__(self, key: str, value: Any) -> None: ...


@dataclass(frozen=True, slots=True)
class LoadedHistory:
    """What a decision started from, for :func:`save` to tell what changed."""

    #: The stored segment digest (``None`` for a copied history).
    segment: str | None
    #: The history is the anonymous id's, copied at login.
    copied: bool
    #: The history was read from the mirror.
    mirrored: bool
    #: The record read had no digest (written by an earlier release): it gets one.
    undigested: bool = False


def history_digest(assignments: Mapping[Any, Any]) -> str:
    """A digest of ``assignments``, the same in every process.

    Kept with the record when it is written, so that a returning visitor's
    history is told from the one a remembered decision was made with by one
    comparison (see :meth:`.memo.DecisionMemo.decide`).
    """
    text = repr(sorted(assignments.items(), key=repr))
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


def load(
    store: AssignmentHistory, visitor: Visitor, mirror: Mirror | None = None
) -> LoadedHistory | None:
    """Put the visitor's stored history into ``visitor.assignment_history``.

    The mirror's copy when it belongs to this visitor id, else the store's
    (and, for a user with no history yet, the anonymous id's). ``None`` when
    the store cannot be read.
    """
    visitor_id, anonymous_id = visitor.visitor_id, visitor.anonymous_id
    mirrored = mirror.get(MIRROR_KEY) if mirror is not None else None
    if not isinstance(mirrored, dict):
        mirrored = None
    owner = mirrored.get("owner") if mirrored else None
    if mirrored is not None and owner == visitor_id:
        return _use(visitor, mirrored, copied=False, mirrored=True)
    ids = [visitor_id]
    if anonymous_id and owner != anonymous_id:
        ids.append(anonymous_id)
    found = store.load(ids)
    if found is None:
        return None
    record = found.get(visitor_id)
    if record is None and anonymous_id:
        # Just logged in, and the user has no history yet: keep the variations
        # the anonymous visitor saw.
        anonymous = mirrored if owner == anonymous_id else found.get(ids[-1])
        if isinstance(anonymous, dict):
            return _use(visitor, anonymous, copied=True, mirrored=False)
    if not isinstance(record, dict):
        return LoadedHistory(None, copied=False, mirrored=False)
    return _use(visitor, record, copied=False, mirrored=False)


def _use(
    visitor: Visitor, record: dict[str, Any], *, copied: bool, mirrored: bool
) -> LoadedHistory:
    assignments = record.get("assignments")
    undigested = False
    if isinstance(assignments, dict):
        history = visitor.assignment_history
        if not history:
            # The history is the record's: its digest describes it.
            digest = record.get("digest")
            undigested = not isinstance(digest, str)
            visitor.history_digest = None if undigested else digest
        history.update(assignments)
    # A copied history belongs to other ids: their segment does not count.
    visitor.segment_digest = None if copied else record.get("segment")
    return LoadedHistory(
        visitor.segment_digest, copied=copied, mirrored=mirrored, undigested=undigested
    )


def save(
    store: AssignmentHistory,
    visitor: Visitor,
    loaded: LoadedHistory,
    mirror: Mirror | None = None,
    *,
    remember: bool = True,
) -> None:
    """Keep the history the synchronized ``visitor`` ends with, when it changed.

    ``remember=False`` (a visitor created by this very request) keeps it in the
    mirror only: a client that keeps no cookie would leave a store entry per
    request. The store gets it on the visitor's next request, when the visitor
    has proved to be back.
    """
    if not visitor.synchronized:
        return
    changed = (
        loaded.copied
        or visitor.history_changed
        or loaded.segment != visitor.segment_digest
        or loaded.undigested
    )
    write_store = changed and remember
    write_mirror = mirror is not None and (changed or not loaded.mirrored)
    if not (write_store or write_mirror):
        return
    assignments = visitor.assignment_history
    digest = visitor.history_digest
    if digest is None:
        digest = visitor.history_digest = history_digest(assignments)
    value = {"assignments": assignments, "segment": visitor.segment_digest, "digest": digest}
    if write_store:
        store.save(visitor.visitor_id, value)
    if write_mirror and mirror is not None:
        mirror[MIRROR_KEY] = {"owner": visitor.visitor_id, **value}
