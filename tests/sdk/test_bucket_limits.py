"""The bounds on a bucketing file: each one refused with a BucketError that names it."""

import dataclasses
import json
import os

import pytest

from django_flagship.sdk.bucket_limits import DEFAULT_LIMITS, BucketLimits, check_bucket_limits
from django_flagship.sdk.bucket_source import (
    FileBucketSource,
    load_bucketing_file,
    parse_bucketing_text,
)
from django_flagship.sdk.bucketing import Bucket, BucketError

from .conftest import SAMPLE_BUCKET

SMALL = BucketLimits(
    max_campaigns=3,
    max_groups_per_campaign=2,
    max_variations_per_group=2,
    max_targeting_groups_per_group=2,
    max_targetings_per_group=2,
    max_list_length=3,
    max_variation_groups=6,
    max_variations=12,
    max_targetings=24,
)


def bucket(campaigns=1, groups=1, variations=1, targeting_groups=1, targetings=1, value="x"):
    condition = {"key": "k", "operator": "EQUALS", "value": value}
    targeting = {"targetingGroups": [{"targetings": [condition] * targetings}] * targeting_groups}
    variation_list = [{"id": f"v{i}", "allocation": 0} for i in range(variations)]
    return {
        "campaigns": [
            {
                "id": f"c{c}",
                "variationGroups": [
                    {"id": f"vg{g}", "targeting": targeting, "variations": variation_list}
                    for g in range(groups)
                ],
            }
            for c in range(campaigns)
        ]
    }


def test_a_file_at_every_bound_is_accepted():
    at_bounds = bucket(3, 2, 2, targeting_groups=2, targetings=2, value=["a", "b", "c"])
    check_bucket_limits(at_bounds, SMALL)
    assert Bucket.parse(at_bounds).variation_group_count == 6


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (bucket(campaigns=4), "the bucketing file has 4 campaigns, more than the limit of 3"),
        (bucket(groups=3), "campaign 'c0' has 3 variation groups, more than the limit of 2"),
        (bucket(variations=3), "campaign 'c0', variation group 'vg0' has 3 variations"),
        (bucket(targeting_groups=3), "variation group 'vg0' has 3 targeting groups"),
        (bucket(targetings=3), "variation group 'vg0' has 3 targetings in a group"),
        (bucket(value=list("abcd")), "has 4 items in a targeting value, more than the limit of 3"),
    ],
)
def test_each_count_bound_names_itself(data, message):
    with pytest.raises(BucketError, match=message):
        check_bucket_limits(data, SMALL)


@pytest.mark.parametrize(
    ("bound", "message"),
    [
        ({"max_variation_groups": 5}, "the bucketing file has 6 variation groups"),
        ({"max_variations": 11}, "the bucketing file has 12 variations"),
        ({"max_targetings": 23}, "the bucketing file has 24 targetings, more than the limit of 23"),
    ],
)
def test_file_wide_counts_bound_the_work_of_parsing(bound, message):
    at_bounds = bucket(3, 2, 2, targeting_groups=2, targetings=2)
    with pytest.raises(BucketError, match=message):
        check_bucket_limits(at_bounds, dataclasses.replace(SMALL, **bound))


def test_the_settings_that_raise_a_bound_are_named():
    with pytest.raises(BucketError, match=r"FLAGSHIP_BUCKET_MAX_CAMPAIGNS raises it"):
        check_bucket_limits(bucket(campaigns=4), SMALL)
    with pytest.raises(BucketError, match=r"\(a fixed bound\)"):
        check_bucket_limits(bucket(groups=3), SMALL)


def test_shapes_are_left_to_the_parser():
    # Not lists, missing ids, snake_case names: counted where they are lists.
    check_bucket_limits({"campaigns": [1, None, {"variation_groups": "x"}]}, SMALL)
    with pytest.raises(BucketError, match="campaign 1 has 3 variation groups"):
        check_bucket_limits({"campaigns": [{}, {"variation_groups": [{}, {}, {}]}]}, SMALL)


def test_the_defaults_are_far_above_a_real_file():
    assert DEFAULT_LIMITS.max_bytes == 16 * 1024 * 1024
    assert DEFAULT_LIMITS.max_depth == 64
    check_bucket_limits(SAMPLE_BUCKET)
    check_bucket_limits(bucket(campaigns=1_000, groups=5, variations=4, targetings=10))


def test_text_over_the_size_bound_is_refused_before_it_is_decoded():
    text = json.dumps(SAMPLE_BUCKET)
    limits = BucketLimits(max_bytes=len(text) - 1)
    with pytest.raises(BucketError, match=f"larger than the limit of {len(text) - 1:,} bytes"):
        parse_bucketing_text(text, limits)
    assert parse_bucketing_text(text, BucketLimits(max_bytes=len(text))) == SAMPLE_BUCKET
    # Text is measured in UTF-8 bytes, not characters.
    wide = json.dumps({"campaigns": [], "x": "é" * 600}, ensure_ascii=False)
    with pytest.raises(BucketError, match="larger than the limit"):
        parse_bucketing_text(wide, BucketLimits(max_bytes=len(wide) + 100))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"campaigns": [' + "[" * 5_000 + "]" * 5_000 + "]}", "deeper than 64 levels"),
        ('{"campaigns": "\\ud800"}', "campaigns is not valid text"),
        ("{}", "has no campaigns list"),
        ('{"campaigns": null}', "has no campaigns list"),
        ("[]", "is not a JSON object"),
        ("<html>502</html>", "not valid JSON: Expecting value.*it begins '<html>502</html>'"),
    ],
)
def test_what_is_not_a_bucketing_file_is_refused(text, message):
    with pytest.raises(BucketError, match=message):
        parse_bucketing_text(text)
    with pytest.raises(BucketError, match=message):
        parse_bucketing_text(text.encode())


def test_nan_is_left_to_the_parser_as_before():
    data = parse_bucketing_text('{"campaigns": [], "x": NaN}')
    assert data["x"] != data["x"]


def test_a_file_too_large_is_refused_unread(tmp_path):
    path = tmp_path / "bucketing.json"
    path.write_text(json.dumps(SAMPLE_BUCKET))
    size = os.path.getsize(path)
    with pytest.raises(
        BucketError, match=f"bucket file .* is larger than the limit of {size - 1:,}"
    ):
        load_bucketing_file(str(path), BucketLimits(max_bytes=size - 1))
    assert load_bucketing_file(str(path), BucketLimits(max_bytes=size)) == SAMPLE_BUCKET


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"campaigns": [' + "[" * 100_000 + "]" * 100_000 + "]}", "deeper than 64 levels"),
        (json.dumps(bucket(groups=1_001)), "1,001 variation groups, more than the limit of 1,000"),
        (b"\xff\xfe{}", "not valid JSON: the text is not UTF-8"),
    ],
)
def test_a_pathological_file_is_a_bucket_error(tmp_path, content, message):
    path = tmp_path / "bucketing.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    with pytest.raises(BucketError, match=message):
        load_bucketing_file(str(path))
    with pytest.raises(BucketError, match=message):
        FileBucketSource(str(path))


def test_a_file_source_takes_its_limits(tmp_path):
    path = tmp_path / "bucketing.json"
    path.write_text(json.dumps(bucket(campaigns=4)))
    assert FileBucketSource(str(path)).current().campaign_count == 4
    with pytest.raises(BucketError, match="4 campaigns"):
        FileBucketSource(str(path), limits=SMALL)
