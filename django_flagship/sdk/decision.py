"""The two ways a visitor's campaigns are decided, behind one interface."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from .bucket_source import BucketSource
from .constants import DECISION_CACHE_SIZE
from .decision_api import DecisionApiClient, DecisionError, DecisionResult
from .memo import DecisionMemo
from .model import DecidedFlags

if TYPE_CHECKING:
    from .bucketing import Bucket

__all__ = ["ApiDecisionManager", "BucketingDecisionManager", "DecisionManager"]


class DecisionManager(Protocol):
    def decide(
        self,
        visitor_id: str,
        context: Mapping[str, Any],
        *,
        anonymous_id: str | None,
        consent: bool,
        assignments: Mapping[str, str],
        on_error: Callable[[str], None],
        context_key: Callable[[], tuple[Any, ...] | None] | None = None,
        history_digest: str | None = None,
    ) -> DecisionResult:
        """The visitor's assignments; raises :class:`DecisionError` on failure.

        ``context_key``, when given, returns :func:`~.memo.context_key` of
        ``context``; the caller may have it already, and it is asked for only
        when needed. ``history_digest``, when given, is
        :func:`~.history.history_digest` of ``assignments``.
        """

    async def adecide(
        self,
        visitor_id: str,
        context: Mapping[str, Any],
        *,
        anonymous_id: str | None,
        consent: bool,
        assignments: Mapping[str, str],
        on_error: Callable[[str], None],
        context_key: Callable[[], tuple[Any, ...] | None] | None = None,
        history_digest: str | None = None,
    ) -> DecisionResult:
        """:meth:`decide` for async code: whatever waits on the network is awaited."""

    def close(self) -> None: ...


class ApiDecisionManager:
    """DECISION_API mode: Flagship's servers decide."""

    #: Flagship's servers can always be asked; failures are per decision.
    ready = True

    def __init__(self, client: DecisionApiClient) -> None:
        self.client = client

    def decide(
        self,
        visitor_id: str,
        context: Mapping[str, Any],
        *,
        anonymous_id: str | None,
        consent: bool,
        assignments: Mapping[str, str],
        on_error: Callable[[str], None],
        context_key: Callable[[], tuple[Any, ...] | None] | None = None,
        history_digest: str | None = None,
    ) -> DecisionResult:
        return self.client.fetch(
            visitor_id, context, anonymous_id=anonymous_id, consent=consent, on_error=on_error
        )

    async def adecide(
        self,
        visitor_id: str,
        context: Mapping[str, Any],
        *,
        anonymous_id: str | None,
        consent: bool,
        assignments: Mapping[str, str],
        on_error: Callable[[str], None],
        context_key: Callable[[], tuple[Any, ...] | None] | None = None,
        history_digest: str | None = None,
    ) -> DecisionResult:
        return await self.client.afetch(
            visitor_id, context, anonymous_id=anonymous_id, consent=consent, on_error=on_error
        )

    def close(self) -> None:
        self.client.close()


def _computed(
    bucket: Bucket, visitor_id: str, context: Mapping[str, Any], history: Mapping[str, str]
) -> DecisionResult:
    """A decision computed now, its flags found when read (see DecidedFlags)."""
    if history:
        assignments, holds = bucket.decide_remembered(visitor_id, context, history)
    else:
        assignments, holds = bucket.decide(visitor_id, context), False
    sources = bucket.flag_sources
    if sources is None:
        return DecisionResult(assignments, history_holds=holds)
    variations = {a.variation_group_id: a.variation_id for a in assignments}
    return DecisionResult(
        assignments,
        flags=DecidedFlags(assignments, variations, sources),
        variations=variations,
        history_holds=holds,
    )


class BucketingDecisionManager:
    """BUCKETING mode: decisions computed here from the current bucket."""

    def __init__(self, source: BucketSource, *, memo_size: int = DECISION_CACHE_SIZE) -> None:
        self.source = source
        #: A returning visitor's unchanged question is answered from memory.
        self.memo = DecisionMemo(memo_size)

    @property
    def ready(self) -> bool:
        """Whether a bucket is loaded (until then every decision fails)."""
        return self.source.current() is not None

    def decide(
        self,
        visitor_id: str,
        context: Mapping[str, Any],
        *,
        anonymous_id: str | None,
        consent: bool,
        assignments: Mapping[str, str],
        on_error: Callable[[str], None],
        context_key: Callable[[], tuple[Any, ...] | None] | None = None,
        history_digest: str | None = None,
    ) -> DecisionResult:
        bucket = self.source.current()
        if bucket is None:
            raise DecisionError("no bucketing file is loaded yet")
        if bucket.panic:
            return DecisionResult([], panic=True)
        memo = self.memo
        if not memo.size:
            return _computed(bucket, visitor_id, context, assignments)
        if not memo.admits(visitor_id):
            # A first visit: decided as without the memo, at no cost of its own.
            memo.misses += 1
            return _computed(bucket, visitor_id, context, assignments)
        decision = memo.decide(
            bucket,
            visitor_id,
            context,
            assignments,
            key=context_key,
            admitted=True,
            history_digest=history_digest,
        )
        return DecisionResult(
            list(decision.assignments),
            flags=decision.flags,
            variations=decision.variations,
            # The memo answers only a history equal to the entry's, and keeps
            # the decision as the entry's history when they were equal.
            history_holds=decision.history is decision.variations,
        )

    async def adecide(
        self,
        visitor_id: str,
        context: Mapping[str, Any],
        *,
        anonymous_id: str | None,
        consent: bool,
        assignments: Mapping[str, str],
        on_error: Callable[[str], None],
        context_key: Callable[[], tuple[Any, ...] | None] | None = None,
        history_digest: str | None = None,
    ) -> DecisionResult:
        # Computed here; the core's bucket sources hold the bucket in memory.
        return self.decide(
            visitor_id,
            context,
            anonymous_id=anonymous_id,
            consent=consent,
            assignments=assignments,
            on_error=on_error,
            context_key=context_key,
            history_digest=history_digest,
        )

    def close(self) -> None:
        self.source.close()
