"""The campaigns responses, v1 and v2: the bodies and the single campaign's answers.

Shapes follow Flagship's v1 reference and the v2 server (protocol file 1.3-1.6
and 6): v2 writes every campaign field, ``null`` when unknown, in the server's
order; v1 writes the fields of its reference only.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from django.http import HttpResponse

from ..sdk.model import Assignment
from .parsing import DecisionRequest, is_http_url
from .wire import encode, json_response, redirect

if TYPE_CHECKING:
    from .index import BucketIndex

__all__ = [
    "campaign_v1",
    "campaign_v2",
    "formatted_value",
    "modification_value",
    "render_campaigns",
    "single_campaign_response",
]


def modification_value(
    assignment: Assignment, index: BucketIndex | None, *, expose_all_keys: bool
) -> dict[str, Any]:
    """The variation's flags as the server writes them (protocol 1.4).

    With ``exposeAllKeys`` every key of a sibling variation of the same
    variation group is added as ``null``; without it ``null`` values are
    dropped.
    """
    flags = assignment.flags
    if not expose_all_keys:
        return {key: value for key, value in flags.items() if value is not None}
    value = dict(flags)
    if index is not None:
        for key in index.group_keys.get(assignment.variation_group_id, ()):
            if key not in value:
                value[key] = None
    return value


def campaign_v2(assignment: Assignment, value: Mapping[str, Any]) -> dict[str, Any]:
    """A campaign as the v2 server writes it: every field, in the proto's order."""
    return {
        "id": assignment.campaign_id,
        "name": assignment.campaign_name,
        "slug": assignment.slug,
        "type": assignment.campaign_type,
        "variationGroupId": assignment.variation_group_id,
        "variationGroupName": assignment.variation_group_name,
        "variation": {
            "id": assignment.variation_id,
            "name": assignment.variation_name,
            "reference": assignment.reference,
            "modifications": {"type": assignment.modification_type, "value": value},
        },
    }


def campaign_v1(assignment: Assignment, value: Mapping[str, Any]) -> dict[str, Any]:
    """A campaign as the v1 reference writes it."""
    return {
        "id": assignment.campaign_id,
        "variationGroupId": assignment.variation_group_id,
        "variation": {
            "id": assignment.variation_id,
            "modifications": {"type": assignment.modification_type, "value": value},
        },
    }


def render_campaigns(
    visitor_id: str,
    assignments: list[Assignment],
    *,
    mode: str,
    version: int,
    index: BucketIndex,
    expose_all_keys: bool,
) -> bytes:
    """The campaigns response in ``mode`` (normal, simple or full), as JSON bytes.

    Campaign objects come pre-serialized from the index: a response is mostly
    the concatenation of fragments shared by every visitor of a variation.
    ``mergedModifications`` merges the values as written in ``campaigns``,
    the later campaign winning (protocol 3.6).
    """
    parts: list[bytes] = []
    if mode != "simple":
        fragments = b",".join(index.fragment(a, expose_all_keys, version) for a in assignments)
        parts.append(b'"visitorId":' + encode(visitor_id))
        parts.append(b'"campaigns":[' + fragments + b"]")
    if mode != "normal":
        merged: dict[str, Any] = {}
        for assignment in assignments:
            merged.update(index.value(assignment, expose_all_keys))
        pairs = [{"campaignId": a.campaign_id, "variationId": a.variation_id} for a in assignments]
        parts.append(b'"campaignsVariation":' + encode(pairs))
        parts.append(b'"mergedModifications":' + encode(merged))
    return b"{" + b",".join(parts) + b"}"


def formatted_value(value: Mapping[str, Any]) -> str | None:
    """The text of a TEXT/HTML/IMAGE/REDIRECT modification: its first scalar value.

    GO takes an arbitrary key when there are several (Go map order); the first
    key of the variation is used here, so the answer is stable.
    """
    for item in value.values():
        if isinstance(item, str):
            return item
        if isinstance(item, (bool, int, float)):
            return json.dumps(item)
    return None


def single_campaign_response(
    decision: DecisionRequest,
    assignment: Assignment | None,
    value: dict[str, Any],
    *,
    version: int,
) -> HttpResponse:
    """One campaign: JSON, 204 when not assigned, or formatted (reference table).

    IMAGE is never fetched: the answer redirects to the image URL, so no
    request leaves this server for a URL taken from a bucket or a request.
    """
    kind = assignment.modification_type if assignment is not None else None
    target = formatted_value(value) if kind in ("REDIRECT", "IMAGE") else None
    if decision.default_redirect_url:
        if kind == "REDIRECT" and is_http_url(target):
            return redirect(target, value)
        return redirect(decision.default_redirect_url)
    if assignment is None:
        return HttpResponse(status=204)
    if decision.format_response:
        if kind in ("REDIRECT", "IMAGE") and is_http_url(target):
            return redirect(target, value if kind == "REDIRECT" else None)
        if kind in ("TEXT", "HTML"):
            text = formatted_value(value)
            if text is not None:
                content_type = "text/plain" if kind == "TEXT" else "text/html"
                response = HttpResponse(text, content_type=f"{content_type}; charset=utf-8")
                response["X-Content-Type-Options"] = "nosniff"
                return response
        if version == 1 and kind in ("JSON", "FLAG"):
            return json_response(value)
    build = campaign_v2 if version == 2 else campaign_v1
    return json_response(build(assignment, value))
