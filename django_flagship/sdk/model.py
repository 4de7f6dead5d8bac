"""Value objects shared by both decision modes.

A decision, whether computed locally from the bucketing file or received from
the Decision API, ends up as a list of :class:`Assignment`: one per campaign the
visitor is in, in campaign order. Flags are merged from them, later campaigns
winning (Flagship's rule).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Assignment", "FlagInfo", "MergedFlags", "merge_flags"]


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


class MergedFlags(Mapping[str, FlagInfo]):
    """The merged flags of a decision, read-only.

    Only the owner of each key is recorded when merging; the :class:`FlagInfo`
    is built when the key is read. A decision can carry hundreds of flags of
    which a request reads a handful, so this keeps synchronizing cheap.
    """

    __slots__ = ("_owners",)

    def __init__(self, owners: dict[str, Assignment]) -> None:
        self._owners = owners

    def __getitem__(self, key: str) -> FlagInfo:
        assignment = self._owners[key]
        return FlagInfo(key, assignment.flags[key], assignment)

    def get(self, key: str, default: Any = None) -> Any:
        assignment = self._owners.get(key)
        if assignment is None:
            return default
        return FlagInfo(key, assignment.flags[key], assignment)

    def __contains__(self, key: object) -> bool:
        return key in self._owners

    def __iter__(self) -> Iterator[str]:
        return iter(self._owners)

    def __len__(self) -> int:
        return len(self._owners)

    def __repr__(self) -> str:
        return f"<MergedFlags {sorted(self._owners)}>"


def merge_flags(assignments: Iterable[Assignment]) -> MergedFlags:
    """Merge the flags of ``assignments``; for a key set twice the later one wins."""
    owners: dict[str, Assignment] = {}
    for assignment in assignments:
        for key in assignment.flags:
            owners[key] = assignment
    return MergedFlags(owners)
