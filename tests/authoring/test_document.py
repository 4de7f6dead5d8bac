"""The rules of an authored document, without a database: what is refused, and why."""

import copy
import json

import pytest

from django_flagship.authoring import document
from django_flagship.authoring.document import DocumentError, canonical, targeting_problem
from django_flagship.authoring.settings_flags import local_flags_problems, settings_campaigns
from django_flagship.sdk.bucketing import Bucket

from .conftest import REPO_FILES, read


@pytest.mark.parametrize("path", REPO_FILES, ids=lambda p: p.name)
def test_the_repository_files_are_already_canonical(path):
    data = read(path)
    assert json.dumps(canonical(data)) == json.dumps(data)


def campaign(**changes):
    base = {
        "id": "c1",
        "name": "C",
        "slug": None,
        "type": "toggle",
        "variationGroups": [
            {
                "id": "g1",
                "targeting": {
                    "targetingGroups": [
                        {"targetings": [{"key": "plan", "operator": "EQUALS", "value": "gold"}]}
                    ]
                },
                "variations": [
                    {
                        "id": "v1",
                        "reference": False,
                        "allocation": 100,
                        "modifications": {"type": "FLAG", "value": {"f": True}},
                    }
                ],
            }
        ],
    }
    base.update(changes)
    return base


def problems_of(data):
    with pytest.raises(DocumentError) as caught:
        canonical(data)
    return caught.value.problems


def test_allocations_over_100_are_refused_with_where_and_why():
    data = {"campaigns": [campaign()]}
    variations = data["campaigns"][0]["variationGroups"][0]["variations"]
    variations.append(copy.deepcopy(variations[0]) | {"id": "v2", "allocation": 30})
    (problem,) = problems_of(data)
    assert problem == (
        "campaign 1 ('c1'), variation group 1 ('g1'): the allocations add up to 130, more than 100"
    )


@pytest.mark.parametrize(
    ("allocation", "expected"),
    [(101, "is not a whole number from 0 to 100"), (-1, "from 0 to 100"), (2.5, "whole number")],
)
def test_an_allocation_out_of_range_is_refused(allocation, expected):
    data = {"campaigns": [campaign()]}
    data["campaigns"][0]["variationGroups"][0]["variations"][0]["allocation"] = allocation
    assert any(expected in p for p in problems_of(data))


def test_duplicate_ids_and_slugs_are_refused():
    data = {
        "campaigns": [
            campaign(slug="s"),
            campaign(slug="s"),
        ]
    }
    found = problems_of(data)
    assert "campaign 2 ('c1'): the campaign id 'c1' is used twice" in found
    assert "campaign 2 ('c1'): the slug 's' is used twice" in found
    assert any("the variation group id 'g1' is used twice" in p for p in found)
    assert any("the variation id 'v1' is used twice" in p for p in found)


def test_a_key_twice_in_one_json_object_is_refused():
    with pytest.raises(ValueError, match="the key 'f' appears twice"):
        document.loads('{"campaigns": [], "x": {"f": 1, "f": 2}}')
    with pytest.raises(ValueError, match="NaN is not a JSON number"):
        document.loads('{"a": NaN}')


@pytest.mark.parametrize(
    ("key", "operator", "value", "expected"),
    [
        ("plan", "EQUALS", "gold", None),
        ("plan", "EQUALS", ["gold", "silver"], None),
        ("age", "GREATER_THAN_OR_EQUALS", 18, None),
        ("name", "LOWER_THAN", "m", None),
        ("vip", "EQUALS", True, None),
        ("vip", "EXISTS", True, None),
        ("app", "SEMVER_GREATER_THAN", "1.4.0", None),
        ("fs_users", "EQUALS", ["a", "b"], None),
        ("fs_all_users", "EQUALS", "", None),
        ("plan", "EQUALS", [], None),
        ("age", "CONTAINS", 18, "CONTAINS compares strings; 18 is a number"),
        ("vip", "GREATER_THAN", True, "compares numbers or strings, not booleans"),
        ("plan", "STARTS_WITH", ["a"], "STARTS_WITH does not take a list"),
        ("plan", "EQUALS", ["a", 1], "must all be of one kind"),
        ("plan", "EQUALS", [["a"]], "strings, numbers or booleans"),
        ("plan", "EQUALS", None, "a targeting needs a value"),
        ("plan", "EQUALS", {"a": 1}, "a string, a number, a boolean or a list"),
        ("vip", "EXISTS", "yes", "EXISTS takes true or false"),
        ("app", "SEMVER_EQUALS", "one", "semantic version"),
        ("fs_users", "EQUALS", 42, "the visitor id, a string"),
        ("fs_all_users", "NOT_EQUALS", "", "takes EQUALS"),
        ("plan", "LIKE", "gold", "unknown operator 'LIKE'"),
        ("", "EQUALS", "gold", "the context key is required"),
        ("age", "EQUALS", float("inf"), "finite"),
    ],
)
def test_operators_must_fit_their_value(key, operator, value, expected):
    problem = targeting_problem(key, operator, value)
    if expected is None:
        assert problem is None
    else:
        assert expected in problem


