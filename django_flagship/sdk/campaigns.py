"""The campaigns of a bucketing file: their model, and how one campaign is read.

:class:`~.bucketing.Bucket` reads a file campaign by campaign with
:func:`parse_campaign`; a campaign or variation group that cannot be read raises
:class:`MalformedEntry`, and the bucket skips it as Flagship's engine does. What
does not depend on the visitor (allocation tables, compiled targeting, hash
prefixes) is computed here, once per file.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from .hashing import encode_utf8
from .model import Assignment
from .targeting import (
    CompiledTargeting,
    TargetingError,
    compile_targeting,
    wire_field,
)

__all__ = [
    "BucketError",
    "Campaign",
    "CampaignOutcome",
    "MalformedEntry",
    "Variation",
    "VariationGroup",
    "allocation_item",
    "parse_campaign",
]

_INT32 = 2**31


class BucketError(ValueError):
    """The bucketing data is not a bucketing file at all."""


class MalformedEntry(Exception):
    """One campaign or variation group cannot be read."""


def _float32(value: float) -> float:
    """Round to the nearest float32, as Go's ``float32(x)`` does."""
    try:
        return struct.unpack("f", struct.pack("f", value))[0]
    except OverflowError:
        return math.copysign(math.inf, value)


def _is_number(value: Any) -> bool:
    """A JSON number: not a bool, and finite (Python's decoder accepts NaN and 1e999)."""
    if isinstance(value, float):
        return math.isfinite(value)
    return isinstance(value, int) and not isinstance(value, bool)


def _optional_str(data: Mapping[str, Any], name: str) -> str | None:
    value = data.get(name)
    if value is not None and not isinstance(value, str):
        raise MalformedEntry(f"{name} must be a string, got {type(value).__name__}")
    return value


def _required_id(data: Any, what: str) -> str:
    if not isinstance(data, Mapping):
        raise MalformedEntry(f"{what} is not an object")
    value = data.get("id")
    if not isinstance(value, str) or not value:
        raise MalformedEntry(f"{what} has no id")
    return value


@dataclass(frozen=True, slots=True, eq=False)
class Variation:
    """A compiled variation; ``assignment`` is what :meth:`Bucket.decide` returns."""

    id: str
    name: str | None
    allocation: int
    reference: bool
    assignment: Assignment


@dataclass(frozen=True, slots=True, eq=False)
class VariationGroup:
    """A compiled variation group."""

    id: str
    name: str | None
    targeting: CompiledTargeting
    variations: tuple[Variation, ...]
    # table[bucket] is the variation a hash bucket (0..99) lands in, or None.
    table: tuple[Variation | None, ...] = field(repr=False)
    by_id: Mapping[str, Variation] = field(repr=False)
    key: bytes = field(repr=False)  # the UTF-8 id, hash prefix


@dataclass(frozen=True, slots=True, eq=False)
class Campaign:
    """A compiled campaign. ``duplicate`` marks a repeated id (ignored)."""

    id: str
    name: str | None
    type: str | None
    slug: str | None
    variation_groups: tuple[VariationGroup, ...]
    # None without bucketRanges; otherwise allowed[bucket] for buckets 0..99.
    allowed: tuple[bool, ...] | None = field(repr=False)
    bucket_ranges: tuple[tuple[float, float], ...] | None = None
    duplicate: bool = False


@dataclass(frozen=True, slots=True)
class CampaignOutcome:
    """Why a campaign was or was not assigned to a visitor."""

    campaign_id: str
    reason: str
    assignment: Assignment | None = None
    variation_group_id: str | None = None
    bucket: int | None = None
    detail: tuple[str, ...] = ()

    @property
    def matched(self) -> bool:
        return self.assignment is not None


def _copy_json(value: Any) -> Any:
    """A private copy of decoded JSON (dicts and lists; the rest is immutable)."""
    if isinstance(value, Mapping):
        return {key: _copy_json(item) for key, item in value.items()}
    if type(value) is list:
        return [_copy_json(item) for item in value]
    return value


def _allocation_table(
    variations: tuple[Variation, ...],
) -> tuple[Variation | None, ...]:
    # The engine sums float32 allocations and takes the first variation with
    # bucket < running sum.
    running = 0.0
    bounds: list[tuple[float, Variation]] = []
    for variation in variations:
        running = _float32(running + variation.allocation)
        bounds.append((running, variation))
    table: list[Variation | None] = []
    if all(variation.allocation >= 0 for variation in variations):
        # Running sums only grow: walk them once.
        position = 0
        for bucket in range(100):
            while position < len(bounds) and not bucket < bounds[position][0]:
                position += 1
            table.append(bounds[position][1] if position < len(bounds) else None)
        return tuple(table)
    for bucket in range(100):  # negative allocations: search every time
        table.append(next((v for bound, v in bounds if bucket < bound), None))
    return tuple(table)


def _parse_ranges(raw: Any) -> tuple[tuple[float, float], ...]:
    if not isinstance(raw, list | tuple):
        raise MalformedEntry("bucketRanges is not a list")
    ranges = []
    for index, item in enumerate(raw):
        bounds = item.get("r") if isinstance(item, Mapping) else None
        if (
            not isinstance(bounds, list | tuple)
            or len(bounds) < 2
            or not (_is_number(bounds[0]) and _is_number(bounds[1]))
        ):
            raise MalformedEntry(f"bucketRanges[{index}] is not {{'r': [start, end]}}")
        ranges.append((_float32(bounds[0]), _float32(bounds[1])))
    return tuple(ranges)


