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
from collections.abc import Callable, Mapping
from typing import Any

import mmh3

from .campaigns import (
    BucketError,
    Campaign,
    CampaignOutcome,
    MalformedEntry,
    Variation,
    VariationGroup,
    allocation_item,
    parse_campaign,
)
from .hashing import decision_group_key, encode_utf8
from .model import Assignment, FlagInfo
from .targeting import (
    compile_selector,
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


# MurmurHash3 x86 32-bit, seed 0, unsigned, of bytes (the fast entry point of
# mmh3 5; the keyword form elsewhere).
_hash: Callable[[bytes], int] = getattr(
    mmh3, "mmh3_32_uintdigest", lambda data: mmh3.hash(data, 0, False)
)


def _ignore(message: str) -> None:
    return None


_NOT_MATCHED = "no variation group matched targeting"


_NOT_REMEMBERED = object()


def _flag_sources(
    campaigns: list[Campaign],
) -> dict[str, tuple[tuple[str, dict[str, FlagInfo]], ...]] | None:
    """Each flag key's ``(variation group id, {variation id: FlagInfo})``, latest campaign first.

    Only the campaigns decide() uses, and in each group only the variations
    that set the key. ``None`` when two campaigns share a variation group id:
    a decision's ``{variationGroupId: variationId}`` then cannot tell their
    assignments apart.
    """
    sources: dict[str, list[tuple[str, dict[str, FlagInfo]]]] = {}
    group_ids: set[str] = set()
    for campaign in campaigns:
        if campaign.duplicate:
            continue
        for group in campaign.variation_groups:
            if group.id in group_ids:
                return None
            group_ids.add(group.id)
            by_key: dict[str, dict[str, FlagInfo]] = {}
            for variation_id, variation in group.by_id.items():
                for key, info in variation.assignment.flag_infos.items():
                    by_key.setdefault(key, {})[variation_id] = info
            for key, infos in by_key.items():
                sources.setdefault(key, []).append((group.id, infos))
    return {key: tuple(reversed(found)) for key, found in sources.items()}


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
        "flag_sources",
        "panic",
        "raw",
        "variation_group_count",
    )

    panic: bool
    account_settings: dict[str, Any]
    campaigns: tuple[Campaign, ...]
    #: Where each flag key is set, the latest campaign first (see DecidedFlags);
    #: ``None`` when variation group ids are not unique.
    flag_sources: Mapping[str, tuple[tuple[str, dict[str, FlagInfo]], ...]] | None
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
                campaign, problems = parse_campaign(raw, index, report)
            except MalformedEntry as exc:
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
        # the visitor takes (see allocation_item).
        bucket._select = compile_selector(
            [
                [(g.targeting, allocation_item(c, g)) for g in c.variation_groups]
                for c in campaigns
                if not c.duplicate
            ]
        )
        bucket._one_ab = settings.get("enabled1V1T") is True
        bucket.flag_sources = _flag_sources(campaigns)
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
            for allowed, key, table, _group_id, _remembered, _is_ab in chosen:
                if allowed is not None:
                    if range_bucket < 0:
                        range_bucket = _hash(encode_utf8(visitor_id)) % 100
                    if not allowed[range_bucket]:
                        continue
                assignment = table if key is None else table[_hash(key + suffix) % 100]
                if assignment is not None:
                    append(assignment)
            return result
        return self._allocate(chosen, visitor_id, suffix, assignments or {})[0]

    def decide_remembered(
        self, visitor_id: str, context: Mapping[str, Any], assignments: Mapping[str, str]
    ) -> tuple[list[Assignment], bool]:
        """:meth:`decide` with a history, and whether it holds every assignment made.

        ``True`` when each assignment is the remembered one: the history needs
        no update, and nobody has to compare it with the decision.
        """
        if type(visitor_id) is not str:
            raise TypeError(f"visitor_id must be a str, not {type(visitor_id).__name__}")
        if self.panic:
            return [], True
        if context is None:
            context = {}
        chosen = self._select(context, visitor_id)
        return self._allocate(chosen, visitor_id, encode_utf8(visitor_id), assignments)

    def _allocate(
        self,
        chosen: list[Any],
        visitor_id: str,
        suffix: bytes,
        remembered_ids: Mapping[str, str],
    ) -> tuple[list[Assignment], bool]:
        """The assignments of the groups ``chosen``, a remembered variation first."""
        one_ab = self._one_ab
        ab_assigned = False
        all_remembered = True
        range_bucket = -1
        result: list[Assignment] = []
        for allowed, key, table, group_id, remembered, is_ab in chosen:
            if ab_assigned and is_ab:  # only set under 1V1T
                continue
            if allowed is not None:
                if range_bucket < 0:
                    range_bucket = _hash(encode_utf8(visitor_id)) % 100
                if not allowed[range_bucket]:
                    continue
            variation_id = remembered_ids.get(group_id, _NOT_REMEMBERED)
            if variation_id is not _NOT_REMEMBERED:
                # A remembered variation no longer in the group: not assigned.
                assignment = remembered.get(variation_id)
            else:
                assignment = table if key is None else table[_hash(key + suffix) % 100]
                if assignment is not None:
                    all_remembered = False
            if assignment is None:
                continue
            if is_ab and one_ab:
                ab_assigned = True
            result.append(assignment)
        return result, all_remembered

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