def test_everything_refused_is_reported_at_once_with_its_place():
    data = {
        "campaigns": [
            campaign(
                id="bad id",
                extra=1,
                variationGroups=[
                    {"id": "g1", "targeting": {"targetingGroups": [{"targetings": []}]}},
                ],
            )
        ],
        "surprise": True,
    }
    found = problems_of(data)
    assert "the file: unknown fields: surprise" in found
    assert any("unknown fields: extra" in p for p in found)
    assert any("the campaign id 'bad id' must be 1 to 64 letters" in p for p in found)
    assert any("an empty targeting group never matches" in p for p in found)
    assert any("needs a list of at least one variation" in p for p in found)


def test_a_group_without_targeting_is_refused_with_the_everyone_form():
    data = {"campaigns": [campaign()]}
    del data["campaigns"][0]["variationGroups"][0]["targeting"]
    (problem,) = problems_of(data)
    assert 'use {"key": "fs_all_users", "operator": "EQUALS", "value": ""} for everyone' in problem


def test_snake_case_is_read_and_written_in_camel_case():
    data = {"campaigns": [campaign()]}
    item = data["campaigns"][0]
    item["variation_groups"] = item.pop("variationGroups")
    item["bucket_ranges"] = [{"r": [0, 50]}]
    result = canonical(data)
    assert result["campaigns"][0]["variationGroups"][0]["id"] == "g1"
    assert result["campaigns"][0]["bucketRanges"] == [{"r": [0, 50]}]


@pytest.mark.parametrize(
    ("ranges", "expected"),
    [([{"r": [50, 10]}], "not 0 <= start < end <= 100"), ([[0, 100]], '{"r": [start, end]}')],
)
def test_bad_bucket_ranges_are_refused(ranges, expected):
    assert expected in " ".join(problems_of({"campaigns": [campaign(bucketRanges=ranges)]}))


def test_reserved_ids_are_refused_unless_the_settings_flags_make_them():
    data = {"campaigns": [campaign(id="settings-x")]}
    assert any("are FLAGSHIP_LOCAL_FLAGS'" in p for p in problems_of(data))
    assert canonical(data, reserved_ok=True)["campaigns"][0]["id"] == "settings-x"


def test_settings_flags_compile_to_campaigns_the_engine_reads_without_complaint():
    flags = {"vip_feature": False, "btn_color": {"red": 50, "blue": 50}, "odd key!": [1, 2]}
    campaigns = settings_campaigns(flags)
    data = canonical({"campaigns": campaigns}, reserved_ok=True)
    errors = []
    bucket = Bucket.parse(data, on_error=errors.append)
    assert errors == []
    assert [c["type"] for c in campaigns] == ["toggle", "ab", "toggle"]
    assert campaigns[2]["id"].startswith("settings-")
    assert "!" not in campaigns[2]["id"]
    values = {bucket.decide(f"visitor-{n}", {})[1].flags["btn_color"] for n in range(200)}
    assert values == {"red", "blue"}
    assert all(bucket.decide(f"v{n}", {})[0].flags == {"vip_feature": False} for n in range(20))
    # The same settings, the same document.
    assert settings_campaigns(flags) == campaigns


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        ([1], "must be a dict"),
        ({"": True}, "must be a non-empty string"),
        ({"a": None}, "leave the flag out instead"),
        ({"a": {}}, "empty split"),
        ({"a": {"x": 60, "y": 50}}, "add up to 110"),
        ({"a": {"x": 101}}, "a percent is a whole number from 0 to 100"),
        ({"a": {"x": True}}, "a percent is a whole number"),
        ({"a": object()}, "not a JSON value"),
        ({"a": float("nan")}, "finite"),
    ],
)
def test_settings_flags_problems(flags, expected):
    found = local_flags_problems(flags)
    assert any(expected in p for p in found), found
    with pytest.raises(DocumentError):
        settings_campaigns(flags)


def test_parse_value_types_what_a_person_types():
    assert document.parse_value("gold") == "gold"
    assert document.parse_value("18") == 18
    assert document.parse_value("true") is True
    assert document.parse_value('["fr", "de"]') == ["fr", "de"]
    assert document.parse_value('"123"') == "123"
    assert document.parse_value("") == ""


def test_a_flag_value_nested_too_deep_is_refused():
    value = "leaf"
    for _ in range(document.MAX_VALUE_DEPTH):
        value = [value]
    assert document.flags_problem({"f": value}) is None
    assert "nested more than 32 levels" in document.flags_problem({"f": [value]})
