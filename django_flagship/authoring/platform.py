"""The authored campaigns as a plain list, to re-create them in Flagship's platform.

Flagship's platform creates campaigns from its own screens, not from a file:
this list says, campaign by campaign, what to enter there. What it cannot
carry over is listed under "No equivalent in the platform" at the end (see
``docs/authoring.md``).
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["plain_list"]

_SYMBOLS = {
    "EQUALS": "is",
    "NOT_EQUALS": "is not",
    "CONTAINS": "contains",
    "NOT_CONTAINS": "does not contain",
    "STARTS_WITH": "starts with",
    "ENDS_WITH": "ends with",
    "GREATER_THAN": ">",
    "GREATER_THAN_OR_EQUALS": ">=",
    "LOWER_THAN": "<",
    "LOWER_THAN_OR_EQUALS": "<=",
    "EXISTS": "exists",
    "NOT_EXISTS": "does not exist",
}


def _value(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _condition(item: dict[str, Any]) -> str:
    if item["key"] == "fs_all_users":
        return "all users"
    head = "visitor id" if item["key"] == "fs_users" else f"context key {item['key']!r}"
    operator = _SYMBOLS.get(item["operator"], item["operator"])
    text = f"{head} {operator} {_value(item['value'])}"
    if item.get("provider"):
        text += f" (from the integration {item['provider']!r})"
    return text


def _traffic(ranges: Any) -> str:
    if ranges is None:
        return "100% (no bucket ranges)"
    total = sum(end - start for start, end in (r["r"] for r in ranges))
    spans = ", ".join(f"[{r['r'][0]}, {r['r'][1]})" for r in ranges)
    return f"{total:g}% ({spans or 'nobody'})"


def plain_list(data: dict[str, Any], disabled: list[dict[str, Any]] | None = None) -> str:
    """The campaigns of bucketing document ``data`` as text, one block per campaign."""
    lines = ["Campaigns to create in Flagship's platform, in this order", ""]
    settings = data.get("accountSettings") or {}
    if settings.get("enabled1V1T"):
        lines += ["Account setting: single assignment (1V1T) is on.", ""]
    for number, campaign in enumerate(data["campaigns"], start=1):
        title = campaign.get("name") or campaign["id"]
        lines.append(f"{number}. {title}")
        lines.append(f"   type: {campaign.get('type') or '(none)'}")
        if campaign.get("slug"):
            lines.append(f"   slug / custom id: {campaign['slug']}")
        lines.append(f"   traffic: {_traffic(campaign.get('bucketRanges'))}")
        for g_number, group in enumerate(campaign["variationGroups"], start=1):
            lines.append(f"   variation group {g_number}: {group.get('name') or group['id']}")
            alternatives = [
                " and ".join(_condition(t) for t in targeting_group["targetings"])
                for targeting_group in group["targeting"]["targetingGroups"]
            ]
            lines.append(f"     targeting: {' OR '.join(f'({a})' for a in alternatives)}")
            for variation in group["variations"]:
                name = variation.get("name") or variation["id"]
                share = variation.get("allocation")
                role = " (original)" if variation.get("reference") else ""
                lines.append(f"     - {name}{role}: {share if share is not None else 0}%")
                modifications = variation["modifications"]
                if modifications["type"] != "FLAG":
                    lines.append(f"       modification type: {modifications['type']}")
                for key, value in modifications["value"].items():
                    lines.append(f"       {key} = {_value(value)}")
        lines.append("")
    lines += _no_equivalent(data, disabled or [])
    return "\n".join(lines) + "\n"


def _no_equivalent(data: dict[str, Any], disabled: list[dict[str, Any]]) -> list[str]:
    notes = [
        "No equivalent in the platform",
        "- Ids: the platform gives every campaign, variation group and variation ids of its "
        "own. The variation group id is part of the hash that assigns a visitor, so "
        "visitors will be assigned afresh; each visitor's remembered variations "
        "(FLAGSHIP_ASSIGNMENT_HISTORY) name the old ids and no longer apply.",
        "- Campaign order: a flag set by two campaigns takes the later one in the file; "
        "the platform decides the order of its own file.",
    ]
    providers = sorted(
        {
            t["provider"]
            for c in data["campaigns"]
            for g in c["variationGroups"]
            for tg in g["targeting"]["targetingGroups"]
            for t in tg["targetings"]
            if t.get("provider")
        }
    )
    if providers:
        notes.append(
            f"- Targetings on integrations ({', '.join(providers)}) need that integration "
            "set up in the platform."
        )
    if disabled:
        names = ", ".join(c.get("name") or c["id"] for c in disabled)
        notes.append(f"- Disabled campaigns, not listed above: {names}.")
    notes.append(
        "- FLAGSHIP_LOCAL_FLAGS (flags in settings) are not listed: they are code, not "
        "campaigns; add them in the platform if they should be there."
    )
    return notes
