"""The bucket, indexed for the server: what it needs beyond decisions, once per bucket."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from ..sdk.model import Assignment
from .render import campaign_v1, campaign_v2, modification_value
from .wire import encode

__all__ = ["BucketIndex", "bucket_index"]


class BucketIndex:
    """What the server needs from a bucket beyond decisions, computed once per bucket.

    ``group_keys``: every flag key of each variation group, for
    ``exposeAllKeys``. ``campaigns``: campaign id and slug to id.
    ``variations``: the variation ids of each variation group, to refuse
    activations of variations that do not exist.
    """

    __slots__ = ("_fragments", "_values", "campaigns", "group_keys", "variations")

    def __init__(self, data: Any) -> None:
        # Per variation, what every visitor who gets it is answered: computed once.
        self._values: dict[tuple[str, str, str, bool], dict[str, Any]] = {}
        self._fragments: dict[tuple[str, str, str, bool, int], bytes] = {}
        self.campaigns: dict[str, str] = {}
        self.group_keys: dict[str, tuple[str, ...]] = {}
        self.variations: dict[str, frozenset[str]] = {}
        campaigns = data.get("campaigns") if isinstance(data, Mapping) else None
        for campaign in campaigns if isinstance(campaigns, list) else ():
            if not isinstance(campaign, Mapping) or not isinstance(campaign.get("id"), str):
                continue
            campaign_id = campaign["id"]
            if campaign_id in self.campaigns.values():
                continue  # a repeated campaign id is never decided: the first one wins
            self.campaigns.setdefault(campaign_id, campaign_id)
            slug = campaign.get("slug")
            if isinstance(slug, str) and slug:
                self.campaigns.setdefault(slug, campaign_id)
            groups = campaign.get("variationGroups", campaign.get("variation_groups"))
            for group in groups if isinstance(groups, list) else ():
                if isinstance(group, Mapping) and isinstance(group.get("id"), str):
                    self._add_group(group)

    def _add_group(self, group: Mapping[str, Any]) -> None:
        keys: dict[str, None] = {}
        ids: set[str] = set()
        variations = group.get("variations")
        for variation in variations if isinstance(variations, list) else ():
            if not isinstance(variation, Mapping):
                continue
            if isinstance(variation.get("id"), str):
                ids.add(variation["id"])
            modifications = variation.get("modifications")
            value = modifications.get("value") if isinstance(modifications, Mapping) else None
            if isinstance(value, Mapping):
                keys.update(dict.fromkeys(k for k in value if isinstance(k, str)))
        self.group_keys[group["id"]] = tuple(keys)
        self.variations[group["id"]] = frozenset(ids)

    def value(self, assignment: Assignment, expose_all_keys: bool) -> dict[str, Any]:
        """:func:`modification_value`, cached; callers must not change it."""
        key = (
            assignment.campaign_id,
            assignment.variation_group_id,
            assignment.variation_id,
            expose_all_keys,
        )
        value = self._values.get(key)
        if value is None:
            value = modification_value(assignment, self, expose_all_keys=expose_all_keys)
            self._values[key] = value
        return value

    def fragment(self, assignment: Assignment, expose_all_keys: bool, version: int) -> bytes:
        """The campaign's JSON in a campaigns list, cached: the same for every visitor."""
        key = (
            assignment.campaign_id,
            assignment.variation_group_id,
            assignment.variation_id,
            expose_all_keys,
            version,
        )
        fragment = self._fragments.get(key)
        if fragment is None:
            build = campaign_v2 if version == 2 else campaign_v1
            fragment = encode(build(assignment, self.value(assignment, expose_all_keys)))
            self._fragments[key] = fragment
        return fragment


_index_lock = threading.Lock()
_index_slot: tuple[Any, BucketIndex] | None = None


def bucket_index(bucket: Any) -> BucketIndex:
    """The :class:`BucketIndex` of ``bucket``, built on first use and kept until it changes."""
    global _index_slot
    slot = _index_slot
    if slot is not None and slot[0] is bucket:
        return slot[1]
    with _index_lock:
        slot = _index_slot
        if slot is None or slot[0] is not bucket:
            slot = (bucket, BucketIndex(getattr(bucket, "raw", None)))
            _index_slot = slot
    return slot[1]
