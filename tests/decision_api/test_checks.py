"""System check E012: the served Decision API's settings."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from django_flagship.checks import check_settings


def e012(messages):
    return [m for m in messages if m.id == "django_flagship.E012"]


@pytest.mark.parametrize(
    ("name", "value", "needle"),
    [
        ("FLAGSHIP_DECISION_API_ENVIRONMENTS", ["env"], "dict"),
        ("FLAGSHIP_DECISION_API_ENVIRONMENTS", {"env": "key"}, "list of keys"),
        ("FLAGSHIP_DECISION_API_ENVIRONMENTS", {"env": ["k", 3]}, "strings"),
        ("FLAGSHIP_DECISION_API_ENVIRONMENTS", {"": ["k"]}, "env ids"),
        ("FLAGSHIP_DECISION_API_MAX_BODY", 0, "MAX_BODY"),
        ("FLAGSHIP_DECISION_API_MAX_BODY", "64k", "MAX_BODY"),
        ("FLAGSHIP_DECISION_API_GROUP_TTL", -1, "GROUP_TTL"),
        ("FLAGSHIP_DECISION_API_GROUP_TTL", "1d", "GROUP_TTL"),
        ("FLAGSHIP_DECISION_API_GROUP_TTL", float("inf"), "GROUP_TTL"),
    ],
)
def test_malformed_setting_is_e012(settings, name, value, needle):
    setattr(settings, name, value)
    (error,) = e012(check_settings())
    assert needle in error.msg
    assert "FLAGSHIP_DECISION_API_ENVIRONMENTS maps" in error.hint


def test_good_settings_pass(settings):
    settings.FLAGSHIP_DECISION_API_ENVIRONMENTS = {"env": ["k1", "k2"], "other": []}
    settings.FLAGSHIP_DECISION_API_MAX_BODY = 1024
    settings.FLAGSHIP_DECISION_API_GROUP_TTL = None
    assert e012(check_settings()) == []


def test_check_command_reports_it(settings):
    settings.FLAGSHIP_DECISION_API_MAX_BODY = -5
    with pytest.raises(SystemCheckError, match="E012"):
        call_command("check")
