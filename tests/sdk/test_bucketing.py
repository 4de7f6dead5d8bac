"""Local decisions from a bucketing file (protocol sections 2 and 3)."""

import itertools
import random
from types import MappingProxyType

import pytest

from django_flagship.sdk.bucketing import Bucket, BucketError, CampaignOutcome
from django_flagship.sdk.hashing import decision_group_key, murmur_bucket, range_bucket
from django_flagship.sdk.model import Assignment, merge_flags

VG25 = "bs8qvmo4nlr01fl9bbbb"
VG50 = "bs8r119sbs4016meiiii"
ALL_USERS = {
    "targetingGroups": [
        {"targetings": [{"key": "fs_all_users", "operator": "EQUALS", "value": ""}]}
    ]
}


def targeting(key, operator, value):
    return {
        "targetingGroups": [{"targetings": [{"key": key, "operator": operator, "value": value}]}]
    }


def variation(var_id, allocation=None, flags=None, **extra):
    data = {"id": var_id, "modifications": {"type": "FLAG", "value": flags or {}}, **extra}
    if allocation is not None:
        data["allocation"] = allocation
    return data


def group(vg_id, variations, target=ALL_USERS, **extra):
    return {"id": vg_id, "targeting": target, "variations": variations, **extra}


def campaign(campaign_id, groups, type_="ab", **extra):
    return {"id": campaign_id, "type": type_, "variationGroups": groups, **extra}


def bucket_of(*campaigns, **top):
    return Bucket.parse({"campaigns": list(campaigns), **top})


def visitor_in_bucket(vg_id, wanted, prefix="visitor-"):
    """A visitor id whose allocation bucket in ``vg_id`` is ``wanted``."""
    for i in itertools.count():
        candidate = f"{prefix}{i}"
        if murmur_bucket(vg_id, candidate) == wanted:
            return candidate


def visitor_in_range_bucket(wanted, prefix="visitor-"):
    for i in itertools.count():
        candidate = f"{prefix}{i}"
        if range_bucket(candidate) == wanted:
            return candidate


def ids(assignments):
    return [(a.campaign_id, a.variation_group_id, a.variation_id) for a in assignments]


@pytest.fixture
def worked_examples():
    """The two variation groups of the official SDK's fixture BUCKETING_RESPONSE_2."""
    vg25 = [variation("var0", flags={"variation": 0}, reference=True)] + [
        variation(f"var{i}", 25, {"variation": i}) for i in range(1, 5)
    ]
    vg50 = [variation("v50-0", flags={"variation50": 0}, reference=True)] + [
        variation(f"v50-{i}", 50, {"variation50": i}) for i in range(1, 3)
    ]
    return bucket_of(
        campaign("c25", [group(VG25, vg25)]),
        campaign("c50", [group(VG50, vg50)]),
    )


@pytest.mark.parametrize(
    ("visitor", "key", "value"),
    [
        ("202072017183814142", "variation", 4),  # bucket 75: not < 75, fourth range
        ("202072017183860649", "variation", 1),  # bucket 16
        ("202072017183828850", "variation", 2),  # bucket 33
        ("202072017183823773", "variation50", 2),  # bucket 55
        ("202072017183818733", "variation50", 1),  # bucket 5
    ],
)
def test_worked_examples(worked_examples, visitor, key, value):
    flags = merge_flags(worked_examples.decide(visitor, {}))
    assert flags[key].value == value


def test_unallocated_visitor_skips_the_campaign_without_fall_through():
    # Worked example 6: bucket 45 in vgA (10 % allocated) -> not allocated. The
    # official SDK would fall through to vgB; the engine skips the campaign.
    bucket = bucket_of(
        campaign(
            "c",
            [
                group("vgA", [variation("a1", 10, {"k": "a"})]),
                group("vgB", [variation("b1", 100, {"k": "b"})]),
            ],
        )
    )
    assert murmur_bucket("vgA", "1") == 45
    assert bucket.decide("1", {}) == []
    [outcome] = bucket.explain("1", {})
    assert outcome.reason == "not allocated (bucket 45)"
    assert outcome.bucket == 45
    assert outcome.variation_group_id == "vgA"
    assert not outcome.matched


