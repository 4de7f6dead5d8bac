"""Value objects shared by both decision modes.

A decision, whether computed locally from the bucketing file or received from
the Decision API, ends up as a list of :class:`Assignment`: one per campaign the
visitor is in, in campaign order. Flags are merged from them, later campaigns
winning (Flagship's rule).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Assignment", "DecidedFlags", "FlagInfo", "merge_flags"]


@dataclass(frozen=True, slots=True)
class Assignment:
    """The variation a visitor got in one campaign."""

    campaign_id: str
    variation_group_id: str
    variation_id: str
    flags: Mapping[str, Any] = field(default_factory=dict)
    campaign_name: str | None = None
    campaign_type: str | None = None
    slug: str | None = None
    variation_group_name: str | None = None
    variation_name: str | None = None
    reference: bool = False
    modification_type: str = "FLAG"
    #: ``{key: FlagInfo}`` built once per assignment, so merging the flags of a
    #: decision copies references instead of building objects per visitor.
    flag_infos: Mapping[str, FlagInfo] = field(init=False, repr=False, compare=False)
    #: ``(variation_group_id, variation_id)``: what activations are counted by.
    marker: tuple[str, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        infos = {key: FlagInfo(key, value, self) for key, value in self.flags.items()}
        object.__setattr__(self, "flag_infos", infos)
        object.__setattr__(self, "marker", (self.variation_group_id, self.variation_id))

    def info(self) -> dict[str, Any]:
        """The seed's ``get_modification_info`` dictionary."""
        return {
            "campaignId": self.campaign_id,
            "variationGroupId": self.variation_group_id,
            "variationId": self.variation_id,
            "isReference": self.reference,
            "campaignType": self.campaign_type,
            "slug": self.slug,
        }


@dataclass(frozen=True, slots=True)
class FlagInfo:
    """A flag's value and the assignment that supplied it."""

    key: str
    value: Any
    assignment: Assignment


def merge_flags(assignments: Iterable[Assignment]) -> dict[str, FlagInfo]:
    """Merge the flags of ``assignments``; for a key set twice the later one wins."""
    merged: dict[str, FlagInfo] = {}
    for assignment in assignments:
        merged.update(assignment.flag_infos)
    return merged


_ABSENT: Any = object()


class DecidedFlags(Mapping[str, FlagInfo]):
    """The flags of a bucketing decision, each found when it is read.

    A visitor gets one variation per campaign and reads a few of its flags:
    finding a flag among the variations that set it costs less than merging
    every flag of every assignment up front (about 6 µs for 50 campaigns).
    ``sources`` maps each flag key to the variation groups that set it, the
    latest campaign first, each with ``{variationId: FlagInfo}`` for its
    variations that set it (:attr:`.bucketing.Bucket.flag_sources`);
    ``variations`` is the decision's ``{variationGroupId: variationId}``. Iterating merges
    the flags, once. The result is the same as :func:`merge_flags`.
    """

    __slots__ = ("_assignments", "_merged", "_sources", "_variations")

    def __init__(
        self,
        assignments: Sequence[Assignment],
        variations: Mapping[str, str],
        sources: Mapping[str, tuple[tuple[str, dict[str, FlagInfo]], ...]],
    ) -> None:
        self._assignments = assignments
        self._variations = variations
        self._sources = sources
        self._merged: dict[str, FlagInfo] | None = None

    def get(self, key: str, default: Any = None) -> Any:
        merged = self._merged
        if merged is not None:
            return merged.get(key, default)
        groups = self._sources.get(key)
        if groups is not None:
            variations = self._variations
            for group_id, infos in groups:
                variation_id = variations.get(group_id)
                if variation_id is not None:
                    info = infos.get(variation_id)
                    if info is not None:
                        return info
        return default

    def __getitem__(self, key: str) -> FlagInfo:
        flag = self.get(key, _ABSENT)
        if flag is _ABSENT:
            raise KeyError(key)
        return flag

    def _merge(self) -> dict[str, FlagInfo]:
        merged = self._merged
        if merged is None:
            merged = self._merged = merge_flags(self._assignments)
        return merged

    def __iter__(self) -> Iterator[str]:
        return iter(self._merge())

    def __len__(self) -> int:
        return len(self._merge())

    def __repr__(self) -> str:
        return f"DecidedFlags({self._merge()!r})"
