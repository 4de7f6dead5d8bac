from django_flagship.sdk.model import Assignment, FlagInfo, merge_flags


def assignment(campaign, flags):
    return Assignment(campaign, f"vg-{campaign}", f"var-{campaign}", flags=flags)


def test_later_campaign_wins_and_keeps_its_metadata():
    first = assignment("c1", {"color": "red", "size": 1})
    second = assignment("c2", {"color": "blue", "empty": None})
    merged = merge_flags([first, second])
    assert merged["color"] == FlagInfo("color", "blue", second)
    assert merged.get("size") == FlagInfo("size", 1, first)
    assert merged.get("empty") == FlagInfo("empty", None, second)
    assert merged.get("missing") is None
    assert "color" in merged
    assert "missing" not in merged
    assert sorted(merged) == ["color", "empty", "size"]
    assert len(merged) == 3
    assert dict(merged)["color"].value == "blue"


def test_no_assignments():
    merged = merge_flags([])
    assert len(merged) == 0
    assert dict(merged) == {}


def overlapping_bucket(*, shared_group_id=False):
    """Campaigns setting the same keys, each for part of the visitors."""
    from django_flagship.sdk.bucketing import Bucket

    from .conftest import all_users, targeting, variation

    campaigns = []
    for n in range(6):
        group = f"vg-{n}" if not (shared_group_id and n == 5) else "vg-0"
        campaigns.append(
            {
                "id": f"c-{n}",
                "type": "ab",
                "variationGroups": [
                    {
                        "id": group,
                        "targeting": targeting("plan", "EQUALS", "gold") if n % 2 else all_users(),
                        "variations": [
                            variation(f"c-{n}-v{m}", 50, {"color": f"{n}-{m}", f"own-{n}-{m}": m})
                            for m in range(2)
                        ],
                    }
                ],
            }
        )
    return Bucket.parse({"campaigns": campaigns})


def test_flags_found_when_read_are_the_merged_flags():
    import random

    from django_flagship.sdk.model import DecidedFlags

    bucket = overlapping_bucket()
    rng = random.Random(5)
    for n in range(300):
        context = {"plan": rng.choice(["gold", "silver"])}
        history = {"vg-1": "c-1-v1"} if rng.random() < 0.3 else {}
        assignments = bucket.decide(f"v{n}", context, assignments=history)
        variations = {a.variation_group_id: a.variation_id for a in assignments}
        merged = merge_flags(assignments)
        found = DecidedFlags(assignments, variations, bucket.flag_sources)
        for key in ["color", "absent", *(f"own-{c}-{m}" for c in range(6) for m in range(2))]:
            assert found.get(key) == merged.get(key), key
            assert (key in found) == (key in merged)
        assert found == merged
        assert dict(found) == merged
        assert len(found) == len(merged)
        assert found.get("color") == found["color"]  # read again once merged


def test_shared_variation_group_ids_keep_the_flags_merged_up_front():
    from django_flagship.sdk.bucket_source import StaticBucketSource
    from django_flagship.sdk.decision import BucketingDecisionManager

    bucket = overlapping_bucket(shared_group_id=True)
    assert bucket.flag_sources is None
    manager = BucketingDecisionManager(StaticBucketSource(bucket), memo_size=0)
    result = manager.decide(
        "v", {"plan": "gold"}, anonymous_id=None, consent=True, assignments={}, on_error=print
    )
    assert result.flags is None  # merged by the visitor, as a Decision API answer is
    assert overlapping_bucket().flag_sources is not None