def test_cumulative_allocations_in_file_order():
    vgs = [variation("ref", flags={"c": 0}, reference=True)]  # no allocation: no traffic
    vgs += [variation("a", 20, {"c": 1}), variation("z", 0), variation("b", 10, {"c": 2})]
    vgs += [variation("c", 50, {"c": 3})]
    bucket = bucket_of(campaign("c", [group("vg", vgs)]))
    expected = {0: "a", 19: "a", 20: "b", 29: "b", 30: "c", 79: "c", 80: None, 99: None}
    for wanted, var_id in expected.items():
        visitor = visitor_in_bucket("vg", wanted)
        got = bucket.decide(visitor, {})
        assert [a.variation_id for a in got] == ([var_id] if var_id else []), wanted


def test_negative_allocations_are_summed_like_the_engine_does():
    # Running sums 50, 40, 100: "b" can never be reached.
    vgs = [variation("a", 50), variation("b", -10), variation("c", 60)]
    bucket = bucket_of(campaign("c", [group("vg", vgs)]))
    for wanted, var_id in {0: "a", 39: "a", 49: "a", 50: "c", 99: "c"}.items():
        visitor = visitor_in_bucket("vg", wanted)
        assert [a.variation_id for a in bucket.decide(visitor, {})] == [var_id], wanted


def test_first_matching_variation_group_only():
    bucket = bucket_of(
        campaign(
            "c",
            [
                group(
                    "vip", [variation("v1", 100, {"tier": "vip"})], targeting("vip", "EQUALS", True)
                ),
                group("all", [variation("v2", 100, {"tier": "all"})]),
            ],
        )
    )
    assert ids(bucket.decide("x", {"vip": True})) == [("c", "vip", "v1")]
    assert ids(bucket.decide("x", {"vip": False})) == [("c", "all", "v2")]
    # A targeting error in the first group moves on to the next group.
    assert ids(bucket.decide("x", {"vip": "yes"})) == [("c", "all", "v2")]


def test_no_matching_variation_group():
    bucket = bucket_of(
        campaign("c", [group("vg", [variation("v", 100)], targeting("age", "GREATER_THAN", 18))])
    )
    assert bucket.decide("x", {"age": 10}) == []
    [outcome] = bucket.explain("x", {"age": 10})
    assert outcome.reason == "no variation group matched targeting"
    assert outcome.variation_group_id is None


class TestBucketRanges:
    def make(self, **ranges):
        return bucket_of(
            campaign("c", [group("vg", [variation("v", 100, {"on": True})])], **ranges)
        )

    def test_visitor_id_alone_decides(self):
        assert range_bucket("123") == 71
        assert self.make(bucketRanges=[{"r": [70, 72]}]).decide("123", {})
        assert not self.make(bucketRanges=[{"r": [0, 71]}]).decide("123", {})
        assert self.make(bucketRanges=[{"r": [0, 10]}, {"r": [71, 72]}]).decide("123", {})
        assert self.make(bucketRanges=[{"r": [71, 71.5]}]).decide("123", {})

    def test_empty_list_excludes_everyone(self):
        bucket = self.make(bucketRanges=[])
        assert all(not bucket.decide(f"v{i}", {}) for i in range(300))
        [outcome] = bucket.explain("123", {})
        assert outcome.reason == "outside bucket ranges (bucket 71)"

    @pytest.mark.parametrize("ranges", [{}, {"bucketRanges": None}])
    def test_campaign_without_ranges_is_open_to_all(self, ranges):
        bucket = self.make(**ranges)
        assert all(bucket.decide(f"v{i}", {}) for i in range(300))

    def test_full_range_and_snake_case(self):
        bucket = self.make(bucket_ranges=[{"r": [0, 100]}])
        assert all(bucket.decide(f"v{i}", {}) for i in range(300))

    def test_ranges_are_checked_after_targeting(self):
        bucket = bucket_of(
            campaign(
                "c",
                [group("vg", [variation("v", 100)], targeting("k", "EQUALS", "x"))],
                bucketRanges=[],
            )
        )
        [outcome] = bucket.explain("123", {})
        assert outcome.reason == "no variation group matched targeting"

    def test_every_bucket_boundary(self):
        bucket = self.make(bucketRanges=[{"r": [10, 20]}, {"r": [50, 50.5]}])
        allowed = set(range(10, 20)) | {50}
        for wanted in (0, 9, 10, 19, 20, 49, 50, 51, 99):
            visitor = visitor_in_range_bucket(wanted)
            assert bool(bucket.decide(visitor, {})) == (wanted in allowed), wanted


