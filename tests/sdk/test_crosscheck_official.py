"""Cross-check against the official ``flagship==3.0.1`` package, run offline.

1. On random bucketing files built inside the region where the official SDK
   and the decision engine agree (see ``benchmarks/official.py``), every
   visitor must get exactly the same flags: value, campaign, variation group,
   variation and reference flag. Agreement must be 100 %.
2. For every known difference (``docs/differences.md``), the official SDK
   is run on a case built to show it, and our engine must do what the
   decision engine does.
"""

from __future__ import annotations

import collections
import random
from dataclasses import dataclass, field
from typing import Any

import pytest

from benchmarks.official import (
    OfficialSDK,
    agreeing_bucket,
    our_flags,
    random_context,
    random_visitor_id,
)
from django_flagship.sdk.bucketing import Bucket
from django_flagship.sdk.hashing import murmur_bucket

flagship = pytest.importorskip("flagship")

FILES = 5
CAMPAIGNS = 30
VISITORS = 250


def test_agreement_on_random_files():
    rng = random.Random(20240611)
    compared = agreed = assigned = 0
    reasons: collections.Counter[str] = collections.Counter()
    mismatches = []
    for index in range(FILES):
        visitors = [random_visitor_id(rng, n) for n in range(VISITORS)]
        data = agreeing_bucket(rng, CAMPAIGNS, visitors, prefix=f"f{index}c")
        errors: list[str] = []
        bucket = Bucket.parse(data, on_error=errors.append)
        assert errors == []
        variation_ids = {
            group.id: [v.id for v in group.variations]
            for campaign in bucket.campaigns
            for group in campaign.variation_groups
        }
        with OfficialSDK(data, env_id=f"crosscheck{index}") as sdk:
            for visitor_id in visitors:
                context = random_context(rng, visitor_id)
                cached = None
                if rng.random() < 0.2:
                    picked = rng.sample(sorted(variation_ids), 5)
                    cached = {vg: rng.choice(variation_ids[vg]) for vg in picked}
                theirs = sdk.flags(visitor_id, context, cached)
                ours = our_flags(bucket, visitor_id, context, cached)
                compared += 1
                if theirs == ours:
                    agreed += 1
                else:
                    mismatches.append((visitor_id[:40], context, cached, theirs, ours))
                assigned += sum(1 for key in ours if key.startswith("@"))
                for outcome in bucket.explain(visitor_id, context, assignments=cached):
                    reasons[outcome.reason.split(" (")[0]] += 1
    assert mismatches == [], f"{len(mismatches)} of {compared} visitors differ"
    assert agreed == compared == FILES * VISITORS
    # The files exercise every outcome, not just trivial matches.
    assert assigned > compared * 3
    assert reasons["matched"] > 1000
    assert reasons["not allocated"] > 50
    assert reasons["no variation group matched targeting"] > 1000


# --- known differences ------------------------------------------------------

ALL = {
    "targetingGroups": [
        {"targetings": [{"key": "fs_all_users", "operator": "EQUALS", "value": ""}]}
    ]
}


def one(key, operator, value):
    return {
        "targetingGroups": [{"targetings": [{"key": key, "operator": operator, "value": value}]}]
    }


def groups(*targetings_lists):
    return {"targetingGroups": [{"targetings": list(t)} for t in targetings_lists]}


def var(var_id, allocation, flags, reference=False):
    data = {"id": var_id, "allocation": allocation, "reference": reference}
    if flags is not None:
        data["modifications"] = {"type": "FLAG", "value": flags}
    return data


def camp(cid, *vgs, type_="toggle", **extra):
    return {"id": cid, "type": type_, "variationGroups": list(vgs), **extra}


def vg(vg_id, targeting, *variations):
    data = {"id": vg_id, "variations": list(variations)}
    if targeting is not None:
        data["targeting"] = targeting
    return data


def simple(case, targeting=ALL, **extra):
    """A campaign whose only variation sets flag ``case`` to "on"."""
    return camp(case, vg(f"{case}-vg", targeting, var(f"{case}-v", 100, {case: "on"})), **extra)


def py3_bucket(vg_id, visitor_id):
    from flagship.murmur32x86 import murmurHash

    return murmurHash(vg_id + visitor_id) % 100


def astral_visitor():
    """An id above U+FFFF that the official SDK puts in the other half."""
    for i in range(10_000):
        candidate = f"\U0001f600-{i}"
        if (py3_bucket("astral-vg", candidate) < 50) != (
            murmur_bucket("astral-vg", candidate) < 50
        ):
            return candidate
    raise AssertionError("no such id")


