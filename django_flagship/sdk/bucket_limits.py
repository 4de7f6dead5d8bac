"""How much of a bucketing file is accepted, and how long its download may take.

A bucketing file comes from the CDN, a local file or the shared cache, and is
parsed by every process: one too large, too slow or too deeply built must be
refused with an error naming the bound it passed, never take the process down,
and never replace the bucket in use. Each bound is far above any real
Flagship file (an account with a few hundred campaigns of a few variation
groups each weighs well under a megabyte).

=========================  ==============  ==============================================
Bound                      Default         Setting (Django) / meaning
=========================  ==============  ==============================================
``max_bytes``              16 MiB          ``FLAGSHIP_BUCKET_MAX_BYTES``: the JSON text
``max_campaigns``          10,000          ``FLAGSHIP_BUCKET_MAX_CAMPAIGNS``
``download_deadline``      30 s            ``FLAGSHIP_BUCKET_DOWNLOAD_DEADLINE``: a whole
                                           download (``timeout`` bounds each wait)
``max_depth``              64              nesting of objects and arrays
``max_variation_groups``   1,000           variation groups in one campaign
``max_variations``         1,000           variations in one variation group
``max_targeting_groups``   1,000           targeting groups of one variation group
``max_targetings``         1,000           targetings in one targeting group
``max_list_length``        100,000         items in one targeting value list
=========================  ==============  ==============================================
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
    max_campaigns: int = 10_000
    download_deadline: float = 30.0
    max_depth: int = MAX_DEPTH
    max_variation_groups: int = 1_000
    max_variations: int = 1_000
    max_targeting_groups: int = 1_000
    max_targetings: int = 1_000
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
    "download_deadline": "FLAGSHIP_BUCKET_DOWNLOAD_DEADLINE",
}


def _setting(bound: str) -> str:
    name = _SETTINGS.get(bound)
    return f"{name} raises it" if name else "a fixed bound"


def _items(container: Any, *names: str) -> list[Any]:
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


def _over(count: int, limit: int, where: str, what: str, bound: str) -> None:
    if count > limit:
        raise BucketError(
            f"{where} has {count:,} {what}, more than the limit of {limit:,} ({_setting(bound)})"
        )


def check_bucket_limits(data: Any, limits: BucketLimits = DEFAULT_LIMITS) -> None:
    """Raise :class:`BucketError` naming the first bound that decoded ``data`` passes.

    Counts only: a few list lengths per campaign, before anything is compiled.
    """
    campaigns = _items(data, "campaigns")
    _over(len(campaigns), limits.max_campaigns, "the bucketing file", "campaigns", "max_campaigns")
    for index, campaign in enumerate(campaigns):
        name = campaign.get("id") if isinstance(campaign, Mapping) else None
        where = f"campaign {name!r}" if isinstance(name, str) else f"campaign {index}"
        groups = _items(campaign, "variationGroups", "variation_groups")
        _over(
            len(groups),
            limits.max_variation_groups,
            where,
            "variation groups",
            "max_variation_groups",
        )
        for group in groups:
            _check_group(group, where, limits)


def _check_group(group: Any, where: str, limits: BucketLimits) -> None:
    name = group.get("id") if isinstance(group, Mapping) else None
    where = f"{where}, variation group {name!r}" if isinstance(name, str) else where
    variations = _items(group, "variations")
    _over(len(variations), limits.max_variations, where, "variations", "max_variations")
    targeting = group.get("targeting") if isinstance(group, Mapping) else None
    targeting_groups = _items(targeting, "targetingGroups", "targeting_groups")
    _over(
        len(targeting_groups),
        limits.max_targeting_groups,
        where,
        "targeting groups",
        "max_targeting_groups",
    )
    for targeting_group in targeting_groups:
        targetings = _items(targeting_group, "targetings")
        _over(
            len(targetings), limits.max_targetings, where, "targetings in a group", "max_targetings"
        )
        for targeting in targetings:
            value = targeting.get("value") if isinstance(targeting, Mapping) else None
            if isinstance(value, list):
                _over(
                    len(value),
                    limits.max_list_length,
                    where,
                    "items in a targeting value",
                    "max_list_length",
                )
