"""The generated selector for files far larger than real ones: it compiles, or falls back.

Python's compiler recurses once per ``elif``: a campaign of ~3,000 targeted
variation groups used to fail with RecursionError (or MemoryError) while the
bucket was parsed. Each case here checks the selector against the targetings'
own predicates, which test_targeting checks against a reference engine.
"""

import random

import pytest

from django_flagship.sdk import targeting as targeting_module
from django_flagship.sdk.bucketing import Bucket
from django_flagship.sdk.targeting import SELECTOR_CHAIN, compile_selector, compile_targeting

from .test_targeting import random_context, random_targeting

ALL_USERS = {"key": "fs_all_users", "operator": "EQUALS", "value": ""}
ALWAYS = {"targetingGroups": [{"targetings": [ALL_USERS]}]}


def one_key(value):
    return {
        "targetingGroups": [{"targetings": [{"key": "k", "operator": "EQUALS", "value": value}]}]
    }


def expected(campaigns, context, visitor_id):
    """The first matching variation group of each campaign, by the predicates."""
    chosen = []
    for options in campaigns:
        for compiled, item in options:
            if compiled.matches(context, visitor_id):
                chosen.append(item)
                break
    return chosen


def compiled(campaigns):
    return [
        [(compile_targeting(t), (c, g)) for g, t in enumerate(groups)]
        for c, groups in enumerate(campaigns)
    ]


def at_stack_depth(frames, function, *args):
    """Call ``function`` with ``frames`` more frames on the stack (a deep caller)."""
    if frames:
        return at_stack_depth(frames - 1, function, *args)
    return function(*args)


def test_a_campaign_of_3000_targeted_variation_groups_compiles_and_decides():
    options = compiled([[one_key(i) for i in range(3_000)]])
    selector = at_stack_depth(700, compile_selector, options)
    for value in (0, 49, 50, 51, 1_234, 2_999):
        assert selector({"k": value}, "v") == [(0, value)]
    assert selector({"k": 3_000}, "v") == []
    assert selector({}, "v") == []


def test_a_bucket_of_3000_targeted_variation_groups_parses():
    groups = [
        {
            "id": f"vg{i}",
            "targeting": one_key(i),
            "variations": [
                {"id": f"v{i}", "allocation": 100, "modifications": {"value": {"n": i}}}
            ],
        }
        for i in range(3_000)
    ]
    bucket = at_stack_depth(
        700, Bucket.parse, {"campaigns": [{"id": "c", "variationGroups": groups}]}
    )
    assert bucket.variation_group_count == 3_000
    [assignment] = bucket.decide("visitor", {"k": 2_345})
    assert assignment.variation_group_id == "vg2345"
    assert dict(assignment.flags) == {"n": 2_345}


@pytest.mark.parametrize(
    "size", [SELECTOR_CHAIN - 1, SELECTOR_CHAIN, SELECTOR_CHAIN + 1, 2 * SELECTOR_CHAIN + 1]
)
@pytest.mark.parametrize("always_at", [None, 0, SELECTOR_CHAIN - 1, SELECTOR_CHAIN, "last"])
def test_chains_split_at_every_boundary_give_the_same_answers(size, always_at):
    groups = [one_key(i) for i in range(size)]
    if always_at is not None:
        position = size - 1 if always_at == "last" else min(always_at, size - 1)
        groups[position] = ALWAYS
    options = compiled([groups, [one_key(0)], groups])
    selector = compile_selector(options)
    for context in ({}, *({"k": i} for i in range(size + 1))):
        assert selector(context, "v") == expected(options, context, "v"), context


def test_random_campaigns_of_many_groups_agree_with_the_predicates():
    rng = random.Random(12)
    campaigns = [
        [random_targeting(rng) for _ in range(rng.choice([0, 3, SELECTOR_CHAIN + 7, 130]))]
        for _ in range(12)
    ]
    options = compiled(campaigns)
    selector = compile_selector(options)
    for _ in range(300):
        context = random_context(rng)
        visitor_id = rng.choice(["abc", "ABC", "1.2.0", "zz"])
        assert selector(context, visitor_id) == expected(options, context, visitor_id)


def test_a_large_file_is_split_into_functions_within_the_budget(monkeypatch):
    # A budget of 150 conditions and groups per generated function.
    monkeypatch.setattr(targeting_module, "SELECTOR_BUDGET", 150)
    built = []
    build = targeting_module._Source.build

    def counting(self, statements, **kwargs):
        built.append(sum(line.count(" and ") + 1 for line in statements if line[:2] == "if"))
        return build(self, statements, **kwargs)

    monkeypatch.setattr(targeting_module._Source, "build", counting)
    rng = random.Random(5)
    campaigns = [[random_targeting(rng) for _ in range(rng.randint(1, 12))] for _ in range(40)]
    huge = [one_key(i) for i in range(200)]  # one campaign past the budget on its own
    campaigns.insert(20, huge)
    options = compiled(campaigns)
    selector = compile_selector(options)
    assert len(built) >= 3
    for _ in range(300):
        context = random_context(rng)
        assert selector(context, "abc") == expected(options, context, "abc")
    assert (20, 150) in selector({"k": 150}, "abc")  # decided by the huge campaign's predicates


@pytest.mark.parametrize("error", [RecursionError, MemoryError, SyntaxError])
def test_code_that_does_not_compile_falls_back_to_the_predicates(monkeypatch, error):
    def fail(self, statements, **kwargs):
        raise error("generated code refused")

    monkeypatch.setattr(targeting_module._Source, "build", fail)
    rng = random.Random(8)
    options = compiled([[random_targeting(rng) for _ in range(5)] for _ in range(8)])
    selector = compile_selector(options)
    monkeypatch.setattr(targeting_module, "SELECTOR_BUDGET", 20)  # several parts, all failing
    split = compile_selector(options)
    for _ in range(200):
        context = random_context(rng)
        assert selector(context, "abc") == expected(options, context, "abc")
        assert split(context, "abc") == expected(options, context, "abc")