ASTRAL = astral_visitor()


@dataclass
class Case:
    name: str
    campaigns: list[dict[str, Any]]
    official: Any  # the official SDK's value for flag `name` (None: absent)
    engine: Any  # the decision engine's value
    visitor: str = "visitor-1"
    context: dict[str, Any] = field(default_factory=dict)
    cached: dict[str, str] | None = None


CASES = [
    Case(
        "fall_through",  # protocol 3.7 example 6: bucket 45 in a 10 % group
        [
            camp(
                "fall_through",
                vg("vgA", ALL, var("a", 10, {"fall_through": "vgA"})),
                vg("vgB", ALL, var("b", 100, {"fall_through": "vgB"})),
            )
        ],
        official="vgB",
        engine=None,
        visitor="1",
    ),
    Case("empty_ranges", [simple("empty_ranges", bucketRanges=[])], "on", None),
    Case(
        "partial_ranges",  # "123" is in range bucket 71
        [simple("partial_ranges", bucketRanges=[{"r": [0, 50]}])],
        "on",
        None,
        visitor="123",
    ),
    Case("fs_users", [simple("fs_users", one("fs_users", "EQUALS", "visitor-1"))], None, "on"),
    Case(
        "all_users_not_equals",
        [simple("all_users_not_equals", one("fs_all_users", "NOT_EQUALS", "x"))],
        None,
        "on",
    ),
    Case(
        "case_insensitive",
        [simple("case_insensitive", one("plan", "EQUALS", "Pro"))],
        None,
        "on",
        context={"plan": "pro"},
    ),
    Case(
        "mismatch_elsewhere",
        [
            simple(
                "mismatch_elsewhere",
                groups(
                    [{"key": "plan", "operator": "EQUALS", "value": "pro"}],
                    [{"key": "age", "operator": "GREATER_THAN", "value": "eighteen"}],
                ),
            )
        ],
        "on",
        None,
        context={"plan": "pro", "age": 30},
    ),
    Case(
        "list_greater_than",
        [simple("list_greater_than", one("age", "GREATER_THAN", [10, 100]))],
        "on",
        None,
        context={"age": 50},
    ),
    Case(
        "empty_group",
        [simple("empty_group", {"targetingGroups": [{"targetings": []}]})],
        "on",
        None,
    ),
    Case(
        "json_string",
        [simple("json_string", one("code", "EQUALS", "123"))],
        None,
        "on",
        context={"code": "123"},
    ),
    Case(
        "nan_string",
        [simple("nan_string", one("code", "EQUALS", "NaN"))],
        None,
        "on",
        context={"code": "NaN"},
    ),
    Case(
        "astral_id",
        [
            camp(
                "astral_id",
                vg(
                    "astral-vg",
                    ALL,
                    var("low", 50, {"astral_id": "low"}),
                    var("high", 50, {"astral_id": "high"}),
                ),
            )
        ],
        official="low" if py3_bucket("astral-vg", ASTRAL) < 50 else "high",
        engine="low" if murmur_bucket("astral-vg", ASTRAL) < 50 else "high",
        visitor=ASTRAL,
    ),
    Case(
        "exists", [simple("exists", one("plan", "EXISTS", True))], None, "on", context={"plan": "x"}
    ),
    Case("not_exists", [simple("not_exists", one("plan", "NOT_EXISTS", True))], None, "on"),
    Case(
        "semver",
        [simple("semver", one("version", "SEMVER_GREATER_THAN", "1.2.0"))],
        None,
        "on",
        context={"version": "1.10.0"},
    ),
    Case(
        "duplicate_id",
        [
            camp("dup", vg("dup-vg1", ALL, var("d1", 100, {"duplicate_id": "first"}))),
            camp("dup", vg("dup-vg2", ALL, var("d2", 100, {"duplicate_id_second": "on"}))),
        ],
        "first",
        "first",
    ),
    Case(
        "duplicate_id_second",
        [],  # same campaigns as above: the official SDK applies both
        "on",
        None,
    ),
    Case(
        "no_modifications",
        [
            camp(
                "no_modifications",
                vg("nm-vg1", ALL, var("nm1", 100, None)),
                vg("nm-vg2", ALL, var("nm2", 100, {"no_modifications": "vg2"})),
            )
        ],
        "vg2",  # the official SDK drops the first group
        None,  # the engine assigns it, with no flags
    ),
    Case(
        "deleted_cached_variation",
        [
            camp(
                "deleted_cached_variation",
                vg("dc-vg1", ALL, var("dc1", 100, {"deleted_cached_variation": "vg1"})),
                vg("dc-vg2", ALL, var("dc2", 100, {"deleted_cached_variation": "vg2"})),
            )
        ],
        "vg2",
        None,
        cached={"dc-vg1": "gone"},
    ),
    Case(
        "list_context",
        [simple("list_context", one("tags", "CONTAINS", "a"))],
        None,
        "on",
        context={"tags": ["a", "b"]},
    ),
    Case(
        "bool_is_not_number",
        [simple("bool_is_not_number", one("count", "EQUALS", 1))],
        "on",
        None,
        context={"count": True},
    ),
    Case(
        "contains_on_numbers",
        [simple("contains_on_numbers", one("count", "CONTAINS", 5))],
        "on",
        None,
        context={"count": 15},
    ),
    Case(
        "provider",
        [
            simple(
                "provider",
                {
                    "targetingGroups": [
                        {
                            "targetings": [
                                {
                                    "key": "plan",
                                    "operator": "EQUALS",
                                    "value": "pro",
                                    "provider": "crm",
                                }
                            ]
                        }
                    ]
                },
            )
        ],
        "on",
        None,
        context={"plan": "pro"},
    ),
    Case(
        "unknown_operator",
        [
            simple(
                "unknown_operator",
                groups(
                    [{"key": "plan", "operator": "EQUALS", "value": "pro"}],
                    [{"key": "plan", "operator": "REGEX", "value": "p.*"}],
                ),
            )
        ],
        "on",
        None,
        context={"plan": "pro"},
    ),
    Case(
        "one_ab_first",
        [simple("one_ab_first", type_="ab"), simple("one_ab_second", type_="ab")],
        "on",
        "on",
    ),
    Case("one_ab_second", [], "on", None),  # enabled1V1T is ignored by the official SDK
]