class TestDecisionGroups:
    def make(self):
        variations = [variation(f"v{i}", 10, {"n": i}) for i in range(10)]
        return bucket_of(
            *(campaign(f"c{n}", [group(f"vg{n}", variations)]) for n in range(20)),
        )

    def test_members_share_variations(self):
        bucket = self.make()
        first = ids(bucket.decide("alice", {}, decision_group="team-42"))
        second = ids(bucket.decide("bob", {}, decision_group="team-42"))
        assert first == second
        assert len(first) == 20
        alone = [ids(bucket.decide(v, {})) for v in ("alice", "bob")]
        assert alone[0] != alone[1]

    def test_hash_is_vg_id_plus_base64_of_the_group(self):
        bucket = self.make()
        for assignment in bucket.decide("anyone", {}, decision_group="team-42"):
            expected = murmur_bucket(assignment.variation_group_id, decision_group_key("team-42"))
            assert assignment.variation_id == f"v{expected // 10}"
        assert murmur_bucket(VG25, decision_group_key("team-42")) == 22

    def test_empty_group_is_no_group(self):
        bucket = self.make()
        assert bucket.decide("alice", {}, decision_group="") == bucket.decide("alice", {})

    def test_bucket_ranges_still_use_the_visitor_id(self):
        bucket = bucket_of(
            campaign("c", [group("vg", [variation("v", 100)])], bucketRanges=[{"r": [71, 72]}])
        )
        assert bucket.decide("123", {}, decision_group="g")
        assert not bucket.decide(visitor_in_range_bucket(5), {}, decision_group="g")


class TestCachedAssignments:
    def make(self):
        vg = group("vg", [variation("a", 50, {"k": "a"}), variation("b", 50, {"k": "b"})])
        return bucket_of(campaign("c", [vg]))

    def test_cached_variation_beats_the_hash(self):
        bucket = self.make()
        visitor = visitor_in_bucket("vg", 10)  # the hash says "a"
        assert ids(bucket.decide(visitor, {})) == [("c", "vg", "a")]
        got = bucket.decide(visitor, {}, assignments={"vg": "b"})
        assert ids(got) == [("c", "vg", "b")]
        [outcome] = bucket.explain(visitor, {}, assignments={"vg": "b"})
        assert outcome.matched
        assert outcome.assignment == got[0]

    def test_cached_variation_that_disappeared_skips_the_campaign(self):
        bucket = self.make()
        assert bucket.decide("x", {}, assignments={"vg": "deleted"}) == []
        [outcome] = bucket.explain("x", {}, assignments={"vg": "deleted"})
        assert outcome.reason == "cached variation 'deleted' is no longer in the variation group"

    def test_targeting_is_evaluated_first(self):
        vg = group("vg", [variation("a", 100)], targeting("k", "EQUALS", "x"))
        bucket = bucket_of(campaign("c", [vg]))
        assert bucket.decide("x", {}, assignments={"vg": "a"}) == []

    def test_cache_for_another_group_is_ignored(self):
        bucket = self.make()
        visitor = visitor_in_bucket("vg", 80)
        assert ids(bucket.decide(visitor, {}, assignments={"other": "a"})) == [("c", "vg", "b")]

    def test_bucket_ranges_apply_to_cached_assignments(self):
        bucket = bucket_of(campaign("c", [group("vg", [variation("a", 100)])], bucketRanges=[]))
        assert bucket.decide("x", {}, assignments={"vg": "a"}) == []


