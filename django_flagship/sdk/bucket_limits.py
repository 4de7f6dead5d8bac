"""How much of a bucketing file is accepted, and how long its download may take.

A bucketing file comes from the CDN, a local file or the shared cache, and is
parsed by every process: one too large, too slow or too deeply built must be
refused with an error naming the bound it passed, never take the process down,
and never replace the bucket in use. Each bound is far above a real Flagship
file (an account with a few hundred campaigns of a few variation groups each
weighs well under a megabyte).

==================================  ==========  =========================================
Bound                               Default     What is counted (Django setting)
==================================  ==========  =========================================
``max_bytes``                       16 MiB      the JSON text
                                                (``FLAGSHIP_BUCKET_MAX_BYTES``)
``max_campaigns``                   5,000       campaigns in the file
                                                (``FLAGSHIP_BUCKET_MAX_CAMPAIGNS``)
``max_variation_groups``            20,000      variation groups in the file
                                                (``FLAGSHIP_BUCKET_MAX_VARIATION_GROUPS``)
``max_variations``                  50,000      variations in the file
                                                (``FLAGSHIP_BUCKET_MAX_VARIATIONS``)
``max_targetings``                  50,000      targetings (conditions) in the file
                                                (``FLAGSHIP_BUCKET_MAX_TARGETINGS``)
``download_deadline``               30 s        a whole download; ``timeout`` bounds each
                                                wait (``FLAGSHIP_BUCKET_DOWNLOAD_DEADLINE``)
``max_depth``                       64          nesting of objects and arrays
``max_groups_per_campaign``         1,000       variation groups in one campaign
``max_variations_per_group``        1,000       variations in one variation group
``max_targeting_groups_per_group``  1,000       targeting groups of one variation group
``max_targetings_per_group``        1,000       targetings in one targeting group
``max_list_length``                 100,000     items in one targeting value list
==================================  ==========  =========================================

The file-wide counts bound the work of parsing, which compiles every
variation group and condition: a file at those bounds takes some seconds
and a few hundred megabytes in each process, so they grow with an account
only through a setting. The bounds within one campaign are fixed: passing
one of them says where a file is out of proportion.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .bucketing import BucketError
from .strict_json import MAX_DEPTH

__all__ = ["DEFAULT_LIMITS", "BucketLimits", "check_bucket_limits"]


@dataclass(frozen=True, slots=True)
class BucketLimits:
    """The bounds above; give a larger one when an account truly needs it."""

    max_bytes: int = 16 * 1024 * 1024
    max_campaigns: int = 5_000
    download_deadline: float = 30.0
    max_depth: int = MAX_DEPTH
    max_variation_groups: int = 20_000
    max_variations: int = 50_000
    max_targetings: int = 50_000
    max_groups_per_campaign: int = 1_000
    max_variations_per_group: int = 1_000
    max_targeting_groups_per_group: int = 1_000
    max_targetings_per_group: int = 1_000
    max_list_length: int = 100_000

    def check_size(self, size: int, what: str = "the bucketing file") -> None:
        """Raise :class:`BucketError` when ``size`` bytes pass ``max_bytes``."""
        if size > self.max_bytes:
            raise BucketError(
                f"{what} is larger than the limit of {self.max_bytes:,} bytes "
                f"({_setting('max_bytes')})"
            )


DEFAULT_LIMITS = BucketLimits()

_SETTINGS = {
    "max_bytes": "FLAGSHIP_BUCKET_MAX_BYTES",
    "max_campaigns": "FLAGSHIP_BUCKET_MAX_CAMPAIGNS",
    "max_variation_groups": "FLAGSHIP_BUCKET_MAX_VARIATION_GROUPS",
    "max_variations": "FLAGSHIP_BUCKET_MAX_VARIATIONS",
    "max_targetings": "FLAGSHIP_BUCKET_MAX_TARGETINGS",
    "download_deadline": "FLAGSHIP_BUCKET_DOWNLOAD_DEADLINE",
}


def _setting(bound: str) -> str:
    name = _SETTINGS.get(bound)
    return f"{name} raises it" if name else "a fixed bound"


def _items(container: Any, *names: str) -> list[Any] | tuple[Any, ...]:
    """The list under the first of ``names`` present; anything else reads as empty.

    Shapes are the parser's business: this only counts what it would walk.
    """
    if not isinstance(container, Mapping):
        return []
    for name in names:
        value = container.get(name)
        if value is not None:
            return value if isinstance(value, list | tuple) else []
    return []


def _over(limits: BucketLimits, bound: str, count: int, where: str, what: str) -> None:
    limit = getattr(limits, bound)
    if count > limit:
        raise BucketError(
            f"{where} has {count:,} {what}, more than the limit of {limit:,} ({_setting(bound)})"
        )


def check_bucket_limits(data: Any, limits: BucketLimits = DEFAULT_LIMITS) -> None:
    """Raise :class:`BucketError` naming the first bound that decoded ``data`` passes.

    Counts only: list lengths, one walk before anything is compiled.
    """
    campaigns = _items(data, "campaigns")
    _over(limits, "max_campaigns", len(campaigns), "the bucketing file", "campaigns")
    totals = _Totals()
    for index, campaign in enumerate(campaigns):
        name = campaign.get("id") if isinstance(campaign, Mapping) else None
        where = f"campaign {name!r}" if isinstance(name, str) else f"campaign {index}"
        groups = _items(campaign, "variationGroups", "variation_groups")
        _over(limits, "max_groups_per_campaign", len(groups), where, "variation groups")
        totals.groups += len(groups)
        for group in groups:
            _check_group(group, where, limits, totals)
    file = "the bucketing file"
    _over(limits, "max_variation_groups", totals.groups, file, "variation groups")
    _over(limits, "max_variations", totals.variations, file, "variations")
    _over(limits, "max_targetings", totals.targetings, file, "targetings")


class _Totals:
    __slots__ = ("groups", "targetings", "variations")

    def __init__(self) -> None:
        self.groups = self.variations = self.targetings = 0


def _check_group(group: Any, where: str, limits: BucketLimits, totals: _Totals) -> None:
    name = group.get("id") if isinstance(group, Mapping) else None
    where = f"{where}, variation group {name!r}" if isinstance(name, str) else where
    variations = _items(group, "variations")
    _over(limits, "max_variations_per_group", len(variations), where, "variations")
    totals.variations += len(variations)
    targeting = group.get("targeting") if isinstance(group, Mapping) else None
    targeting_groups = _items(targeting, "targetingGroups", "targeting_groups")
    _over(
        limits, "max_targeting_groups_per_group", len(targeting_groups), where, "targeting groups"
    )
    for targeting_group in targeting_groups:
        targetings = _items(targeting_group, "targetings")
        _over(limits, "max_targetings_per_group", len(targetings), where, "targetings in a group")
        totals.targetings += len(targetings)
        for targeting in targetings:
            value = targeting.get("value") if isinstance(targeting, Mapping) else None
            if isinstance(value, list):
                _over(limits, "max_list_length", len(value), where, "items in a targeting value")
