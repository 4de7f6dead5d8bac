"""The bucketing document authored campaigns compile to, and the rules it follows.

The authored campaigns are stored as rows (:mod:`.models`), and exported,
imported and served in Flagship's own bucketing file format
(``flagship-protocol.md`` sections 2 to 4). This module holds what both sides
share, without Django models: :func:`canonical` reads a bucketing document,
checks it against the rules below and returns it in the one form the compiler
writes (camelCase names, keys in Flagship's order), so that a file in that
form comes back from an import and an export unchanged. It is over 500 lines because
the reader walks the whole document in one pass and every rule it applies is here,
next to the place in the file it checks.

The rules refuse what the decision engine would refuse or skip, and what it
would accept but can never match:

* ids: letters, digits, ``-`` and ``_``, at most 64; unique for campaigns,
  variation groups and variations (the engine keeps only the first campaign
  of an id, and a variation group's id is its hash prefix);
* a variation group has at least one targeting group, each with at least one
  targeting (an empty one never matches), and at least one variation;
* allocations are whole numbers from 0 to 100 that add up to 100 at most, and
  one variation at most is the reference;
* a targeting's operator fits its value (:func:`targeting_problem`);
* flags are an object with non-empty keys, and no JSON object anywhere has a
  key twice (:func:`loads`).
"""

from __future__ import annotations

import json
import math
import re
import secrets
from collections.abc import Iterable, Mapping
from typing import Any

# dumps: the compact text the bucket store keeps (and hashes into the version).
from ..sdk.strict_json import dumps
from ..sdk.targeting import OPERATORS as ENGINE_OPERATORS
from ..sdk.targeting import parse_semver

__all__ = [
    "CAMPAIGN_TYPES",
    "MODIFICATION_TYPES",
    "OPERATORS",
    "DocumentError",
    "allocation_problems",
    "canonical",
    "dumps",
    "flags_problem",
    "id_problem",
    "loads",
    "new_id",
    "parse_value",
    "ranges_problem",
    "targeting_problem",
]

#: The engine's operators, in the order the admin lists them.
OPERATORS = tuple(sorted(ENGINE_OPERATORS))
MODIFICATION_TYPES = ("FLAG", "JSON", "TEXT", "IMAGE", "HTML", "REDIRECT", "TURING_ENGINE")
#: The campaign types Flagship writes; another non-empty word is kept as given.
CAMPAIGN_TYPES = ("ab", "toggle", "perso", "deployment")

ALL_USERS = "fs_all_users"
VISITOR_ID_KEY = "fs_users"
MAX_ID = 64
MAX_TEXT = 255
#: Nesting of one flag value; the whole document then stays within the 64
#: levels a bucketing file may have.
MAX_VALUE_DEPTH = 32
#: Ids of the campaigns of ``FLAGSHIP_LOCAL_FLAGS`` start with it; authored ids may not.
RESERVED_PREFIX = "settings-"

_ID = re.compile(r"[A-Za-z0-9_-]+")
_ID_ALPHABET = "0123456789abcdefghijklmnopqrstuv"
_LIST_OPERATORS = ("EQUALS", "NOT_EQUALS", "CONTAINS", "NOT_CONTAINS")
_STRING_ONLY = ("CONTAINS", "NOT_CONTAINS", "STARTS_WITH", "ENDS_WITH")
_ORDERED = ("GREATER_THAN", "GREATER_THAN_OR_EQUALS", "LOWER_THAN", "LOWER_THAN_OR_EQUALS")


class DocumentError(ValueError):
    """A document, or a part of one, that the rules refuse; ``problems`` says each why."""

    def __init__(self, problems: Iterable[str]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(self.problems))


def new_id() -> str:
    """A new id in the style of Flagship's: 20 characters of ``[0-9a-v]``."""
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(20))


# -- JSON ----------------------------------------------------------------------


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"the key {key!r} appears twice in one object")
        result[key] = value
    return result


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def loads(text: str | bytes) -> Any:
    """JSON that refuses an object with a key twice, and ``NaN`` or ``Infinity``."""
    return json.loads(text, object_pairs_hook=_unique_pairs, parse_constant=_no_constant)


