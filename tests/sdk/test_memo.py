"""The decision memo: remembered answers must be exactly the answers."""

import copy
import random
import sys
import threading

import pytest

from django_flagship.sdk import Config, Flagship, Mode
from django_flagship.sdk.bucket_source import StaticBucketSource
from django_flagship.sdk.bucketing import Bucket
from django_flagship.sdk.decision import BucketingDecisionManager
from django_flagship.sdk.history import history_digest
from django_flagship.sdk.memo import DecisionMemo, context_key
from django_flagship.sdk.model import merge_flags
from django_flagship.sdk.tracking import MemoryTracker

from .conftest import SAMPLE_BUCKET, all_users, targeting, variation


def split_campaign(cid, key, value, *, type_="ab"):
    """A campaign whose first group targets ``key == value`` and splits 4 ways."""
    return {
        "id": cid,
        "type": type_,
        "variationGroups": [
            {
                "id": f"{cid}-vg-t",
                "targeting": targeting(key, "EQUALS", value),
                "variations": [
                    variation(f"{cid}-t{n}", 25, {f"{cid}_flag": f"t{n}"}) for n in range(4)
                ],
            },
            {
                "id": f"{cid}-vg-all",
                "targeting": all_users(),
                "variations": [
                    variation(f"{cid}-a{n}", 25, {f"{cid}_flag": f"a{n}"}) for n in range(4)
                ],
            },
        ],
    }


def mixed_bucket():
    return Bucket.parse(
        {
            "campaigns": [
                *SAMPLE_BUCKET["campaigns"],
                split_campaign("c-plan", "plan", "gold"),
                split_campaign("c-age", "age", 30, type_="toggle"),
                split_campaign("c-score", "score", 1.5),
                split_campaign("c-beta", "beta", True),
                {
                    "id": "c-starts",
                    "type": "perso",
                    "variationGroups": [
                        {
                            "id": "c-starts-vg",
                            "targeting": targeting("age", "STARTS_WITH", "-"),
                            "variations": [variation("c-starts-v", 100, {"neg": True})],
                        }
                    ],
                },
            ]
        }
    )


def random_context(rng):
    context = {}
    for key, values in (
        ("plan", ["gold", "silver", "Gold"]),
        ("age", [30, 31, 30.0, -0.0, 0.0, True]),
        ("score", [1.5, 1, 2.5]),
        ("beta", [True, False, 1, 1.0]),
        ("isVip", [True, False]),
    ):
        if rng.random() < 0.8:
            context[key] = rng.choice(values)
    return context


def ids(assignments):
    return [(a.campaign_id, a.variation_group_id, a.variation_id) for a in assignments]


def test_every_remembered_answer_is_the_computed_one():
    bucket = mixed_bucket()
    memo = DecisionMemo(64)
    rng = random.Random(11)
    visitors = [f"visitor-{n}" for n in range(8)]
    contexts = [random_context(rng) for _ in range(12)]
    for _ in range(3000):
        visitor_id = rng.choice(visitors)
        context = dict(rng.choice(contexts))
        history = {}
        if rng.random() < 0.3:
            history = {"c-plan-vg-all": rng.choice(["c-plan-a0", "c-plan-a3", "gone"])}
        expected = bucket.decide(visitor_id, context, assignments=history)
        got = memo.decide(bucket, visitor_id, context, history)
        assert ids(got.assignments) == ids(expected), (visitor_id, context, history)
        assert got.variations == {a.variation_group_id: a.variation_id for a in expected}
    # More questions than entries: answered from memory and computed, both often.
    assert memo.hits > 300
    assert memo.misses > 300


@pytest.mark.parametrize(
    ("first", "second"),
    [(True, 1), (1, 1.0), (True, 1.0), (0.0, -0.0), ("1", 1), (False, 0)],
)
def test_values_equal_in_python_but_of_another_type_are_other_questions(first, second):
    bucket = mixed_bucket()
    memo = DecisionMemo()
    memo.admits("v")  # the visitor's first visit
    for value in (first, second, first, second):
        context = {"age": value, "beta": value}
        expected = bucket.decide("v", context)
        assert ids(memo.decide(bucket, "v", context).assignments) == ids(expected)
    assert len(memo) == 2
    assert memo.hits == 2


