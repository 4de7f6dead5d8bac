"""Decisions, with decision groups kept in the Django cache (protocol 3.5)."""

from __future__ import annotations

import hashlib
from typing import Any

from django.core.cache import caches

from ..sdk.model import Assignment
from ..served_conf import ServerSettings
from .parsing import DecisionRequest

__all__ = ["decide", "group_cache_key"]


def group_cache_key(prefix: str, env_id: str, group: str) -> str:
    """The cache key of ``group``'s variations in ``env_id``.

    Hashed: a group name is free text, and cache backends restrict keys.
    """
    digest = hashlib.sha256(group.encode("utf-8", "surrogatepass")).hexdigest()
    env = hashlib.sha256(env_id.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return f"{prefix}:decision-group:{env}:{digest}"


def _stored_group(cache: Any, key: str) -> dict[str, str] | None:
    stored = cache.get(key)
    return stored if isinstance(stored, dict) else None


def decide(
    bucket: Any, request: DecisionRequest, *, env_id: str, conf: ServerSettings
) -> list[Assignment]:
    """The visitor's assignments, in bucket order.

    With a decision group the variation is hashed from the group (protocol
    3.5) and the group's variations are kept in the Django cache: every
    process then answers the same for the group, and a changed allocation
    does not move it.

    The group's first entry is written with ``cache.add``, so when two
    processes decide a new group at once only one entry is kept; the other
    process reads the winner's variations and answers with them. A group
    that later gets variation groups it had no variation for (a new
    campaign, other targeting) has them merged into its entry, the
    variations already stored winning.
    """
    group = request.decision_group
    if not group:
        return bucket.decide(request.visitor_id, request.context)
    cache = caches[conf.cache_alias]
    key = group_cache_key(conf.cache_key_prefix, env_id, group)
    stored = _stored_group(cache, key)
    assignments = bucket.decide(
        request.visitor_id, request.context, decision_group=group, assignments=stored or {}
    )
    known = stored or {}
    fresh = {
        a.variation_group_id: a.variation_id
        for a in assignments
        if known.get(a.variation_group_id) != a.variation_id
    }
    if not fresh:
        return assignments
    if stored is None and cache.add(key, fresh, conf.group_ttl):
        return assignments  # the group's first decision, and this process's
    # Another process wrote the group since it was read (or this adds to it):
    # what the cache holds now wins over what was just decided.
    current = _stored_group(cache, key) or {}
    merged = {**fresh, **current}
    if merged != current:
        cache.set(key, merged, conf.group_ttl)
    if any(current.get(vg, variation) != variation for vg, variation in fresh.items()):
        assignments = bucket.decide(
            request.visitor_id, request.context, decision_group=group, assignments=merged
        )
    return assignments