def parse_value(text: str) -> Any:
    """A value typed by a person: JSON when it is JSON, otherwise the text itself.

    ``true`` is a boolean, ``18`` a number, ``["fr", "de"]`` a list, ``gold``
    the string ``"gold"``; ``"123"`` (with quotes) is the string ``123``.
    """
    stripped = text.strip()
    try:
        return loads(stripped)
    except ValueError:
        return text


# -- one value at a time -----------------------------------------------------


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    if value is None:
        return "null"
    return "object"


def id_problem(value: Any, what: str = "id", *, reserved_ok: bool = False) -> str | None:
    if not isinstance(value, str) or not value:
        return f"{what} is required"
    if len(value) > MAX_ID or not _ID.fullmatch(value):
        return (
            f"{what} {value!r} must be 1 to {MAX_ID} letters, digits, '-' or '_' "
            "(it is part of URLs and hits)"
        )
    if value.startswith(RESERVED_PREFIX) and not reserved_ok:
        return f"{what} {value!r}: ids starting with {RESERVED_PREFIX!r} are FLAGSHIP_LOCAL_FLAGS'"
    return None


def _text_problem(value: Any, what: str, *, required: bool = False) -> str | None:
    if value is None:
        return f"{what} is required" if required else None
    if not isinstance(value, str):
        return f"{what} must be a string, not {_kind(value)}"
    if required and not value.strip():
        return f"{what} is required"
    if len(value) > MAX_TEXT:
        return f"{what} is longer than {MAX_TEXT} characters"
    return None


def _scalar_fits(operator: str, kind: str, value: Any) -> str | None:
    """Why ``operator`` does not apply to a scalar of ``kind`` (the engine's errors)."""
    if operator in ("EXISTS", "NOT_EXISTS"):
        return None if kind == "boolean" else f"{operator} takes true or false"
    if operator.startswith("SEMVER_"):
        if kind != "string" or parse_semver(value) is None:
            return f"{operator} takes a semantic version such as 1.4.0, not {value!r}"
        return None
    if operator in _STRING_ONLY and kind != "string":
        return f"{operator} compares strings; {json.dumps(value)} is a {kind}"
    if operator in _ORDERED and kind == "boolean":
        return f"{operator} compares numbers or strings, not booleans"
    if kind == "number" and not math.isfinite(value):
        return "a targeting value must be a finite number"
    return None


def targeting_problem(key: Any, operator: Any, value: Any, provider: Any = None) -> str | None:
    """Why one targeting cannot be used, or ``None``.

    An operator must apply to its value's kind (the engine makes the whole
    variation group's targeting false otherwise), a list takes
    ``EQUALS``/``NOT_EQUALS``/``CONTAINS``/``NOT_CONTAINS`` only and holds
    strings, numbers or booleans of one kind.
    """
    problem = _text_problem(key, "the context key", required=True)
    if problem:
        return problem
    if operator not in OPERATORS:
        return f"unknown operator {operator!r}; use one of {', '.join(OPERATORS)}"
    if provider is not None and (not isinstance(provider, str) or not provider.strip()):
        return "provider must be a non-empty string when given"
    if key == ALL_USERS:
        if operator != "EQUALS":
            return f"{ALL_USERS} (everyone) takes EQUALS: the official SDKs ignore it otherwise"
        return None
    kind = _kind(value)
    if kind == "null":
        return "a targeting needs a value"
    if kind == "object":
        return "a targeting value is a string, a number, a boolean or a list of them"
    if kind == "list":
        kinds = {_kind(item) for item in value}
        if kinds - {"string", "number", "boolean"}:
            return "the items of a list value are strings, numbers or booleans"
        if len(kinds) > 1:
            return "the items of a list value must all be of one kind"
        if operator not in _LIST_OPERATORS:
            return (
                f"{operator} does not take a list (the engine never matches it); "
                f"lists go with {', '.join(_LIST_OPERATORS)}"
            )
        item_kind = kinds.pop() if kinds else "string"
        for item in value:
            problem = _scalar_fits(operator, item_kind, item)
            if problem:
                return problem
    else:
        item_kind = kind
        problem = _scalar_fits(operator, kind, value)
        if problem:
            return problem
    if key == VISITOR_ID_KEY and item_kind != "string":
        return f"{VISITOR_ID_KEY} is the visitor id, a string"
    return None