@pytest.fixture(scope="module")
def differences():
    campaigns = [c for case in CASES for c in case.campaigns]
    data = {"accountSettings": {"enabled1V1T": True}, "campaigns": campaigns}
    return data, Bucket.parse(data)


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_known_difference(differences, case):
    data, bucket = differences
    with OfficialSDK(data, env_id="differences") as sdk:
        theirs = sdk.flags(case.visitor, case.context, case.cached)
    ours = our_flags(bucket, case.visitor, case.context, case.cached)
    theirs_value = theirs.get(case.name, (None,))[0]
    ours_value = ours.get(case.name, (None,))[0]
    assert (theirs_value, ours_value) == (case.official, case.engine)
    assert case.official != case.engine or case.name in {"duplicate_id", "one_ab_first"}


def test_known_difference_missing_reference():
    data = {
        "campaigns": [
            camp(
                "ref",
                vg(
                    "ref-vg",
                    ALL,
                    {
                        "id": "r",
                        "allocation": 100,
                        "modifications": {"type": "FLAG", "value": {"k": 1}},
                    },
                ),
            )
        ]
    }
    with OfficialSDK(data, env_id="reference") as sdk:
        theirs = sdk.flags("v", {})
    ours = our_flags(Bucket.parse(data), "v", {})
    assert theirs["k"][4] is True  # official: a missing reference means true
    assert ours["k"][4] is False  # engine: false
    assert theirs["k"][:4] == ours["k"][:4]


def test_known_difference_variation_group_without_targeting():
    data = {
        "campaigns": [
            simple("fine"),
            camp("untargeted", vg("untargeted-vg", None, var("u", 100, {"untargeted": "on"}))),
        ]
    }
    with OfficialSDK(data, env_id="untargeted") as sdk:
        theirs = sdk.flags("v", {})
    ours = our_flags(Bucket.parse(data), "v", {})
    assert theirs == {}  # the official SDK fails the whole fetch
    assert set(ours) == {"fine"}  # the engine only never matches that group


def test_official_sdk_leaves_no_file_behind(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with OfficialSDK({"campaigns": [simple("k")]}, env_id="tidy") as sdk:
        assert sdk.flags("v", {})["k"][0] == "on"
    assert list(tmp_path.iterdir()) == []


def test_official_sdk_cannot_reach_the_network_outside_the_harness():
    import flagship.http_helper
    import requests

    with OfficialSDK({"campaigns": []}, env_id="guard"):
        pass
    with pytest.raises(requests.ConnectionError, match="offline"):
        flagship.http_helper.requests.post(url="https://events.flagship.io/", json={})
