"""The bucketing file's bounds in Django: settings, checks and commands.

A pathological file (thousands of variation groups, deep nesting, too large)
once ended ``manage.py check`` and ``flagship_refresh_bucket --file`` in a
traceback. Each is now a check error or a ``CommandError`` naming the bound.
"""

import json
import logging
import re
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError, SystemCheckError

from django_flagship.checks import check_settings
from django_flagship.client import get_bucket, get_store
from django_flagship.limits import bucket_limits
from django_flagship.sdk.bucket_limits import DEFAULT_LIMITS, BucketLimits
from tests.conftest import DATA


def targeted_groups(count: int) -> dict:
    """One campaign of ``count`` variation groups, each targeting its own value."""
    groups = [
        {
            "id": f"vg{i}",
            "targeting": {
                "targetingGroups": [
                    {"targetings": [{"key": "k", "operator": "EQUALS", "value": i}]}
                ]
            },
            "variations": [{"id": f"v{i}", "allocation": 100}],
        }
        for i in range(count)
    ]
    return {"campaigns": [{"id": "c", "variationGroups": groups}]}


PATHOLOGICAL = {
    "deep": (
        '{"campaigns": [{"id": "c", "variationGroups": [{"id": "g", "variations": '
        '[{"id": "v", "modifications": {"value": {"f": ' + "[" * 5_000 + "]" * 5_000 + "}}}]}]}]}",
        "deeper than 64 levels",
    ),
    "groups": (json.dumps(targeted_groups(3_000)), "3,000 variation groups, more than the limit"),
    "surrogate": ('{"campaigns": [{"id": "\\ud800"}]}', "campaigns[0].id is not valid text"),
}


@pytest.fixture(params=sorted(PATHOLOGICAL))
def pathological(request, tmp_path):
    text, message = PATHOLOGICAL[request.param]
    path = tmp_path / f"{request.param}.json"
    path.write_text(text)
    return str(path), message


def run(*args):
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_refresh_from_a_pathological_file_is_a_command_error(configured, pathological):
    path, message = pathological
    before = get_bucket()
    assert before is not None
    with pytest.raises(CommandError, match=f"The bucket was not refreshed: .*{re.escape(message)}"):
        run("flagship_refresh_bucket", "--file", path, "--this-process-only")
    assert get_bucket() is before


def test_a_pathological_bucket_file_is_a_check_error(settings, pathological):
    path, message = pathological
    settings.FLAGSHIP_BUCKET_FILE = path
    [error] = check_settings()
    assert error.id == "django_flagship.E005"
    assert message in error.msg
    with pytest.raises(SystemCheckError, match="E005"):
        call_command("check")


def test_a_file_over_a_bound_set_in_the_settings_is_refused(configured, settings, tmp_path):
    path = tmp_path / "bucketing.json"
    path.write_text((DATA / "bucketing.json").read_text())
    settings.FLAGSHIP_BUCKET_MAX_CAMPAIGNS = 2
    with pytest.raises(CommandError, match=r"more than the limit of 2 .*_BUCKET_MAX_CAMPAIGNS"):
        run("flagship_refresh_bucket", "--file", str(path))
    settings.FLAGSHIP_BUCKET_MAX_CAMPAIGNS = 5_000
    settings.FLAGSHIP_BUCKET_MAX_BYTES = 1024
    with pytest.raises(CommandError, match="larger than the limit of 1,024 bytes"):
        run("flagship_refresh_bucket", "--file", str(path))
    settings.FLAGSHIP_BUCKET_MAX_BYTES = 8192
    done = run("flagship_refresh_bucket", "--file", str(path), "--this-process-only")
    assert "Bucket updated" in done


