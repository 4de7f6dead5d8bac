"""The local decision engine: parse a bucketing file once, decide per visitor.

:meth:`Bucket.decide` follows the order of Flagship's decision engine
(flagship-common ``GetDecision``), for each campaign in file order:

1. campaigns with an id already seen are ignored (the first one wins);
2. the first variation group whose targeting matches is chosen; when none
   matches, the campaign is skipped;
3. single assignment (``accountSettings.enabled1V1T``): once an ``ab``
   campaign has been assigned, later ``ab`` campaigns are skipped;
4. bucket ranges: when the campaign has ``bucketRanges``, the visitor id's
   own bucket must fall in one ``[start, end)`` range (an empty list excludes
   everyone); a campaign without the key is open to all;
5. the variation: a cached assignment ``{variationGroupId: variationId}``
   when there is one (a cached variation that no longer exists skips the
   campaign), otherwise the hash bucket against the cumulative allocations in
   file order; a visitor outside every allocation is not assigned, and the
   campaign is skipped (no fall-through to the next variation group).

Everything that does not depend on the visitor (the targeting code, the
allocation table of each variation group, the :class:`Assignment` of each
variation) is built once by :meth:`Bucket.parse`, which costs up to about a
millisecond per campaign (mostly compiling the generated targeting
function); a decision then costs well under a microsecond per campaign.
"""

from __future__ import annotations

import dataclasses
import math
import struct
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import mmh3

from .hashing import decision_group_key, encode_utf8
from .model import Assignment
from .targeting import (
    CompiledTargeting,
    TargetingError,
    compile_selector,
    compile_targeting,
    wire_field,
)

__all__ = [
    "Bucket",
    "BucketError",
    "Campaign",
    "CampaignOutcome",
    "Variation",
    "VariationGroup",
]

_INT32 = 2**31


# MurmurHash3 x86 32-bit, seed 0, unsigned, of bytes (the fast entry point of
# mmh3 5; the keyword form elsewhere).
_hash: Callable[[bytes], int] = getattr(
    mmh3, "mmh3_32_uintdigest", lambda data: mmh3.hash(data, 0, False)
)


class BucketError(ValueError):
    """The bucketing data is not a bucketing file at all."""


class _Malformed(Exception):
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
        raise _Malformed(f"{name} must be a string, got {type(value).__name__}")
    return value


def _required_id(data: Any, what: str) -> str:
    if not isinstance(data, Mapping):
        raise _Malformed(f"{what} is not an object")
    value = data.get("id")
    if not isinstance(value, str) or not value:
        raise _Malformed(f"{what} has no id")
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
        raise _Malformed("bucketRanges is not a list")
    ranges = []
    for index, item in enumerate(raw):
        bounds = item.get("r") if isinstance(item, Mapping) else None
        if (
            not isinstance(bounds, list | tuple)
            or len(bounds) < 2
            or not (_is_number(bounds[0]) and _is_number(bounds[1]))
        ):
            raise _Malformed(f"bucketRanges[{index}] is not {{'r': [start, end]}}")
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
        raise _Malformed(f"variation {var_id!r}: allocation must be an integer")
    allocation = int(allocation)
    if not -_INT32 <= allocation < _INT32:
        raise _Malformed(f"variation {var_id!r}: allocation out of range")
    reference = raw.get("reference")
    if reference is None:
        reference = False
    elif not isinstance(reference, bool):
        raise _Malformed(f"variation {var_id!r}: reference must be a boolean")
    modifications = raw.get("modifications")
    flags: dict[str, Any] = {}
    modification_type = "FLAG"
    if modifications is not None:
        if not isinstance(modifications, Mapping):
            raise _Malformed(f"variation {var_id!r}: modifications is not an object")
        values = modifications.get("value")
        if values is not None:
            if not isinstance(values, Mapping):
                raise _Malformed(f"variation {var_id!r}: modifications.value is not an object")
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
            raise _Malformed(f"targeting: {exc}") from None
        raw_variations = raw.get("variations")
        if raw_variations is None:
            raw_variations = []
        if not isinstance(raw_variations, list | tuple):
            raise _Malformed("variations is not a list")
        variations = tuple(
            _parse_variation(item, i, campaign, vg_id, name)
            for i, item in enumerate(raw_variations)
        )
        by_id: dict[str, Variation] = {}
        for variation in variations:
            # Like the engine's cache lookup: the last variation with an id wins.
            by_id[variation.id] = variation
    except _Malformed as exc:
        raise _Malformed(f"variation group {vg_id!r}: {exc}") from None
    return VariationGroup(
        id=vg_id,
        name=name,
        targeting=targeting,
        variations=variations,
        table=_allocation_table(variations),
        by_id=MappingProxyType(by_id),
        key=encode_utf8(vg_id),
    )