def _parse_variation(
    raw: Any, index: int, campaign: Mapping[str, Any], vg_id: str, vg_name: str | None
) -> Variation:
    var_id = _required_id(raw, f"variation {index}")
    name = _optional_str(raw, "name")
    allocation = raw.get("allocation")
    if allocation is None:
        allocation = 0
    elif not _is_number(allocation) or allocation != int(allocation):
        raise MalformedEntry(f"variation {var_id!r}: allocation must be an integer")
    allocation = int(allocation)
    if not -_INT32 <= allocation < _INT32:
        raise MalformedEntry(f"variation {var_id!r}: allocation out of range")
    reference = raw.get("reference")
    if reference is None:
        reference = False
    elif not isinstance(reference, bool):
        raise MalformedEntry(f"variation {var_id!r}: reference must be a boolean")
    modifications = raw.get("modifications")
    flags: dict[str, Any] = {}
    modification_type = "FLAG"
    if modifications is not None:
        if not isinstance(modifications, Mapping):
            raise MalformedEntry(f"variation {var_id!r}: modifications is not an object")
        values = modifications.get("value")
        if values is not None:
            if not isinstance(values, Mapping):
                raise MalformedEntry(f"variation {var_id!r}: modifications.value is not an object")
            # A private copy: the flags never alias the raw file.
            flags = _copy_json(values)
        kind = modifications.get("type")
        if isinstance(kind, str) and kind:
            modification_type = kind
    assignment = Assignment(
        campaign_id=campaign["id"],
        variation_group_id=vg_id,
        variation_id=var_id,
        flags=MappingProxyType(flags),
        campaign_name=campaign.get("name"),
        campaign_type=campaign.get("type"),
        slug=campaign.get("slug"),
        variation_group_name=vg_name,
        variation_name=name,
        reference=reference,
        modification_type=modification_type,
    )
    return Variation(var_id, name, allocation, reference, assignment)


def _parse_variation_group(raw: Any, index: int, campaign: Mapping[str, Any]) -> VariationGroup:
    vg_id = _required_id(raw, f"variation group {index}")
    try:
        name = _optional_str(raw, "name")
        try:
            targeting = compile_targeting(raw.get("targeting"))
        except TargetingError as exc:
            raise MalformedEntry(f"targeting: {exc}") from None
        raw_variations = raw.get("variations")
        if raw_variations is None:
            raw_variations = []
        if not isinstance(raw_variations, list | tuple):
            raise MalformedEntry("variations is not a list")
        variations = tuple(
            _parse_variation(item, i, campaign, vg_id, name)
            for i, item in enumerate(raw_variations)
        )
        by_id: dict[str, Variation] = {}
        for variation in variations:
            # Like the engine's cache lookup: the last variation with an id wins.
            by_id[variation.id] = variation
    except MalformedEntry as exc:
        raise MalformedEntry(f"variation group {vg_id!r}: {exc}") from None
    return VariationGroup(
        id=vg_id,
        name=name,
        targeting=targeting,
        variations=variations,
        table=_allocation_table(variations),
        by_id=MappingProxyType(by_id),
        key=encode_utf8(vg_id),
    )


def parse_campaign(
    raw: Any, index: int, report: Callable[[str], None]
) -> tuple[Campaign, tuple[str, ...]]:
    campaign_id = _required_id(raw, f"campaign {index}")
    try:
        meta = {
            "id": campaign_id,
            "name": _optional_str(raw, "name"),
            "type": _optional_str(raw, "type"),
            "slug": _optional_str(raw, "slug"),
        }
        raw_groups = wire_field(raw, "variationGroups", "variation_groups")
        if raw_groups is None:
            raw_groups = []
        if not isinstance(raw_groups, list | tuple):
            raise MalformedEntry("variationGroups is not a list")
        raw_ranges = wire_field(raw, "bucketRanges", "bucket_ranges")
        ranges = None if raw_ranges is None else _parse_ranges(raw_ranges)
    except MalformedEntry as exc:
        raise MalformedEntry(f"campaign {campaign_id!r}: {exc}") from None

    groups: list[VariationGroup] = []
    problems: list[str] = []
    for vg_index, raw_group in enumerate(raw_groups):
        try:
            groups.append(_parse_variation_group(raw_group, vg_index, meta))
        except MalformedEntry as exc:
            message = f"campaign {campaign_id!r}: {exc}; variation group skipped"
            problems.append(message)
            report(message)
    allowed = None
    if ranges is not None:
        allowed = tuple(any(lo <= bucket < hi for lo, hi in ranges) for bucket in range(100))
    campaign = Campaign(
        id=campaign_id,
        name=meta["name"],
        type=meta["type"],
        slug=meta["slug"],
        variation_groups=tuple(groups),
        allowed=allowed,
        bucket_ranges=ranges,
    )
    return campaign, tuple(problems)


def allocation_item(campaign: Campaign, group: VariationGroup) -> tuple[Any, ...]:
    """(allowed range buckets, hash prefix, table, group id, remembered, is ab) for decide().

    The table maps a bucket to an Assignment (or None). When every bucket gets
    the same answer (one variation at 100 %, say), no hash is needed: the hash
    prefix is None and the table is that answer. ``remembered`` maps each
    variation id of the group to its Assignment (a stored history names them).
    """
    table = tuple(v.assignment if v else None for v in group.table)
    remembered = {vid: variation.assignment for vid, variation in group.by_id.items()}
    is_ab = campaign.type == "ab"
    if all(entry is table[0] for entry in table):
        return (campaign.allowed, None, table[0], group.id, remembered, is_ab)
    return (campaign.allowed, group.key, table, group.id, remembered, is_ab)