def test_the_zero_sign_changes_a_string_targeting_and_the_memo_keeps_them_apart():
    bucket = mixed_bucket()
    memo = DecisionMemo()
    positive = memo.decide(bucket, "v", {"age": 0.0})
    negative = memo.decide(bucket, "v", {"age": -0.0})
    assert ids(positive.assignments) == ids(bucket.decide("v", {"age": 0.0}))
    assert ids(negative.assignments) == ids(bucket.decide("v", {"age": -0.0}))
    assert context_key({"age": 0.0}) != context_key({"age": -0.0})


def test_a_changed_history_is_a_new_question():
    bucket = mixed_bucket()
    memo = DecisionMemo()
    plain = memo.decide(bucket, "v", {}, {})
    chosen = next(a for a in plain.assignments if a.variation_group_id == "c-plan-vg-all")
    other = next(f"c-plan-a{n}" for n in range(4) if f"c-plan-a{n}" != chosen.variation_id)
    stored = memo.decide(bucket, "v", {}, {"c-plan-vg-all": other})
    assert stored.variations["c-plan-vg-all"] == other
    assert memo.decide(bucket, "v", {}, {}).variations["c-plan-vg-all"] == chosen.variation_id
    assert memo.hits == 0


def test_the_history_the_caller_changes_afterwards_does_not_change_the_entry():
    bucket = mixed_bucket()
    memo = DecisionMemo()
    history = {"c-plan-vg-all": "c-plan-a1"}
    memo.decide(bucket, "v", {}, history)
    history["c-plan-vg-all"] = "c-plan-a2"
    answer = memo.decide(bucket, "v", {}, history)
    assert answer.variations["c-plan-vg-all"] == "c-plan-a2"
    assert memo.hits == 0


def test_a_new_bucket_empties_the_memo():
    raw = {"campaigns": [split_campaign("c-plan", "plan", "gold")]}
    old = Bucket.parse(raw)
    changed = copy.deepcopy(raw)
    for group in changed["campaigns"][0]["variationGroups"]:
        for item in group["variations"]:
            item["modifications"]["value"]["c-plan_flag"] = "new"
    new = Bucket.parse(changed)
    memo = DecisionMemo()
    assert memo.decide(old, "v", {}).flags["c-plan_flag"].value != "new"
    assert memo.decide(new, "v", {}).flags["c-plan_flag"].value == "new"
    assert len(memo) == 1
    assert memo.hits == 0


def test_the_least_recently_used_entry_makes_room():
    bucket = mixed_bucket()
    memo = DecisionMemo(3)
    for n in range(10):
        memo.decide(bucket, f"v{n}", {}, admitted=True)
    assert len(memo) == 3  # v7, v8, v9
    memo.decide(bucket, "v7", {}, admitted=True)  # used again: now the most recent
    memo.decide(bucket, "v10", {}, admitted=True)  # makes room: v8 goes
    assert (memo.hits, memo.misses) == (1, 11)
    memo.decide(bucket, "v7", {}, admitted=True)
    memo.decide(bucket, "v9", {}, admitted=True)
    assert memo.hits == 3
    memo.decide(bucket, "v8", {}, admitted=True)
    assert memo.misses == 12


def test_a_history_equal_to_the_decision_is_kept_once():
    bucket = mixed_bucket()
    memo = DecisionMemo()
    first = memo.decide(bucket, "v", {})
    again = memo.decide(bucket, "v", {}, dict(first.variations))
    assert again.history is again.variations
    assert memo.decide(bucket, "v", {}, dict(first.variations)) is again
    assert memo.hits == 1


def test_size_zero_remembers_nothing_and_still_decides():
    bucket = mixed_bucket()
    memo = DecisionMemo(0)
    for _ in range(3):
        answer = memo.decide(bucket, "v", {"plan": "gold"})
        assert ids(answer.assignments) == ids(bucket.decide("v", {"plan": "gold"}))
    assert len(memo) == 0


@pytest.mark.parametrize("size", [-1, 1.5, "10", True, None])
def test_a_bad_size_is_refused(size):
    with pytest.raises(ValueError, match="decision memo size"):
        DecisionMemo(size)


def test_an_unhashable_context_is_decided_without_the_memo():
    bucket = mixed_bucket()
    memo = DecisionMemo()
    context = {"plan": {"gold": True}}
    assert context_key(context) is None
    answer = memo.decide(bucket, "v", context)
    assert ids(answer.assignments) == ids(bucket.decide("v", context))
    assert len(memo) == 0


