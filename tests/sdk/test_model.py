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
