"""``FLAGSHIP_LOCAL_FLAGS``: flags declared in settings or code, no table needed.

::

    FLAGSHIP_LOCAL_FLAGS = {
        "vip_feature": False,                    # everyone gets False
        "btn_color": {"red": 50, "blue": 50},    # an ab test: half red, half blue
        "beta": {True: 10},                      # 10 % get True, the others the default
    }

Each flag becomes one campaign of the local bucketing document, before the
authored ones (so a campaign authored for the same key wins: the later
campaign wins in Flagship's merge). A value that is a dict is a split: its
keys are the variations' values (the first is the reference) and its values
whole percents adding up to 100 at most; any other JSON value (a string, a
number, a boolean, a list) goes to everyone. A flag whose value is an object
cannot be declared here: author it in the admin.

Ids are made from the key, ``settings-<key>``, so the same settings give the
same document (and the same buckets) in every process.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Mapping
from typing import Any

from . import document

__all__ = ["local_flags_problems", "settings_campaigns"]

_SAFE = re.compile(r"[A-Za-z0-9_-]{1,40}")
_EVERYONE = {
    "targetingGroups": [
        {"targetings": [{"key": document.ALL_USERS, "operator": "EQUALS", "value": ""}]}
    ]
}


def _json_problem(value: Any, where: str) -> str | None:
    if value is None:
        return f"{where} is None: leave the flag out instead (its default then applies)"
    if isinstance(value, float) and not math.isfinite(value):
        return f"{where} must be a finite number"
    if isinstance(value, bool | int | float | str):
        return None
    if isinstance(value, list | tuple):
        for item in value:
            problem = _json_problem(item, f"an item of {where}") if item is not None else None
            if problem:
                return problem
        return None
    return f"{where} is a {type(value).__name__}, not a JSON value"


def local_flags_problems(flags: Any) -> list[str]:
    """Every problem of a ``FLAGSHIP_LOCAL_FLAGS`` value, each a sentence."""
    if flags is None:
        return []
    if not isinstance(flags, Mapping):
        return [f"FLAGSHIP_LOCAL_FLAGS must be a dict, not {type(flags).__name__}"]
    problems = []
    for key, value in flags.items():
        if not isinstance(key, str) or not key.strip() or len(key) > document.MAX_TEXT:
            problems.append(f"the flag key {key!r} must be a non-empty string")
            continue
        where = f"FLAGSHIP_LOCAL_FLAGS[{key!r}]"
        if not isinstance(value, Mapping):
            problem = _json_problem(value, where)
            if problem:
                problems.append(problem)
            continue
        if not value:
            problems.append(f"{where} is an empty split: give it {{value: percent, ...}}")
            continue
        total = 0
        for option, percent in value.items():
            problem = _json_problem(option, f"the value {option!r} of {where}")
            if problem or isinstance(option, tuple):
                problems.append(problem or f"{where}: a split's value cannot be a tuple")
            if isinstance(percent, bool) or not isinstance(percent, int) or not 0 <= percent <= 100:
                problems.append(
                    f"{where}[{option!r}] is {percent!r}: a percent is a whole number from 0 to 100"
                )
            else:
                total += percent
        if total > 100:
            problems.append(f"{where}: the percents add up to {total}, more than 100")
    return problems


def _id(key: str) -> str:
    if _SAFE.fullmatch(key):
        return f"settings-{key}"
    return "settings-" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:20]


def _variation(
    var_id: str, name: str, allocation: int, flags: dict[str, Any], reference: bool
) -> dict[str, Any]:
    return {
        "id": var_id,
        "name": name,
        "reference": reference,
        "allocation": allocation,
        "modifications": {"type": "FLAG", "value": flags},
    }


def _campaign(key: str, value: Any) -> dict[str, Any]:
    base = _id(key)
    if isinstance(value, Mapping):
        kind = "ab"
        variations = [
            _variation(
                f"{base}-{index}",
                document.dumps(option),
                percent,
                {key: option},
                reference=index == 0,
            )
            for index, (option, percent) in enumerate(value.items())
        ]
    else:
        kind = "toggle"
        if isinstance(value, tuple):
            value = list(value)
        variations = [_variation(f"{base}-on", "Everyone", 100, {key: value}, reference=False)]
    return {
        "id": base,
        "name": f"{key} (FLAGSHIP_LOCAL_FLAGS)",
        "slug": None,
        "type": kind,
        "bucketRanges": [{"r": [0, 100]}],
        "variationGroups": [
            {
                "id": f"{base}-all",
                "name": "Everyone",
                "targeting": _EVERYONE,
                "variations": variations,
            }
        ],
    }


def settings_campaigns(flags: Any) -> list[dict[str, Any]]:
    """The campaigns of ``FLAGSHIP_LOCAL_FLAGS``; raises :class:`.document.DocumentError`."""
    problems = local_flags_problems(flags)
    if problems:
        raise document.DocumentError(problems)
    return [_campaign(key, value) for key, value in (flags or {}).items()]