def test_merge_precedence_later_campaign_wins():
    bucket = bucket_of(
        campaign("first", [group("vg1", [variation("v1", 100, {"color": "red", "a": 1})])]),
        campaign("second", [group("vg2", [variation("v2", 100, {"color": "blue", "b": 2})])]),
    )
    assignments = bucket.decide("x", {})
    assert [a.campaign_id for a in assignments] == ["first", "second"]
    flags = merge_flags(assignments)
    assert flags["color"].value == "blue"
    assert flags["color"].assignment.campaign_id == "second"
    assert flags["a"].assignment.campaign_id == "first"
    assert {key: info.value for key, info in flags.items()} == {"color": "blue", "a": 1, "b": 2}


def test_duplicate_campaign_ids_first_wins():
    bucket = bucket_of(
        campaign("c", [group("vg1", [variation("v1", 100)], targeting("k", "EQUALS", "x"))]),
        campaign("c", [group("vg2", [variation("v2", 100)])]),
        campaign("d", [group("vg3", [variation("v3", 100)])]),
    )
    # The first campaign "c" does not match; its duplicate is ignored anyway.
    assert ids(bucket.decide("x", {})) == [("d", "vg3", "v3")]
    assert ids(bucket.decide("x", {"k": "x"})) == [("c", "vg1", "v1"), ("d", "vg3", "v3")]
    reasons = [o.reason for o in bucket.explain("x", {})]
    assert reasons == ["no variation group matched targeting", "duplicate campaign id", "matched"]
    assert bucket.campaign_count == 3


def test_panic_serves_nothing():
    bucket = bucket_of(campaign("c", [group("vg", [variation("v", 100)])]), panic=True)
    assert bucket.panic
    assert bucket.campaign_count == 1
    assert bucket.decide("x", {}) == []
    [outcome] = bucket.explain("x", {})
    assert outcome.reason.startswith("panic")


class TestSingleAssignment:
    def make(self, enabled, first_allocation=100):
        return bucket_of(
            campaign("ab1", [group("vg1", [variation("v1", first_allocation)])]),
            campaign("toggle", [group("vg2", [variation("v2", 100)])], type_="toggle"),
            campaign("ab2", [group("vg3", [variation("v3", 100)])]),
            accountSettings={"enabled1V1T": enabled},
        )

    def test_one_ab_campaign_per_visitor(self):
        got = [a.campaign_id for a in self.make(True).decide("x", {})]
        assert got == ["ab1", "toggle"]
        reasons = [o.reason for o in self.make(True).explain("x", {})]
        assert reasons[2].startswith("single assignment (1V1T)")

    def test_disabled(self):
        assert [a.campaign_id for a in self.make(False).decide("x", {})] == ["ab1", "toggle", "ab2"]

    def test_unallocated_ab_campaign_does_not_count(self):
        got = [a.campaign_id for a in self.make(True, first_allocation=0).decide("x", {})]
        assert got == ["toggle", "ab2"]