def allocation_problems(variations: list[tuple[Any, Any]]) -> list[str]:
    """Problems of a variation group's ``(allocation, reference)`` pairs, in order."""
    problems = []
    total = 0
    for index, (allocation, _reference) in enumerate(variations, start=1):
        if allocation is None:
            continue
        if isinstance(allocation, bool) or not isinstance(allocation, int | float):
            problems.append(f"variation {index}: the allocation must be a whole number")
        elif allocation != int(allocation) or not 0 <= allocation <= 100:
            problems.append(
                f"variation {index}: the allocation {allocation} is not a whole number "
                "from 0 to 100"
            )
        else:
            total += int(allocation)
    if total > 100:
        problems.append(f"the allocations add up to {total}, more than 100")
    references = sum(1 for _allocation, reference in variations if reference is True)
    if references > 1:
        problems.append(f"{references} variations are the reference; one at most")
    return problems


def _depth(value: Any) -> int:
    """Levels of nesting, without recursion (a hostile value may be very deep)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, level)
            if level > MAX_VALUE_DEPTH + 1:
                break
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, level + 1) for child in children)
    return deepest


def flags_problem(flags: Any) -> str | None:
    """Why a variation's flags (``modifications.value``) cannot be used."""
    if not isinstance(flags, dict):
        return f"the flags must be a JSON object, not {_kind(flags)}"
    if _depth(flags) > MAX_VALUE_DEPTH + 1:
        return f"a flag value is nested more than {MAX_VALUE_DEPTH} levels deep"
    for key in flags:
        if not isinstance(key, str) or not key.strip():
            return "a flag key must be a non-empty string"
        if len(key) > MAX_TEXT:
            return f"the flag key {key[:40]!r}... is longer than {MAX_TEXT} characters"
    try:
        dumps(flags)
    except ValueError:
        return "a flag value must be a finite number"
    return None


def ranges_problem(ranges: Any) -> str | None:
    """Why ``bucketRanges`` cannot be used (``None``, absent, is fine)."""
    if ranges is None:
        return None
    if not isinstance(ranges, list):
        return 'bucketRanges must be a list of {"r": [start, end]}'
    for index, item in enumerate(ranges, start=1):
        bounds = item.get("r") if isinstance(item, dict) and set(item) == {"r"} else None
        if (
            not isinstance(bounds, list)
            or len(bounds) != 2
            or any(_kind(bound) != "number" for bound in bounds)
        ):
            return f'bucket range {index} must be {{"r": [start, end]}} with two numbers'
        start, end = bounds
        if not (0 <= start < end <= 100):
            return f"bucket range {index}: [{start}, {end}] is not 0 <= start < end <= 100"
    return None