def test_the_store_gets_the_bounds_of_the_settings(configured, settings):
    settings.FLAGSHIP_BUCKET_MAX_BYTES = 4 * 1024 * 1024
    settings.FLAGSHIP_BUCKET_MAX_CAMPAIGNS = 20_000
    settings.FLAGSHIP_BUCKET_MAX_VARIATION_GROUPS = 80_000
    settings.FLAGSHIP_BUCKET_MAX_VARIATIONS = 160_000
    settings.FLAGSHIP_BUCKET_MAX_TARGETINGS = 1
    settings.FLAGSHIP_BUCKET_DOWNLOAD_DEADLINE = 12.5
    limits = get_store().limits
    assert limits == BucketLimits(
        max_bytes=4 * 1024 * 1024,
        max_campaigns=20_000,
        max_variation_groups=80_000,
        max_variations=160_000,
        max_targetings=1,
        download_deadline=12.5,
    )
    assert limits.max_depth == DEFAULT_LIMITS.max_depth


def test_a_malformed_bound_applies_its_default_and_is_logged_once(settings, caplog):
    settings.FLAGSHIP_BUCKET_MAX_BYTES = "16MB"
    settings.FLAGSHIP_BUCKET_MAX_CAMPAIGNS = 0
    settings.FLAGSHIP_BUCKET_DOWNLOAD_DEADLINE = float("inf")
    with caplog.at_level(logging.ERROR, "django_flagship"):
        assert bucket_limits() == BucketLimits()
        assert bucket_limits() == BucketLimits()
    logged = [r.getMessage() for r in caplog.records]
    assert len(logged) == 3
    assert any("E019" in line and "FLAGSHIP_BUCKET_MAX_BYTES is '16MB'" in line for line in logged)
    assert any("E020" in line for line in logged)
    assert any("E021" in line for line in logged)


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("FLAGSHIP_BUCKET_MAX_BYTES", 1023, "E019"),
        ("FLAGSHIP_BUCKET_MAX_BYTES", "16777216", "E019"),
        ("FLAGSHIP_BUCKET_MAX_BYTES", 2.5e7, "E019"),
        ("FLAGSHIP_BUCKET_MAX_BYTES", True, "E019"),
        ("FLAGSHIP_BUCKET_MAX_CAMPAIGNS", 0, "E020"),
        ("FLAGSHIP_BUCKET_MAX_CAMPAIGNS", None, "E020"),
        ("FLAGSHIP_BUCKET_MAX_VARIATION_GROUPS", -5, "E020"),
        ("FLAGSHIP_BUCKET_MAX_VARIATIONS", "50000", "E020"),
        ("FLAGSHIP_BUCKET_MAX_TARGETINGS", 1e5, "E020"),
        ("FLAGSHIP_BUCKET_DOWNLOAD_DEADLINE", 0, "E021"),
        ("FLAGSHIP_BUCKET_DOWNLOAD_DEADLINE", "30", "E021"),
        ("FLAGSHIP_BUCKET_DOWNLOAD_DEADLINE", float("nan"), "E021"),
        ("FLAGSHIP_BUCKET_DOWNLOAD_DEADLINE", 1.0, "W005"),  # under FLAGSHIP_TIMEOUT (2.0)
    ],
)
def test_each_bound_setting_is_checked(settings, name, value, expected):
    settings.FLAGSHIP_ENV_ID = "env"
    setattr(settings, name, value)
    [message] = check_settings()
    assert message.id == f"django_flagship.{expected}"
    assert name in message.msg
    assert message.hint


@pytest.mark.parametrize(
    "overrides",
    [
        {"FLAGSHIP_BUCKET_MAX_BYTES": 1024},
        {"FLAGSHIP_BUCKET_MAX_BYTES": 512 * 1024 * 1024, "FLAGSHIP_BUCKET_MAX_CAMPAIGNS": 1},
        {"FLAGSHIP_BUCKET_DOWNLOAD_DEADLINE": 2},
        {"FLAGSHIP_BUCKET_DOWNLOAD_DEADLINE": 0.5, "FLAGSHIP_TIMEOUT": 0.25},
    ],
)
def test_bounds_that_are_accepted(settings, overrides):
    settings.FLAGSHIP_ENV_ID = "env"
    for name, value in overrides.items():
        setattr(settings, name, value)
    assert check_settings() == []