class TestParsing:
    def test_top_level_garbage_raises(self):
        for bad in ([], "campaigns", None, 42):
            with pytest.raises(BucketError, match="JSON object"):
                Bucket.parse(bad)
        with pytest.raises(BucketError, match="campaigns"):
            Bucket.parse({"campaigns": {"id": "c"}})
        with pytest.raises(BucketError, match="panic"):
            Bucket.parse({"panic": "yes"})
        with pytest.raises(BucketError, match="accountSettings"):
            Bucket.parse({"accountSettings": []})
        assert issubclass(BucketError, ValueError)

    def test_empty_file(self):
        bucket = Bucket.parse({})
        assert bucket.campaign_count == 0
        assert bucket.variation_group_count == 0
        assert not bucket.panic
        assert bucket.account_settings == {}
        assert bucket.decide("x", {}) == []

    def test_malformed_campaigns_are_skipped_and_reported(self):
        errors = []
        good = campaign("good", [group("vg-good", [variation("v", 100, {"ok": True})])])
        data = {
            "campaigns": [
                "not a campaign",
                {"type": "ab", "variationGroups": []},  # no id
                campaign("bad-groups", "not a list"),
                campaign(
                    "bad-ranges", [group("vg", [variation("v", 100)])], bucketRanges=[{"r": [1]}]
                ),
                good,
            ]
        }
        bucket = Bucket.parse(data, on_error=errors.append)
        assert len(errors) == 4
        assert "campaign 0" in errors[0]
        assert "campaign 1 has no id" in errors[1]
        assert "'bad-groups'" in errors[2]
        assert "variationGroups" in errors[2]
        assert "'bad-ranges'" in errors[3]
        assert "bucketRanges" in errors[3]
        assert all(e.endswith("campaign skipped") for e in errors)
        assert bucket.campaign_count == 1
        assert ids(bucket.decide("x", {})) == [("good", "vg-good", "v")]
        outcomes = bucket.explain("x", {})
        assert [o.campaign_id for o in outcomes] == ["", "", "bad-groups", "bad-ranges", "good"]
        assert [o.reason.startswith("malformed") for o in outcomes] == [True] * 4 + [False]

    @pytest.mark.parametrize(
        ("bad_group", "problem"),
        [
            (group("vg-bad", "nope"), "variations is not a list"),
            (group("vg-bad", [variation("v", "50")]), "allocation must be an integer"),
            (group("vg-bad", [variation("v", 33.5)]), "allocation must be an integer"),
            (group("vg-bad", [variation("v", 100, reference="yes")]), "reference"),
            (group("vg-bad", [{"allocation": 100}]), "variation 0 has no id"),
            (group("vg-bad", [variation("v", 100)], target=[]), "targeting"),
            (
                group("vg-bad", [variation("v", 100)], target={"targetingGroups": "x"}),
                "targetingGroups",
            ),
            (group("vg-bad", [{"id": "v", "modifications": {"value": [1]}}]), "modifications"),
        ],
    )
    def test_malformed_variation_group_is_skipped_and_reported(self, bad_group, problem):
        errors = []
        good_group = group("vg-good", [variation("v", 100, {"ok": True})])
        data = {"campaigns": [campaign("camp", [bad_group, good_group])]}
        bucket = Bucket.parse(data, on_error=errors.append)
        [message] = errors
        assert "'camp'" in message
        assert "'vg-bad'" in message
        assert problem in message
        assert message.endswith("variation group skipped")
        assert bucket.variation_group_count == 1
        assert ids(bucket.decide("x", {})) == [("camp", "vg-good", "v")]
        [outcome] = bucket.explain("x", {})
        assert message in outcome.detail

    def test_without_on_error_nothing_is_raised(self):
        bucket = Bucket.parse(
            {"campaigns": [42, campaign("c", [group("vg", [variation("v", 100)])])]}
        )
        assert bucket.campaign_count == 1

    def test_defaults(self):
        data = {
            "campaigns": [
                {
                    "id": "c",
                    "variation_groups": [  # snake_case, as the engine accepts
                        {
                            "id": "vg",
                            "targeting": {
                                "targeting_groups": [
                                    {"targetings": [{"key": "fs_all_users", "operator": "EQUALS"}]}
                                ]
                            },
                            "variations": [
                                {"id": "no-alloc", "modifications": {"value": {"x": 1}}},
                                {"id": "bare", "allocation": 100.0},
                            ],
                        }
                    ],
                }
            ],
            "account_settings": {"enabledXPC": False},
        }
        bucket = Bucket.parse(data)
        [assignment] = bucket.decide("x", {})
        assert assignment.variation_id == "bare"  # missing allocation means 0
        assert assignment.reference is False  # missing reference means False
        assert dict(assignment.flags) == {}  # no modifications: no flags
        assert assignment.modification_type == "FLAG"
        assert bucket.account_settings == {"enabledXPC": False}
        assert bucket.raw is data

    def test_variation_group_without_targeting_never_matches(self):
        bucket = bucket_of(campaign("c", [{"id": "vg", "variations": [variation("v", 100)]}]))
        assert bucket.decide("x", {}) == []

    def test_assignment_metadata_and_immutable_flags(self):
        raw_flags = {"color": "red", "nested": {"a": [1, 2]}}
        data = {
            "campaigns": [
                {
                    "id": "c",
                    "name": "Checkout",
                    "slug": "checkout-test",
                    "type": "ab",
                    "variationGroups": [
                        {
                            "id": "vg",
                            "name": "All users",
                            "targeting": ALL_USERS,
                            "variations": [
                                {
                                    "id": "v",
                                    "name": "Red",
                                    "allocation": 100,
                                    "reference": True,
                                    "modifications": {"type": "JSON", "value": raw_flags},
                                }
                            ],
                        }
                    ],
                }
            ]
        }
        bucket = Bucket.parse(data)
        [assignment] = bucket.decide("x", {})
        assert assignment == Assignment(
            campaign_id="c",
            variation_group_id="vg",
            variation_id="v",
            flags={"color": "red", "nested": {"a": [1, 2]}},
            campaign_name="Checkout",
            campaign_type="ab",
            slug="checkout-test",
            variation_group_name="All users",
            variation_name="Red",
            reference=True,
            modification_type="JSON",
        )
        assert isinstance(assignment.flags, MappingProxyType)
        with pytest.raises(TypeError):
            assignment.flags["color"] = "blue"
        # The flags are a private copy of the file's values.
        raw_flags["nested"]["a"].append(3)
        assert assignment.flags["nested"] == {"a": [1, 2]}
        # Deciding again hands out the same precomputed object.
        assert bucket.decide("y", {})[0] is assignment

    def test_visitor_id_must_be_a_string(self):
        bucket = bucket_of(campaign("c", [group("vg", [variation("v", 100)])]))
        with pytest.raises(TypeError):
            bucket.decide(123, {})
        with pytest.raises(TypeError):
            bucket.explain(None, {})

    def test_bucket_cannot_be_built_directly(self):
        with pytest.raises(TypeError):
            Bucket()