def account_settings_problem(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        return "accountSettings must be an object"
    unknown = set(value) - {"enabledXPC", "enabled1V1T", "troubleshooting"}
    if unknown:
        return f"accountSettings has unknown fields: {', '.join(sorted(unknown))}"
    for name in ("enabledXPC", "enabled1V1T"):
        if name in value and not isinstance(value[name], bool):
            return f"accountSettings.{name} must be true or false"
    troubleshooting = value.get("troubleshooting")
    if troubleshooting is not None and not isinstance(troubleshooting, dict):
        return "accountSettings.troubleshooting must be an object or null"
    return None


# -- whole documents ---------------------------------------------------------


def _field(data: Mapping[str, Any], camel: str, snake: str) -> Any:
    """A field by its JSON or proto name; unlike ``targeting.wire_field``, an explicit
    ``null`` under the JSON name is kept, so that the reader can refuse it."""
    return data[camel] if camel in data else data.get(snake)


def _unknown(data: Mapping[str, Any], known: Iterable[str]) -> str | None:
    extra = sorted(set(data) - set(known))
    return f"unknown fields: {', '.join(map(str, extra))}" if extra else None


def _label(kind: str, index: int, data: Any) -> str:
    name = data.get("id") if isinstance(data, Mapping) else None
    return f"{kind} {index + 1}" + (f" ({name!r})" if isinstance(name, str) else "")


class _Reader:
    """Walks a document once, collecting every problem with where it is."""

    def __init__(self, reserved_ok: bool) -> None:
        self.reserved_ok = reserved_ok
        self.problems: list[str] = []
        self.ids: dict[str, set[str]] = {"campaign": set(), "variation group": set()}
        self.variation_ids: set[str] = set()
        self.slugs: set[str] = set()

    def problem(self, where: str, message: str | None) -> bool:
        if message:
            self.problems.append(f"{where}: {message}")
        return bool(message)

    def unique_id(self, where: str, kind: str, value: Any, seen: set[str]) -> None:
        if self.problem(where, id_problem(value, f"the {kind} id", reserved_ok=self.reserved_ok)):
            return
        if value in seen:
            self.problem(where, f"the {kind} id {value!r} is used twice")
        seen.add(value)

    def document(self, data: Any) -> dict[str, Any]:
        if not isinstance(data, Mapping):
            raise DocumentError(["the bucketing file must be a JSON object"])
        self.problem(
            "the file",
            _unknown(
                data,
                (
                    "panic",
                    "visitorConsolidation",
                    "visitor_consolidation",
                    "generatedAt",
                    "generated_at",
                    "accountSettings",
                    "account_settings",
                    "campaigns",
                ),
            ),
        )
        result: dict[str, Any] = {}
        panic = data.get("panic", False)
        if not isinstance(panic, bool):
            self.problem("the file", "panic must be true or false")
        result["panic"] = panic is True
        consolidation = _field(data, "visitorConsolidation", "visitor_consolidation")
        if consolidation is not None:
            if not isinstance(consolidation, bool):
                self.problem("the file", "visitorConsolidation must be true or false")
            result["visitorConsolidation"] = consolidation
        generated = _field(data, "generatedAt", "generated_at")
        if generated is not None:
            self.problem("the file", _text_problem(generated, "generatedAt"))
            result["generatedAt"] = generated
        settings = _field(data, "accountSettings", "account_settings")
        if settings is not None:
            self.problem("the file", account_settings_problem(settings))
            result["accountSettings"] = settings
        campaigns = data.get("campaigns")
        if not isinstance(campaigns, list):
            self.problem("the file", "campaigns must be a list")
            campaigns = []
        result["campaigns"] = [
            self.campaign(item, _label("campaign", index, item))
            for index, item in enumerate(campaigns)
        ]
        return result

    def campaign(self, data: Any, where: str) -> dict[str, Any]:
        if not isinstance(data, Mapping):
            self.problem(where, "a campaign must be an object")
            return {}
        self.problem(
            where,
            _unknown(
                data,
                (
                    "id",
                    "name",
                    "slug",
                    "type",
                    "bucketRanges",
                    "bucket_ranges",
                    "variationGroups",
                    "variation_groups",
                ),
            ),
        )
        self.unique_id(where, "campaign", data.get("id"), self.ids["campaign"])
        result: dict[str, Any] = {"id": data.get("id")}
        if data.get("name") is not None:
            self.problem(where, _text_problem(data["name"], "name"))
            result["name"] = data["name"]
        slug = data.get("slug")
        if not self.problem(where, _text_problem(slug, "slug")) and slug is not None:
            if slug in self.slugs:
                self.problem(where, f"the slug {slug!r} is used twice")
            self.slugs.add(slug)
        result["slug"] = slug
        if data.get("type") is not None:
            kind = data["type"]
            if not isinstance(kind, str) or not kind.strip() or len(kind) > 32:
                self.problem(where, "type must be a word such as ab, toggle or perso")
            result["type"] = kind
        ranges = _field(data, "bucketRanges", "bucket_ranges")
        if ranges is not None:
            self.problem(where, ranges_problem(ranges))
            result["bucketRanges"] = ranges
        groups = _field(data, "variationGroups", "variation_groups")
        if groups is None:
            groups = []
        if not isinstance(groups, list):
            self.problem(where, "variationGroups must be a list")
            groups = []
        result["variationGroups"] = [
            self.variation_group(item, f"{where}, {_label('variation group', index, item)}")
            for index, item in enumerate(groups)
        ]
        return result

    def variation_group(self, data: Any, where: str) -> dict[str, Any]:
        if not isinstance(data, Mapping):
            self.problem(where, "a variation group must be an object")
            return {}
        self.problem(where, _unknown(data, ("id", "name", "targeting", "variations")))
        self.unique_id(where, "variation group", data.get("id"), self.ids["variation group"])
        result: dict[str, Any] = {"id": data.get("id")}
        if data.get("name") is not None:
            self.problem(where, _text_problem(data["name"], "name"))
            result["name"] = data["name"]
        result["targeting"] = self.targeting(data.get("targeting"), where)
        variations = data.get("variations")
        if not isinstance(variations, list) or not variations:
            self.problem(where, "a variation group needs a list of at least one variation")
            variations = []
        result["variations"] = [
            self.variation(item, f"{where}, {_label('variation', index, item)}", self.variation_ids)
            for index, item in enumerate(variations)
        ]
        for message in allocation_problems(
            [(v.get("allocation"), v.get("reference")) for v in result["variations"]]
        ):
            self.problem(where, message)
        return result

    def targeting(self, data: Any, where: str) -> dict[str, Any]:
        everyone = f'{{"key": "{ALL_USERS}", "operator": "EQUALS", "value": ""}} for everyone'
        groups = (
            _field(data, "targetingGroups", "targeting_groups")
            if isinstance(data, Mapping)
            else None
        )
        if not isinstance(groups, list) or not groups:
            self.problem(
                where,
                f"a variation group needs a targeting (it never matches without one); use "
                f"{everyone}",
            )
            return {"targetingGroups": []}
        self.problem(where, _unknown(data, ("targetingGroups", "targeting_groups")))
        result = []
        for index, group in enumerate(groups, start=1):
            here = f"{where}, targeting group {index}"
            targetings = group.get("targetings") if isinstance(group, Mapping) else None
            if not isinstance(targetings, list) or not targetings:
                self.problem(here, "an empty targeting group never matches; remove it")
                continue
            self.problem(here, _unknown(group, ("targetings",)))
            rows = []
            for t_index, item in enumerate(targetings, start=1):
                spot = f"{here}, targeting {t_index}"
                if not isinstance(item, Mapping):
                    self.problem(spot, "a targeting must be an object")
                    continue
                self.problem(spot, _unknown(item, ("key", "operator", "value", "provider")))
                self.problem(
                    spot,
                    targeting_problem(
                        item.get("key"),
                        item.get("operator"),
                        item.get("value"),
                        item.get("provider"),
                    ),
                )
                row = {"key": item.get("key"), "operator": item.get("operator")}
                row["value"] = item.get("value")
                if item.get("provider") is not None:
                    row["provider"] = item["provider"]
                rows.append(row)
            result.append({"targetings": rows})
        return {"targetingGroups": result}

    def variation(self, data: Any, where: str, seen: set[str]) -> dict[str, Any]:
        if not isinstance(data, Mapping):
            self.problem(where, "a variation must be an object")
            return {}
        self.problem(
            where, _unknown(data, ("id", "name", "reference", "allocation", "modifications"))
        )
        self.unique_id(where, "variation", data.get("id"), seen)
        result: dict[str, Any] = {"id": data.get("id")}
        if data.get("name") is not None:
            self.problem(where, _text_problem(data["name"], "name"))
            result["name"] = data["name"]
        reference = data.get("reference", False)
        if not isinstance(reference, bool):
            self.problem(where, "reference must be true or false")
        result["reference"] = reference
        if data.get("allocation") is not None:
            allocation = data["allocation"]
            if isinstance(allocation, float) and allocation.is_integer():
                allocation = int(allocation)
            result["allocation"] = allocation
        modifications = data.get("modifications")
        if not isinstance(modifications, Mapping):
            self.problem(where, 'a variation needs modifications: {"type": "FLAG", "value": {...}}')
            modifications = {}
        else:
            self.problem(where, _unknown(modifications, ("type", "value")))
        kind = modifications.get("type", "FLAG")
        if kind not in MODIFICATION_TYPES:
            self.problem(
                where, f"modifications.type must be one of {', '.join(MODIFICATION_TYPES)}"
            )
        flags = modifications.get("value", {})
        self.problem(where, flags_problem(flags))
        result["modifications"] = {"type": kind, "value": flags}
        return result


def canonical(data: Any, *, reserved_ok: bool = False) -> dict[str, Any]:
    """``data`` checked and in the form the compiler writes; :class:`DocumentError` lists why not.

    Snake_case names are read as the engine reads them and written in
    camelCase; every other difference from the compiler's output is a problem.
    ``reserved_ok`` lets ids of ``FLAGSHIP_LOCAL_FLAGS`` campaigns through.
    """
    reader = _Reader(reserved_ok)
    result = reader.document(data)
    if reader.problems:
        raise DocumentError(reader.problems)
    return result
