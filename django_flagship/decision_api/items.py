"""The items the server tracks, each carrying the environment it was received for.

With Flagship's collector as the sink, whose envelopes carry one ``cid``,
each served environment has a tracker of its own and gets :meth:`plain`
items; any other sink gets these, whose ``to_payload()`` starts with
``cid`` (see :mod:`django_flagship.decision_api.trackers`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..sdk.hits import Activation, Hit
from ..sdk.tracking import TrackedHit

__all__ = ["ServedActivation", "ServedHit"]


@dataclass(frozen=True, slots=True)
class ServedActivation(Activation):
    """An activation the server received, with the environment it is for.

    ``to_payload()`` starts with ``cid`` (the standalone form), so a log or a
    debug page shows the environment; :meth:`plain` is what goes inside a
    collector envelope, which carries the ``cid`` itself.
    """

    env_id: str = ""

    def to_payload(self, env_id: str | None = None, *, now: float | None = None) -> dict[str, Any]:
        return Activation.to_payload(self, env_id or self.env_id or None, now=now)

    def plain(self) -> Activation:
        return Activation(
            self.visitor_id,
            self.variation_group_id,
            self.variation_id,
            self.anonymous_id,
            created_at=self.created_at,
            id=self.id,
        )


@dataclass(frozen=True, slots=True)
class ServedHit(TrackedHit):
    """A hit the server sends (the context's ``SEGMENT``), with its environment.

    As :class:`ServedActivation`: ``to_payload()`` adds ``cid`` first, and
    :meth:`plain` is the collector's batch child.
    """

    env_id: str = ""

    @classmethod
    def for_env(cls, hit: Hit, visitor_id: str, anonymous_id: str | None, env_id: str) -> ServedHit:
        base = TrackedHit.from_hit(hit, visitor_id, anonymous_id)
        return cls(base.payload, base.visitor_id, base.anonymous_id, env_id=env_id)

    def to_payload(self, *, now: float | None = None) -> dict[str, Any]:
        payload = TrackedHit.to_payload(self, now=now)
        return {"cid": self.env_id, **payload} if self.env_id else payload

    def plain(self) -> TrackedHit:
        return TrackedHit(
            self.payload,
            self.visitor_id,
            self.anonymous_id,
            created_at=self.created_at,
            id=self.id,
        )
