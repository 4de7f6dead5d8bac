"""Flags as the ``flagship_flag`` command sees them: one campaign per flag key.

A flag created by the command is a campaign whose slug is the flag key, with
one variation group (its targeting) and either one variation that gives the
value to a share of the visitors (a ``toggle`` campaign; the others get the
code's default) or a split of values (an ``ab`` campaign, the first value the
reference). Raising the share later keeps every visitor who had the flag:
the variation group's id, the hash prefix, does not change.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from . import document

__all__ = ["TYPES", "FlagSpec", "coerce", "parse_target"]

TYPES = ("bool", "str", "int", "float", "json")

_SYMBOLS = {
    "=": "EQUALS",
    "==": "EQUALS",
    "!=": "NOT_EQUALS",
    ">": "GREATER_THAN",
    ">=": "GREATER_THAN_OR_EQUALS",
    "<": "LOWER_THAN",
    "<=": "LOWER_THAN_OR_EQUALS",
}
_SYMBOLIC = re.compile(r"^\s*([^=!<>\s]+)\s*(==|!=|>=|<=|=|>|<)\s*(.*?)\s*$", re.DOTALL)
_WORDED = re.compile(r"^\s*(\S+)\s+([A-Za-z_]+)\s+(.*?)\s*$", re.DOTALL)
_TRUE = ("true", "1", "yes", "on")
_FALSE = ("false", "0", "no", "off")


def coerce(text: str, kind: str | None) -> Any:
    """A value typed on the command line, as ``kind`` (or as JSON-or-text without one)."""
    if kind is None:
        return document.parse_value(text)
    if kind == "bool":
        lowered = text.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise ValueError(f"{text!r} is not a boolean (true/false, yes/no, on/off, 1/0)")
    if kind == "int":
        try:
            return int(text.strip())
        except ValueError:
            raise ValueError(f"{text!r} is not a whole number") from None
    if kind == "float":
        try:
            value = float(text.strip())
        except ValueError:
            raise ValueError(f"{text!r} is not a number") from None
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError(f"{text!r} is not a finite number")
        return value
    if kind == "json":
        try:
            return document.loads(text)
        except ValueError as exc:
            raise ValueError(f"{text!r} is not JSON: {exc}") from None
    return text


def parse_target(text: str) -> dict[str, Any]:
    """``plan=gold``, ``age>=18``, ``country EQUALS ["fr","de"]`` as a targeting.

    The value is JSON when it is JSON (``18``, ``true``, ``["fr"]``, ``"123"``),
    the text itself otherwise. Raises ``ValueError`` saying what is wrong.
    """
    worded = _WORDED.match(text)
    if worded and worded.group(2).upper() in document.OPERATORS:
        key, operator, raw = worded.group(1), worded.group(2).upper(), worded.group(3)
    else:
        symbolic = _SYMBOLIC.match(text)
        if not symbolic:
            raise ValueError(
                f"cannot read the target {text!r}: write KEY=VALUE, KEY!=VALUE, KEY>=VALUE "
                "(also >, <, <=) or 'KEY OPERATOR VALUE' with an operator such as CONTAINS"
            )
        key, operator, raw = symbolic.group(1), _SYMBOLS[symbolic.group(2)], symbolic.group(3)
    value = document.parse_value(raw)
    problem = document.targeting_problem(key, operator, value)
    if problem:
        raise ValueError(f"the target {text!r}: {problem}")
    return {"key": key, "operator": operator, "value": value}


@dataclass(frozen=True)
class FlagSpec:
    """What the command was asked for, turned into a campaign of the bucketing file."""

    key: str
    value: Any = True
    percent: int = 100
    split: tuple[tuple[Any, int], ...] = ()
    targets: tuple[dict[str, Any], ...] = ()
    name: str | None = None

    def targeting(self) -> dict[str, Any]:
        targetings = list(self.targets) or [
            {"key": document.ALL_USERS, "operator": "EQUALS", "value": ""}
        ]
        return {"targetingGroups": [{"targetings": targetings}]}

    def variations(self, ids: dict[str, str]) -> list[dict[str, Any]]:
        def variation(
            tag: str, name: str, value: Any, allocation: int, reference: bool
        ) -> dict[str, Any]:
            return {
                "id": ids.get(tag) or document.new_id(),
                "name": name,
                "reference": reference,
                "allocation": allocation,
                "modifications": {"type": "FLAG", "value": {self.key: value}},
            }

        if self.split:
            return [
                variation(f"={json.dumps(value)}", _label(value), value, percent, index == 0)
                for index, (value, percent) in enumerate(self.split)
            ]
        return [variation("on", _label(self.value), self.value, self.percent, False)]

    def campaign(self, existing: dict[str, Any] | None = None) -> dict[str, Any]:
        """The campaign, reusing ``existing``'s ids (the same buckets) when given."""
        ids: dict[str, str] = {}
        if existing is not None:
            group = existing["variationGroups"][0]
            for item in group["variations"]:
                flags = item["modifications"]["value"]
                if not self.split and not ids.get("on"):
                    ids["on"] = item["id"]
                elif self.key in flags:
                    ids[f"={json.dumps(flags[self.key])}"] = item["id"]
        group_id = existing["variationGroups"][0]["id"] if existing else document.new_id()
        return {
            "id": existing["id"] if existing else document.new_id(),
            "name": self.name or (existing or {}).get("name") or self.key,
            "slug": self.key,
            "type": "ab" if self.split else "toggle",
            "bucketRanges": [{"r": [0, 100]}],
            "variationGroups": [
                {
                    "id": group_id,
                    "name": "Targeted visitors" if self.targets else "Everyone",
                    "targeting": self.targeting(),
                    "variations": self.variations(ids),
                }
            ],
        }


def _label(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    return text if len(text) <= 60 else text[:57] + "..."
