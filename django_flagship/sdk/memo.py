"""Recent bucketing decisions, reused while their inputs stay the same.

A decision is a pure function of the bucket, the visitor id, the context and
the visitor's assignment history. A returning visitor asks the same question
on every page, so each process keeps the answers to the last questions it was
asked. The memo belongs to one bucket: a new bucketing file starts an empty
one, so a changed campaign is never answered from memory.

An entry is used only when every input is equal to the one it was computed
from, compared with types (``True``, ``1`` and ``1.0`` are three contexts, and
so are ``0.0`` and ``-0.0``; a list's elements are compared the same way),
the history included. The least recently used
entry makes room for a new one; ``size=0`` turns the memo off.

A visitor's questions are remembered from their second visit on (see
:meth:`DecisionMemo.admits`): most first visits are the only ones, and an
entry made then would only push out one that serves again. A first visit
costs a few set operations; its decision is computed as without the
memo, without a context key, a lock or an eviction.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any

from .bucketing import Bucket
from .constants import DECISION_CACHE_SIZE
from .model import Assignment, FlagInfo, merge_flags

__all__ = ["DecisionMemo", "MemoizedDecision"]


class MemoizedDecision:
    """A decision and the flags merged from it, shared by every visitor it serves.

    Both are read-only for their users: :class:`~.visitor.Visitor` copies what
    it hands out.
    """

    __slots__ = ("assignments", "flags", "history", "history_digest", "variations")

    def __init__(self, assignments: tuple[Assignment, ...]) -> None:
        self.assignments = assignments
        self.flags: dict[str, FlagInfo] = merge_flags(assignments)
        self.variations = {a.variation_group_id: a.variation_id for a in assignments}
        #: The assignment history the decision was made with (``None``: none).
        self.history: Mapping[str, str] | None = None
        #: A digest of ``history`` (see :func:`.history.history_digest`), once known.
        self.history_digest: str | None = None


#: A number for each type of context value seen, so that keys hold numbers
#: rather than types: a tuple of strings and numbers is left alone by the
#: garbage collector, which otherwise walks every key kept. Each type has its
#: own number. A negative one says that the value is not kept as it is: a
#: float (or a float subclass) by its exact form, a list or tuple (one number
#: for both: they decide alike) or a subclass by the typed form of its elements.
_FLOAT = -1
_SEQUENCE = -2
_type_numbers: dict[type, int] = {
    float: _FLOAT,
    str: 1,
    bool: 2,
    int: 3,
    list: _SEQUENCE,
    tuple: _SEQUENCE,
}
#: The negative numbers that stand for sequences (the others stand for floats).
_sequence_numbers: set[int] = {_SEQUENCE}
_type_numbers_lock = threading.Lock()


def _type_number(cls: type) -> int:
    with _type_numbers_lock:
        number = _type_numbers.get(cls)
        if number is None:
            number = len(_type_numbers) + 1
            if issubclass(cls, list | tuple):
                number = -number
                _sequence_numbers.add(number)
            elif issubclass(cls, float):
                number = -number
            _type_numbers[cls] = number
        return number


def _typed(value: Any, number: int) -> Any:
    """The form of a value whose type number is negative (see ``_type_numbers``)."""
    if number not in _sequence_numbers:
        return value.hex()
    if not value:
        return ()  # the common list: an anonymous visitor's groups
    numbers = _type_numbers
    return tuple(
        [
            (item, n)
            if (n := numbers.get(item.__class__) or _type_number(item.__class__)) > 0
            else (_typed(item, n), n)
            for item in value
        ]
    )


def context_key(context: Mapping[str, Any]) -> tuple[Any, ...] | None:
    """A hashable form of ``context`` that keeps each value's type; ``None`` if impossible.

    One flat tuple of ``name, value, type number`` triples: a visitor keeps
    it for the request, so it is one object rather than one per key. Floats
    are keyed by their exact form (``float.hex``), so ``0.0`` and ``-0.0``,
    equal in Python, stay two contexts. A list (or tuple) is keyed by its
    elements in order, each with its type: ``[True]``, ``[1]`` and ``[1.0]``
    are three contexts, ``["a", "b"]`` and ``("a", "b")`` one.
    """
    numbers = _type_numbers
    parts: list[Any] = []
    extend = parts.extend
    try:
        for name, value in context.items():
            number = numbers.get(value.__class__) or _type_number(value.__class__)
            if number > 0:
                extend((name, value, number))
            elif number == _FLOAT:
                extend((name, value.hex(), number))
            else:
                extend((name, _typed(value, number), number))
        key = tuple(parts)
        hash(key)
    except (TypeError, AttributeError, RecursionError):
        return None
    return key


_Entries = OrderedDict[tuple[Any, ...], MemoizedDecision]


class DecisionMemo:
    """The last ``size`` decisions made from one bucket (thread-safe)."""

    def __init__(self, size: int = DECISION_CACHE_SIZE) -> None:
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise ValueError(f"the decision memo size must be an int >= 0, got {size!r}")
        self.size = size
        self.hits = 0
        #: Decisions computed, first visits included.
        self.misses = 0
        # The visitor ids seen lately, in two generations of at most half the
        # size each (replaced as one): a visitor is admitted when seen within
        # the last ``size`` / 2 to ``size`` visitors, about as far back as an
        # entry of theirs would still be remembered.
        self._generation = max(1, size // 2)
        self._seen: tuple[set[str], set[str]] = (set(), set())
        # (the bucket, its entries, its id strings), replaced as one so that a
        # thread never reads one bucket's entries for another.
        self._state: tuple[Bucket | None, _Entries, dict[str, str]] = (None, OrderedDict(), {})
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return (
            f"<DecisionMemo size={self.size} entries={len(self)} "
            f"hits={self.hits} misses={self.misses}>"
        )

    def __len__(self) -> int:
        return len(self._state[1])

    def clear(self) -> None:
        """Forget every entry and every visitor seen."""
        with self._lock:
            self._state = (None, OrderedDict(), {})
            self._seen = (set(), set())

    def admits(self, visitor_id: str) -> bool:
        """Whether ``visitor_id``'s questions are remembered, from their second visit on.

        Records the visit: ``False`` for a visitor not seen among the last
        ``size`` / 2 to ``size`` visitors (their first visit, or one too far
        from the last for an entry to have lasted), ``True`` for the others.
        A visitor seen at least once every ``size`` / 2 visitors stays admitted.
        """
        seen, before = self._seen
        if visitor_id in seen:  # the common case: a visitor seen lately
            return True
        known = visitor_id in before
        if len(seen) >= self._generation:
            # Threads rotating at once may each lose a few visits: only
            # admissions depend on them, never an answer.
            seen, before = set(), seen
            self._seen = (seen, before)
        seen.add(visitor_id)
        return known

    def decide(
        self,
        bucket: Bucket,
        visitor_id: str,
        context: Mapping[str, Any],
        assignments: Mapping[str, str] | None = None,
        *,
        key: Callable[[], tuple[Any, ...] | None] | None = None,
        admitted: bool = False,
        history_digest: str | None = None,
    ) -> MemoizedDecision:
        """``bucket.decide(...)``, from memory when these exact inputs were seen.

        ``key``, when given, returns ``context_key(context)`` (the caller may
        have it already). ``admitted=True`` says that the caller asked
        :meth:`admits` already, and it answered ``True``. ``history_digest``,
        when given, is the digest of ``assignments`` kept with them: an entry
        of the same digest is answered without comparing the histories item
        by item (the remembered one is seldom in the processor's caches).
        """
        ctx = None
        if self.size and type(visitor_id) is str and (admitted or self.admits(visitor_id)):
            ctx = key() if key is not None else context_key(context)
        if ctx is None:
            self.misses += 1
            return MemoizedDecision(
                tuple(bucket.decide(visitor_id, context, assignments=assignments))
            )
        history = assignments or None
        question = (visitor_id, ctx)
        remembered_bucket, entries, _ = self._state
        if remembered_bucket is bucket:
            entry = entries.get(question)
            if entry is not None and (
                history_digest is None or entry.history_digest != history_digest
            ):
                # No digest to go by: the histories themselves are compared, and
                # an equal one's digest is kept for the next time.
                if entry.history != history:
                    entry = None
                elif history_digest is not None:
                    entry.history_digest = history_digest
            if entry is not None:
                self.hits += 1
                try:  # noqa: SIM105 - cheaper than contextlib.suppress on the hit path
                    entries.move_to_end(question)  # the least recently used goes first
                except KeyError:  # made room for another meanwhile
                    pass
                return entry
        decided = tuple(bucket.decide(visitor_id, context, assignments=assignments))
        self.misses += 1
        with self._lock:
            remembered_bucket, entries, strings = self._state
            if remembered_bucket is not bucket:
                entries, strings = OrderedDict(), _bucket_strings(bucket)
                self._state = (bucket, entries, strings)
            entry = MemoizedDecision(decided)
            if history:
                # A returning visitor's history is usually just what was decided:
                # then it costs no copy and no memory of its own.
                entry.history = (
                    entry.variations
                    if history == entry.variations
                    else {strings.get(k, k): strings.get(v, v) for k, v in history.items()}
                )
                entry.history_digest = history_digest
            entries[question] = entry
            entries.move_to_end(question)
            while len(entries) > self.size:
                entries.popitem(last=False)
        return entry


def _bucket_strings(bucket: Bucket) -> dict[str, str]:
    """The bucket's own id strings, so remembered histories do not keep copies."""
    strings: dict[str, str] = {}
    for campaign in bucket.campaigns:
        for group in campaign.variation_groups:
            strings[group.id] = group.id
            for variation_id in group.by_id:
                strings[variation_id] = variation_id
    return strings