def _parse_campaign(
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
            raise _Malformed("variationGroups is not a list")
        raw_ranges = wire_field(raw, "bucketRanges", "bucket_ranges")
        ranges = None if raw_ranges is None else _parse_ranges(raw_ranges)
    except _Malformed as exc:
        raise _Malformed(f"campaign {campaign_id!r}: {exc}") from None

    groups: list[VariationGroup] = []
    problems: list[str] = []
    for vg_index, raw_group in enumerate(raw_groups):
        try:
            groups.append(_parse_variation_group(raw_group, vg_index, meta))
        except _Malformed as exc:
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


def _allocation_item(campaign: Campaign, group: VariationGroup) -> tuple[Any, ...]:
    """(allowed range buckets, hash prefix, table, campaign, group) for decide().

    The table maps a bucket to an Assignment (or None). When every bucket gets
    the same answer (one variation at 100 %, say), no hash is needed: the hash
    prefix is None and the table is that answer.
    """
    table = tuple(v.assignment if v else None for v in group.table)
    if all(entry is table[0] for entry in table):
        return (campaign.allowed, None, table[0], campaign, group)
    return (campaign.allowed, group.key, table, campaign, group)


def _ignore(message: str) -> None:
    return None


_NOT_MATCHED = "no variation group matched targeting"


class Bucket:
    """A parsed bucketing file, ready to decide for any number of visitors.

    Instances are immutable after :meth:`parse` and safe to share between
    threads.
    """

    __slots__ = (
        "_entries",
        "_one_ab",
        "_select",
        "account_settings",
        "campaigns",
        "panic",
        "raw",
        "variation_group_count",
    )

    panic: bool
    account_settings: dict[str, Any]
    campaigns: tuple[Campaign, ...]
    raw: Mapping[str, Any]
    variation_group_count: int
    _entries: tuple[tuple[Any, Any, tuple[str, ...]], ...]
    _one_ab: bool
    _select: Callable[[Mapping[str, Any], str], list[Any]]

    def __init__(self) -> None:
        raise TypeError("use Bucket.parse(data)")

    @property
    def campaign_count(self) -> int:
        """Campaigns that were read, duplicates included, malformed ones excluded."""
        return len(self.campaigns)

    @classmethod
    def parse(
        cls,
        data: Mapping[str, Any],
        *,
        on_error: Callable[[str], None] | None = None,
    ) -> Bucket:
        """Compile a decoded ``bucketing.json``.

        A campaign or variation group that cannot be read is skipped and
        described to ``on_error``; the rest of the file is used. Data that is
        not a bucketing file at all raises :class:`BucketError`.
        """
        report = on_error or _ignore
        if not isinstance(data, Mapping):
            raise BucketError(f"bucketing data must be a JSON object, not {type(data).__name__}")
        panic = data.get("panic")
        if panic is None:
            panic = False
        if not isinstance(panic, bool):
            raise BucketError("bucketing data: 'panic' must be a boolean")
        raw_campaigns = data.get("campaigns")
        if raw_campaigns is None:
            raw_campaigns = []
        if not isinstance(raw_campaigns, list | tuple):
            raise BucketError("bucketing data: 'campaigns' must be a list")
        settings = wire_field(data, "accountSettings", "account_settings")
        if settings is None:
            settings = {}
        if not isinstance(settings, Mapping):
            raise BucketError("bucketing data: 'accountSettings' must be an object")

        campaigns: list[Campaign] = []
        # Per raw campaign, in file order: (campaign, None, problems) or, for a
        # campaign that could not be read, (None, (its id or "", message), ()).
        entries: list[tuple[Any, Any, tuple[str, ...]]] = []
        seen: set[str] = set()
        for index, raw in enumerate(raw_campaigns):
            try:
                campaign, problems = _parse_campaign(raw, index, report)
            except _Malformed as exc:
                message = f"{exc}; campaign skipped"
                report(message)
                raw_id = raw.get("id") if isinstance(raw, Mapping) else None
                entries.append((None, (raw_id if isinstance(raw_id, str) else "", message), ()))
                continue
            if campaign.id in seen:
                campaign = dataclasses.replace(campaign, duplicate=True)
            seen.add(campaign.id)
            campaigns.append(campaign)
            entries.append((campaign, None, problems))

        bucket = object.__new__(cls)
        bucket.raw = data
        bucket.panic = panic
        bucket.account_settings = dict(settings)
        bucket.campaigns = tuple(campaigns)
        bucket.variation_group_count = sum(len(c.variation_groups) for c in campaigns)
        bucket._entries = tuple(entries)
        # decide() runs a generated function that reads the context once and
        # returns, for each campaign whose targeting matches, what allocating
        # the visitor takes (see _allocation_item).
        bucket._select = compile_selector(
            [
                [(g.targeting, _allocation_item(c, g)) for g in c.variation_groups]
                for c in campaigns
                if not c.duplicate
            ]
        )
        bucket._one_ab = settings.get("enabled1V1T") is True
        return bucket

    def __repr__(self) -> str:
        return (
            f"<Bucket campaigns={self.campaign_count} "
            f"variation_groups={self.variation_group_count} panic={self.panic}>"
        )

    def decide(
        self,
        visitor_id: str,
        context: Mapping[str, Any],
        *,
        decision_group: str | None = None,
        assignments: Mapping[str, str] | None = None,
    ) -> list[Assignment]:
        """The visitor's assignments, one per campaign, in campaign order.

        ``assignments`` maps variation group ids to variation ids remembered
        from earlier decisions; they win over the hash. ``decision_group``
        makes every member of the group share the same variations.
        """
        if type(visitor_id) is not str:
            raise TypeError(f"visitor_id must be a str, not {type(visitor_id).__name__}")
        if self.panic:
            return []
        if context is None:
            context = {}
        suffix = encode_utf8(decision_group_key(decision_group) if decision_group else visitor_id)
        range_bucket = -1
        result: list[Assignment] = []
        chosen = self._select(context, visitor_id)
        if not (assignments or self._one_ab):
            # The common case, kept lean: no cached assignments, no 1V1T.
            append = result.append
            for allowed, key, table, _campaign, _group in chosen:
                if allowed is not None:
                    if range_bucket < 0:
                        range_bucket = _hash(encode_utf8(visitor_id)) % 100
                    if not allowed[range_bucket]:
                        continue
                assignment = table if key is None else table[_hash(key + suffix) % 100]
                if assignment is not None:
                    append(assignment)
            return result
        ab_assigned = False
        for allowed, key, table, campaign, group in chosen:
            if self._one_ab and ab_assigned and campaign.type == "ab":
                continue
            if allowed is not None:
                if range_bucket < 0:
                    range_bucket = _hash(encode_utf8(visitor_id)) % 100
                if not allowed[range_bucket]:
                    continue
            if assignments and group.id in assignments:
                variation = group.by_id.get(assignments[group.id])
                assignment = variation.assignment if variation is not None else None
            else:
                assignment = table if key is None else table[_hash(key + suffix) % 100]
            if assignment is None:
                continue
            if campaign.type == "ab":
                ab_assigned = True
            result.append(assignment)
        return result

    def explain(
        self,
        visitor_id: str,
        context: Mapping[str, Any],
        *,
        decision_group: str | None = None,
        assignments: Mapping[str, str] | None = None,
    ) -> list[CampaignOutcome]:
        """For every campaign of the file, what :meth:`decide` did with it and why."""
        if type(visitor_id) is not str:
            raise TypeError(f"visitor_id must be a str, not {type(visitor_id).__name__}")
        if context is None:
            context = {}
        suffix = encode_utf8(decision_group_key(decision_group) if decision_group else visitor_id)
        range_bucket = _hash(encode_utf8(visitor_id)) % 100
        ab_assigned = False
        outcomes: list[CampaignOutcome] = []
        for campaign, message, problems in self._entries:
            if campaign is None:
                raw_id, why = message
                outcomes.append(CampaignOutcome(raw_id, f"malformed: {why}"))
                continue
            outcome = self._explain_campaign(
                campaign,
                problems,
                visitor_id,
                context,
                suffix,
                range_bucket,
                ab_assigned,
                assignments,
            )
            if outcome.matched and campaign.type == "ab":
                ab_assigned = True
            outcomes.append(outcome)
        return outcomes

    def _explain_campaign(
        self,
        campaign: Campaign,
        problems: tuple[str, ...],
        visitor_id: str,
        context: Mapping[str, Any],
        suffix: bytes,
        range_bucket: int,
        ab_assigned: bool,
        assignments: Mapping[str, str] | None,
    ) -> CampaignOutcome:
        cid = campaign.id
        if self.panic:
            return CampaignOutcome(cid, "panic mode: no campaign is served")
        if campaign.duplicate:
            return CampaignOutcome(cid, "duplicate campaign id")
        detail = list(problems)
        chosen = None
        for group in campaign.variation_groups:
            why = group.targeting.explain(context, visitor_id)
            detail.append(f"variation group {group.id!r}: {why}")
            if group.targeting.matches(context, visitor_id):
                chosen = group
                break
        if chosen is None:
            if not campaign.variation_groups:
                return CampaignOutcome(cid, "no variation group", detail=tuple(detail))
            return CampaignOutcome(cid, _NOT_MATCHED, detail=tuple(detail))
        vg_id = chosen.id
        if self._one_ab and ab_assigned and campaign.type == "ab":
            return CampaignOutcome(
                cid,
                "single assignment (1V1T): another ab campaign is already assigned",
                variation_group_id=vg_id,
                detail=tuple(detail),
            )
        if campaign.allowed is not None and not campaign.allowed[range_bucket]:
            return CampaignOutcome(
                cid,
                f"outside bucket ranges (bucket {range_bucket})",
                variation_group_id=vg_id,
                bucket=range_bucket,
                detail=tuple(detail),
            )
        if assignments and vg_id in assignments:
            cached = assignments[vg_id]
            variation = chosen.by_id.get(cached)
            if variation is None:
                return CampaignOutcome(
                    cid,
                    f"cached variation {cached!r} is no longer in the variation group",
                    variation_group_id=vg_id,
                    detail=tuple(detail),
                )
            return CampaignOutcome(
                cid,
                "matched",
                variation.assignment,
                vg_id,
                detail=(*detail, f"cached variation {cached!r}"),
            )
        bucket = _hash(chosen.key + suffix) % 100
        variation = chosen.table[bucket]
        if variation is None:
            return CampaignOutcome(
                cid,
                f"not allocated (bucket {bucket})",
                variation_group_id=vg_id,
                bucket=bucket,
                detail=tuple(detail),
            )
        return CampaignOutcome(
            cid, "matched", variation.assignment, vg_id, bucket=bucket, detail=tuple(detail)
        )
