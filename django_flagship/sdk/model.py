"""Value objects shared by both decision modes.

A decision, whether computed locally from the bucketing file or received from
the Decision API, ends up as a list of :class:`Assignment`: one per campaign the
visitor is in, in campaign order. Flags are merged from them, later campaigns
winning (Flagship's rule).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Assignment", "FlagInfo", "merge_flags"]


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
