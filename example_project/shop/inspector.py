"""What the Flagship page shows about the current visitor.

Everything is read from the public objects of ``django_flagship``: the
synchronized SDK visitor behind ``request.flags``, the parsed bucket
(``Bucket.explain`` says what happened to each campaign and why), and, in
offline mode, the in-memory hit sink.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

from django.http import HttpRequest

from django_flagship.client import get_bucket, get_client
from django_flagship.sdk import Mode
from django_flagship.sdk.bucketing import Bucket, Campaign
from django_flagship.sdk.tracking import MemoryTracker
from django_flagship.sinks import memory_sink

__all__ = ["inspect_visitor"]

RECENT = 25


@dataclass
class ConditionRow:
    """One targeting of a variation group, evaluated for the visitor."""

    key: str
    operator: str
    expected: str
    actual: str
    result: bool | None


@dataclass
class GroupRow:
    """A variation group and its targeting groups (ORed; each one ANDed)."""

    id: str
    name: str | None
    targeting_groups: list[list[ConditionRow]]
    matched: bool


@dataclass
class CampaignRow:
    id: str
    name: str | None
    type: str | None
    slug: str | None
    matched: bool
    reason: str
    variation_group: str | None = None
    variation: str | None = None
    variation_id: str | None = None
    reference: bool = False
    bucket: int | None = None
    flags: dict[str, Any] = field(default_factory=dict)
    groups: list[GroupRow] = field(default_factory=list)


def _show(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _conditions(
    campaign: Campaign, context: dict[str, Any], visitor_id: str, chosen: str | None
) -> list[GroupRow]:
    rows = []
    for group in campaign.variation_groups:
        targeting_groups = []
        for conditions in group.targeting.groups:
            row = []
            for condition in conditions:
                if condition.key == "fs_users":
                    actual = _show(visitor_id)
                elif condition.key in context:
                    actual = _show(context[condition.key])
                else:
                    actual = "(not in the context)"
                row.append(
                    ConditionRow(
                        key=condition.key,
                        operator=condition.operator,
                        expected=_show(condition.value),
                        actual=actual,
                        result=condition.test(context, visitor_id),
                    )
                )
            targeting_groups.append(row)
        rows.append(GroupRow(group.id, group.name, targeting_groups, group.id == chosen))
    return rows


def _campaign_rows(
    bucket: Bucket, visitor_id: str, context: dict[str, Any], history: dict[str, str]
) -> list[CampaignRow]:
    campaigns = {campaign.id: campaign for campaign in bucket.campaigns}
    hashed = {o.campaign_id: o for o in bucket.explain(visitor_id, context)}
    rows = []
    for outcome in bucket.explain(visitor_id, context, assignments=history):
        campaign = campaigns.get(outcome.campaign_id)
        assignment = outcome.assignment
        first_time = hashed.get(outcome.campaign_id)
        row = CampaignRow(
            id=outcome.campaign_id,
            name=campaign.name if campaign else None,
            type=campaign.type if campaign else None,
            slug=campaign.slug if campaign else None,
            matched=outcome.matched,
            reason=outcome.reason,
            bucket=first_time.bucket if first_time else None,
        )
        if assignment is not None:
            row.variation_group = assignment.variation_group_name or assignment.variation_group_id
            row.variation = assignment.variation_name or assignment.variation_id
            row.variation_id = assignment.variation_id
            row.reference = assignment.reference
            row.flags = {key: _show(value) for key, value in assignment.flags.items()}
            if outcome.variation_group_id in history:
                row.reason = "matched (assignment remembered for this visitor)"
        if campaign is not None:
            row.groups = _conditions(campaign, context, visitor_id, outcome.variation_group_id)
        rows.append(row)
    return rows


def _memory_sink() -> MemoryTracker | None:
    """The in-memory sink behind the client's tracker, when hits are kept in memory."""
    try:
        return memory_sink(get_client().tracker)
    except LookupError:
        return None


def _when(timestamp: float) -> str:
    return dt.datetime.fromtimestamp(timestamp).strftime("%H:%M:%S")


def _variation_names(bucket: Bucket | None) -> dict[tuple[str, str], tuple[str, str]]:
    names: dict[tuple[str, str], tuple[str, str]] = {}
    if bucket is None:
        return names
    for campaign in bucket.campaigns:
        for group in campaign.variation_groups:
            for variation in group.variations:
                names[(group.id, variation.id)] = (
                    campaign.name or campaign.id,
                    variation.name or variation.id,
                )
    return names


def inspect_visitor(request: HttpRequest) -> dict[str, Any]:
    """The Flagship page's template context for ``request``'s visitor."""
    visitor = request.flags.visitor
    client = get_client()
    mode = client.config.mode if client.config else Mode.BUCKETING
    # In DECISION_API mode against Flagship's servers there is no local bucket
    # to explain with; everywhere else there is one (the bundled file, Flagship's
    # CDN, or the bucket the site's own Decision API serves from).
    bucket = get_bucket() if mode is Mode.BUCKETING or client.config.api_key else None
    data: dict[str, Any] = {
        "mode": mode.name,
        "visitor": visitor,
        "context": {},
        "campaigns": [],
        "flags": [],
        "bucket": bucket,
        "hits": None,
        "activations": None,
    }
    if visitor is None:
        return data
    context = visitor.decision_context
    data["context"] = {key: _show(value) for key, value in sorted(context.items())}
    if bucket is not None:
        data["campaigns"] = _campaign_rows(
            bucket, visitor.visitor_id, context, dict(visitor.assignment_history)
        )
    data["flags"] = [
        {
            "key": key,
            "value": _show(info.value),
            "campaign": info.assignment.campaign_name or info.assignment.campaign_id,
            "variation": info.assignment.variation_name or info.assignment.variation_id,
        }
        for key, info in sorted(visitor.flags.items())
    ]
    sink = _memory_sink()
    if sink is not None:
        ids = {visitor.visitor_id, visitor.anonymous_id} - {None}
        names = _variation_names(bucket)
        data["hits"] = [
            {
                "when": _when(item.created_at),
                "type": item.hit_type,
                "visitor_id": item.visitor_id,
                "anonymous_id": item.anonymous_id,
                "fields": {
                    key: value if isinstance(value, str) else _show(value)
                    for key, value in item.payload.items()
                    if key not in ("t", "ds")
                },
            }
            for item in reversed(sink.hits)
            if item.visitor_id in ids or item.anonymous_id in ids
        ][:RECENT]
        data["activations"] = [
            {
                "when": _when(item.created_at),
                "visitor_id": item.visitor_id,
                "anonymous_id": item.anonymous_id,
                "variation_group_id": item.variation_group_id,
                "variation_id": item.variation_id,
                "campaign": names.get((item.variation_group_id, item.variation_id), ("?", "?"))[0],
                "variation": names.get((item.variation_group_id, item.variation_id), ("?", "?"))[1],
            }
            for item in reversed(sink.activations)
            if item.visitor_id in ids or item.anonymous_id in ids
        ][:RECENT]
    return data