def test_remembered_histories_share_the_buckets_strings():
    bucket = mixed_bucket()
    memo = DecisionMemo()
    history = {"".join(["c-plan-", "vg-all"]): "".join(["c-plan-", "a1"])}
    entry = memo.decide(bucket, "v", {}, history, admitted=True)
    ((key, value),) = entry.history.items()
    group = next(g for c in bucket.campaigns for g in c.variation_groups if g.id == key)
    assert key is group.id
    assert value is next(v for v in group.by_id if v == value)


def test_threads_deciding_at_once_get_the_right_answers():
    bucket = mixed_bucket()
    memo = DecisionMemo(16)
    errors = []

    def work(seed):
        rng = random.Random(seed)
        for _ in range(400):
            visitor_id = f"v{rng.randrange(30)}"
            context = random_context(rng)
            expected = ids(bucket.decide(visitor_id, context))
            if ids(memo.decide(bucket, visitor_id, context).assignments) != expected:
                errors.append((visitor_id, context))

    threads = [threading.Thread(target=work, args=(seed,)) for seed in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(memo) <= 16


def test_the_manager_answers_a_new_bucket_from_the_source():
    first = mixed_bucket()
    source = StaticBucketSource(first)
    manager = BucketingDecisionManager(source, memo_size=8)

    def decide():
        return manager.decide(
            "v", {}, anonymous_id=None, consent=True, assignments={}, on_error=print
        )

    assert decide().flags is not None
    assert len(manager.memo) == 0  # the first visit: decided without the memo
    assert decide().flags is not None
    assert len(manager.memo) == 1
    source._bucket = Bucket.parse({"campaigns": []})
    assert decide().assignments == []


def test_visitors_sharing_a_remembered_decision_cannot_change_each_other(bucket_path):
    client = Flagship(
        Config("env", mode=Mode.BUCKETING, bucket_file=bucket_path), tracker=MemoryTracker()
    )
    try:
        client.create_visitor("same", {"isVip": True}).synchronize_modifications()  # a first visit
        first = client.create_visitor("same", {"isVip": True})
        first.synchronize_modifications()
        first.flags.clear()
        first.assignments.clear()
        first.assignment_history["vg-vip"] = "changed"
        second = client.create_visitor("same", {"isVip": True})
        second.synchronize_modifications()
        assert second.get_modification("vip_feature", False) is True
        assert {a.variation_group_id for a in second.assignments} >= {"vg-vip", "vg-ab"}
        assert second.assignment_history["vg-vip"] == "var-vip"
        assert client.decision_manager.memo.hits == 1
    finally:
        client.stop()


def test_config_carries_the_size_to_the_manager(bucket_path):
    client = Flagship(
        Config("env", mode=Mode.BUCKETING, bucket_file=bucket_path, decision_cache_size=5),
        tracker=MemoryTracker(),
    )
    try:
        assert client.decision_manager.memo.size == 5
    finally:
        client.stop()


@pytest.mark.parametrize(
    ("size", "error"), [(-1, ValueError), (True, TypeError), ("5", TypeError), (2.0, TypeError)]
)
def test_config_refuses_a_bad_size(size, error):
    with pytest.raises(error, match="decision_cache_size"):
        Config("env", mode=Mode.BUCKETING, decision_cache_size=size)


def test_subclasses_are_other_types_and_float_subclasses_keep_their_sign():
    import enum

    class Plan(str, enum.Enum):
        GOLD = "gold"

    class Ratio(float):
        pass

    assert context_key({"plan": Plan.GOLD}) != context_key({"plan": "gold"})
    assert context_key({"r": Ratio(0.0)}) != context_key({"r": Ratio(-0.0)})
    assert context_key({"r": Ratio(1.5)}) != context_key({"r": 1.5})
    assert context_key({"r": Ratio(1.5)}) == context_key({"r": Ratio(1.5)})


@pytest.mark.parametrize(
    ("first", "second", "same"),
    [
        ([True], [1], False),
        ([1], [1.0], False),
        ([0.0], [-0.0], False),
        (["1"], [1], False),
        (["a", "b"], ["b", "a"], False),
        (["a"], "a", False),
        (["a", 1, True, 2.5], ["a", 1, True, 2.5], True),
        ([], (), True),  # both decide as an empty list
        ([["a"]], [("a",)], True),
        ([["a"]], [["b"]], False),
    ],
)
def test_list_values_are_keyed_element_by_element_with_types(first, second, same):
    assert context_key({"k": first}) is not None
    assert (context_key({"k": first}) == context_key({"k": second})) is same
    assert context_key({"k": first}) == context_key({"k": copy.deepcopy(first)})


def test_lists_and_tuples_are_one_question_and_never_mixed_with_scalars():
    assert context_key({"k": ["a", "b"]}) == context_key({"k": ("a", "b")})
    assert context_key({"k": ("a",)}) != context_key({"k": "a"})
    assert context_key({"k": [True, 1, 1.0]}) != context_key({"k": [1, 1, 1.0]})


def list_bucket():
    """Campaigns whose targeting reads list context values, with every operator kind."""
    campaigns = []
    for n, (key, operator, value) in enumerate(
        [
            ("tags", "CONTAINS", "beta"),
            ("tags", "NOT_CONTAINS", "spam"),
            ("tags", "EQUALS", ["news", "sport"]),
            ("tags", "STARTS_WITH", "b"),  # never true for a list
            ("scores", "EQUALS", 1),
            ("scores", "NOT_EQUALS", 2.5),
            ("flags", "EQUALS", True),
            ("flags", "EQUALS", "true"),  # a kind error when the first element is a bool
            ("groups", "CONTAINS", "beta-testers"),
            ("groups", "EXISTS", True),
        ]
    ):
        campaign = split_campaign(f"c-list{n}", key, value)
        campaign["variationGroups"][0]["targeting"] = targeting(key, operator, value)
        campaigns.append(campaign)
    return Bucket.parse({"campaigns": campaigns})


def random_list_context(rng):
    pools = {
        "tags": ["beta", "BETA", "news", "spam", "sport", 1, True],
        "scores": [1, 1.0, 2.5, True, "1", 0],
        "flags": [True, False, 1, "true"],
        "groups": ["beta-testers", "staff", "Beta-Testers-EU"],
    }
    context = {}
    for key, pool in pools.items():
        if rng.random() < 0.85:
            items = [rng.choice(pool) for _ in range(rng.randint(0, 4))]
            context[key] = items if rng.random() < 0.5 else tuple(items)
    if rng.random() < 0.3:
        context["plan"] = rng.choice(["gold", "silver"])
    return context


def test_every_remembered_answer_for_list_contexts_is_the_computed_one():
    bucket = list_bucket()
    memo = DecisionMemo(32)
    rng = random.Random(13)
    contexts = [random_list_context(rng) for _ in range(40)]
    differ_from_scalars_only = 0
    for _ in range(3000):
        visitor_id = rng.choice(["v1", "v2", "v3"])
        context = copy.deepcopy(rng.choice(contexts))
        expected = bucket.decide(visitor_id, context)
        got = memo.decide(bucket, visitor_id, context)
        assert ids(got.assignments) == ids(expected), (visitor_id, context)
        scalars = {k: v for k, v in context.items() if not isinstance(v, list | tuple)}
        if ids(bucket.decide(visitor_id, scalars)) != ids(expected):
            differ_from_scalars_only += 1
    assert memo.hits > 300
    assert memo.misses > 300
    # the lists decide: leaving them out would change most answers
    assert differ_from_scalars_only > 2000


def test_keys_hold_no_types():
    key = context_key({"a": "x", "b": 1, "c": True, "d": 2.5, "e": [1, "y"]})
    assert not any(isinstance(part, type) for part in key)
    assert not any(isinstance(part, type) for item in key[-2] for part in item)


def test_a_key_is_one_flat_tuple_of_triples():
    key = context_key({"a": "x", "b": 1, "groups": ()})
    assert len(key) == 9
    assert not any(isinstance(part, tuple) and part for part in key)
    # A name and a value cannot be shifted into each other: the triples are fixed.
    assert context_key({"a": "b", "c": "d"}) != context_key({"a": "b c", "d": ""})


def test_a_manager_without_memory_decides_every_time():
    bucket = mixed_bucket()
    manager = BucketingDecisionManager(StaticBucketSource(bucket), memo_size=0)
    for _ in range(2):
        result = manager.decide(
            "v", {"plan": "gold"}, anonymous_id=None, consent=True, assignments={}, on_error=print
        )
        assert ids(result.assignments) == ids(bucket.decide("v", {"plan": "gold"}))
        # Found when read, not merged up front, and nothing remembered.
        assert dict(result.flags) == merge_flags(result.assignments)
    assert len(manager.memo) == 0


def test_the_context_key_is_asked_for_only_by_a_memo_in_use_from_the_second_visit():
    bucket = mixed_bucket()

    for size, expected in ((0, [0, 0, 0]), (4, [0, 1, 2])):
        asked: list[int] = []

        def key(asked=asked):
            asked.append(1)
            return context_key({"plan": "gold"})

        manager = BucketingDecisionManager(StaticBucketSource(bucket), memo_size=size)
        counts = []
        for _ in range(3):
            manager.decide(
                "v",
                {"plan": "gold"},
                anonymous_id=None,
                consent=True,
                assignments={},
                on_error=print,
                context_key=key,
            )
            counts.append(len(asked))
        assert counts == expected
        assert manager.memo.hits == (1 if size else 0)


def test_threads_on_two_buckets_at_once_never_get_the_other_buckets_answer():
    # What happens around a bucket change: requests still holding the old bucket
    # run beside those holding the new one.
    raw = {"campaigns": [split_campaign("c-plan", "plan", "gold")]}
    changed = copy.deepcopy(raw)
    for group in changed["campaigns"][0]["variationGroups"]:
        for item in group["variations"]:
            item["modifications"]["value"]["c-plan_flag"] = "new"
    buckets = [Bucket.parse(raw), Bucket.parse(changed)]
    memo = DecisionMemo(8)
    errors = []

    def work(seed):
        rng = random.Random(seed)
        for _ in range(2000):
            bucket = rng.choice(buckets)
            visitor_id = f"v{rng.randrange(4)}"
            value = memo.decide(bucket, visitor_id, {}).flags["c-plan_flag"].value
            if (value == "new") != (bucket is buckets[1]):
                errors.append((seed, visitor_id))

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # threads take turns often: the race gets its chances
    try:
        threads = [threading.Thread(target=work, args=(seed,)) for seed in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
    assert errors == []


def test_a_first_visit_is_decided_without_an_entry_and_the_second_is_remembered():
    bucket = mixed_bucket()
    memo = DecisionMemo()
    first = memo.decide(bucket, "v", {"plan": "gold"})
    assert ids(first.assignments) == ids(bucket.decide("v", {"plan": "gold"}))
    assert (len(memo), memo.hits, memo.misses) == (0, 0, 1)
    second = memo.decide(bucket, "v", {"plan": "gold"})
    assert (len(memo), memo.hits, memo.misses) == (1, 0, 2)
    assert memo.decide(bucket, "v", {"plan": "gold"}) is second
    assert memo.hits == 1


def test_admits_from_the_second_visit_and_records_each():
    memo = DecisionMemo(8)
    assert [memo.admits(v) for v in ("a", "b", "a", "a", "b", "c")] == [
        False,
        False,
        True,
        True,
        True,
        False,
    ]
    assert memo.admits("c")
    memo.clear()
    assert not memo.admits("a")


def test_a_visitor_returning_within_the_memos_reach_is_admitted_and_one_too_far_is_not():
    size = 8
    # Half the size: within reach. More than the size: an entry would be gone.
    for others, admitted in ((size // 2 - 1, True), (size + 1, False)):
        memo = DecisionMemo(size)
        memo.admits("v")
        for n in range(others):
            memo.admits(f"other-{n}")
        assert memo.admits("v") is admitted


def test_a_frequent_visitor_stays_admitted_however_many_new_visitors_pass():
    memo = DecisionMemo(8)
    memo.admits("regular")
    for n in range(1000):
        assert not memo.admits(f"new-{n}")
        if n % 3 == 0:
            assert memo.admits("regular")


def test_new_visitors_leave_the_memo_to_returning_ones():
    # A crowd of first visits, more than the memo holds, pushes out no entry.
    bucket = mixed_bucket()
    memo = DecisionMemo(4)
    memo.admits("regular")
    kept = memo.decide(bucket, "regular", {"plan": "gold"})
    for n in range(100):
        memo.decide(bucket, f"new-{n}", {"plan": "gold"})
        assert memo.decide(bucket, "regular", {"plan": "gold"}) is kept
    assert len(memo) == 1
    assert memo.hits == 100


def test_the_manager_says_when_the_history_holds_the_remembered_decision_already():
    bucket = mixed_bucket()
    manager = BucketingDecisionManager(StaticBucketSource(bucket), memo_size=8)

    def decide(history):
        return manager.decide(
            "v", {}, anonymous_id=None, consent=True, assignments=history, on_error=print
        )

    first = decide({})  # a first visit: no memory, the history to fill
    assert not first.history_holds
    history = {a.variation_group_id: a.variation_id for a in first.assignments}
    assert not decide({}).history_holds  # remembered, but the history is empty
    assert decide(dict(history)).history_holds  # remembered with this very history
    assert decide(dict(history)).history_holds  # and answered from memory
    assert manager.memo.hits >= 1
    partial = dict(list(history.items())[1:])
    assert not decide(partial).history_holds


def test_a_returning_visitor_whose_history_holds_the_decision_keeps_it_unchanged(bucket_path):
    client = Flagship(
        Config("env", mode=Mode.BUCKETING, bucket_file=bucket_path), tracker=MemoryTracker()
    )
    try:
        first = client.create_visitor("v", {"isVip": True})
        first.synchronize_modifications()
        history = dict(first.assignment_history)
        assert first.history_changed
        for _ in range(3):  # remembered from the second visit, then answered from memory
            again = client.create_visitor("v", {"isVip": True}, assignment_history=history)
            again.synchronize_modifications()
            assert not again.history_changed
            assert again.assignment_history == history
        assert client.decision_manager.memo.hits >= 1
        gone = dict(history)
        gone.popitem()
        short = client.create_visitor("v", {"isVip": True}, assignment_history=gone)
        short.history_digest = history_digest(gone)
        short.synchronize_modifications()
        assert short.history_changed
        assert short.assignment_history == history
        assert short.history_digest is None  # it described the history before the change
    finally:
        client.stop()


def test_a_history_digest_answers_without_comparing_the_histories():
    bucket = mixed_bucket()
    memo = DecisionMemo()
    stored = {"c-plan-vg-all": "c-plan-a1"}
    digest = history_digest(stored)
    first = memo.decide(bucket, "v", {}, stored, admitted=True, history_digest=digest)
    # The same history read again (another dict): one comparison of digests.
    again = memo.decide(bucket, "v", {}, dict(stored), admitted=True, history_digest=digest)
    assert again is first
    assert memo.hits == 1
    # Another digest is another history, whatever the dicts say.
    changed = {"c-plan-vg-all": "c-plan-a2"}
    other = memo.decide(
        bucket, "v", {}, changed, admitted=True, history_digest=history_digest(changed)
    )
    assert other is not first
    assert other.variations["c-plan-vg-all"] == "c-plan-a2"


def test_an_entry_made_without_a_digest_learns_it_from_an_equal_history():
    bucket = mixed_bucket()
    memo = DecisionMemo()
    stored = {"c-plan-vg-all": "c-plan-a3"}
    entry = memo.decide(bucket, "v", {}, stored, admitted=True)
    assert entry.history_digest is None
    digest = history_digest(stored)
    assert memo.decide(bucket, "v", {}, dict(stored), admitted=True, history_digest=digest) is entry
    assert entry.history_digest == digest
    # A digest that does not match still falls back on comparing the histories.
    assert memo.decide(bucket, "v", {}, dict(stored), admitted=True, history_digest="x") is entry


def test_a_decision_says_when_the_history_held_every_assignment():
    bucket = mixed_bucket()
    rng = random.Random(17)
    held = 0
    for n in range(400):
        visitor_id = f"visitor-{n}"
        context = random_context(rng)
        full = {a.variation_group_id: a.variation_id for a in bucket.decide(visitor_id, context)}
        history = dict(rng.sample(sorted(full.items()), k=rng.randint(0, len(full))))
        if rng.random() < 0.2:
            history["c-plan-vg-all"] = "gone"  # no longer in the group: not assigned
        assignments, holds = bucket.decide_remembered(visitor_id, context, history)
        assert ids(assignments) == ids(bucket.decide(visitor_id, context, assignments=history))
        variations = {a.variation_group_id: a.variation_id for a in assignments}
        assert holds == (history.items() >= variations.items())
        held += holds
    assert 50 < held < 350