def random_bucket(rng):
    keys = ["age", "plan", "vip", "tags"]
    campaigns = []
    for c in range(12):
        groups = []
        for g in range(rng.randint(0, 3)):
            n = rng.randint(1, 4)
            allocations = [rng.randint(0, 40) for _ in range(n)]
            variations = [
                variation(f"c{c}g{g}v{i}", a, {f"k{rng.randint(0, 5)}": i})
                for i, a in enumerate(allocations)
            ]
            key = rng.choice(keys)
            value = {"age": rng.randint(10, 60), "plan": "pro", "vip": True, "tags": "x"}[key]
            op = rng.choice(["EQUALS", "NOT_EQUALS", "GREATER_THAN", "CONTAINS", "EXISTS"])
            target = rng.choice([ALL_USERS, targeting(key, op, value)])
            groups.append(group(f"c{c}g{g}", variations, target))
        extra = {}
        if rng.random() < 0.3:
            start = rng.randint(0, 90)
            extra["bucketRanges"] = [{"r": [start, start + rng.randint(0, 30)]}]
        campaigns.append(
            campaign(f"c{rng.randint(0, 10)}", groups, type_=rng.choice(["ab", "toggle"]), **extra)
        )
    return Bucket.parse(
        {"campaigns": campaigns, "accountSettings": {"enabled1V1T": rng.random() < 0.5}}
    )


def test_explain_agrees_with_decide_on_random_files():
    rng = random.Random(1234)
    matched = 0
    for _ in range(40):
        bucket = random_bucket(rng)
        for v in range(40):
            visitor = f"visitor-{rng.random()}"
            context = {"age": rng.randint(0, 70), "plan": rng.choice(["pro", "free", 3])}
            if rng.random() < 0.5:
                context["vip"] = rng.choice([True, False])
            if rng.random() < 0.3:
                context["tags"] = ["a", "x"]
            kwargs = {}
            if v % 5 == 0:
                kwargs["decision_group"] = rng.choice(["g1", "g2"])
            decided = bucket.decide(visitor, context, **kwargs)
            outcomes = bucket.explain(visitor, context, **kwargs)
            assert all(isinstance(o, CampaignOutcome) for o in outcomes)
            assert len(outcomes) == bucket.campaign_count
            assert decided == [o.assignment for o in outcomes if o.matched]
            assert all((o.reason == "matched") == o.matched for o in outcomes)
            matched += len(decided)
    assert matched > 1000  # the files are not trivially empty
