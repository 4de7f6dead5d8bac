"""System checks of the public endpoints' limits: E016 (address), E022, E023, E024, W006."""

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from django_flagship.checks import check_deploy, check_settings


@pytest.fixture
def configured_env(settings):
    settings.FLAGSHIP_ENV_ID = "env"
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "OPTIONS": {"socket_timeout": 0.25},  # without one, W007
        }
    }
    return settings


@pytest.mark.parametrize(
    ("name", "value", "expected", "needle"),
    [
        ("FLAGSHIP_CLIENT_ADDRESS_HEADER", "", "E022", "not an HTTP header name"),
        ("FLAGSHIP_CLIENT_ADDRESS_HEADER", "X Forwarded For", "E022", "not an HTTP header"),
        ("FLAGSHIP_CLIENT_ADDRESS_HEADER", ("X-Forwarded-For", 0), "E022", "proxy count is 0"),
        ("FLAGSHIP_CLIENT_ADDRESS_HEADER", ("X-Forwarded-For",), "E022", "pair"),
        ("FLAGSHIP_CLIENT_ADDRESS_HEADER", True, "E022", "header name"),
        ("FLAGSHIP_DECISION_API_RATE_LIMIT", (600, 60.0), "E023", "triple"),
        ("FLAGSHIP_DECISION_API_RATE_LIMIT", (0, 6000, 60.0), "E023", "requests are 0"),
        ("FLAGSHIP_DECISION_API_RATE_LIMIT", (600, 1.5, 60.0), "E023", "activations are 1.5"),
        ("FLAGSHIP_DECISION_API_RATE_LIMIT", (600, 6000, 0), "E023", "seconds are 0"),
        ("FLAGSHIP_DECISION_API_RATE_LIMIT", False, "E023", "triple or None"),
        ("FLAGSHIP_DECISION_API_RATE_LIMIT", (600, 50, 60.0), "E023", "fewer than one full batch"),
        ("FLAGSHIP_DECISION_API_MAX_BATCH", 0, "E024", "int >= 1"),
        ("FLAGSHIP_DECISION_API_MAX_BATCH", "100", "E024", "int >= 1"),
        ("FLAGSHIP_DECISION_API_MAX_BATCH", None, "E024", "int >= 1"),
        ("FLAGSHIP_BROWSER_ADDRESS_RATE_LIMIT", (600,), "E016", "ADDRESS_RATE_LIMIT"),
        ("FLAGSHIP_BROWSER_ADDRESS_RATE_LIMIT", (0, 60.0), "E016", "ADDRESS_RATE_LIMIT's count"),
    ],
)
def test_each_malformed_limit(configured_env, name, value, expected, needle):
    setattr(configured_env, name, value)
    (message,) = check_settings()
    assert message.id == f"django_flagship.{expected}"
    assert needle in message.msg
    assert message.hint


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("FLAGSHIP_CLIENT_ADDRESS_HEADER", "X-Forwarded-For"),
        ("FLAGSHIP_CLIENT_ADDRESS_HEADER", ["X-Forwarded-For", 2]),
        ("FLAGSHIP_CLIENT_ADDRESS_HEADER", "CF-Connecting-IP"),
        ("FLAGSHIP_DECISION_API_RATE_LIMIT", None),
        ("FLAGSHIP_DECISION_API_RATE_LIMIT", [10, 100, 1]),
        ("FLAGSHIP_DECISION_API_MAX_BATCH", 1),
        ("FLAGSHIP_BROWSER_ADDRESS_RATE_LIMIT", None),
        ("FLAGSHIP_BROWSER_ADDRESS_RATE_LIMIT", (1, 0.5)),
    ],
)
def test_good_limits_pass(configured_env, name, value):
    setattr(configured_env, name, value)
    assert check_settings() == []


def test_manage_py_check_stops_on_a_bad_activation_limit(configured_env):
    configured_env.FLAGSHIP_DECISION_API_MAX_BATCH = -1
    with pytest.raises(SystemCheckError, match=r"django_flagship\.E024"):
        call_command("check")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("USE_X_FORWARDED_HOST", True),
        ("USE_X_FORWARDED_PORT", True),
        ("SECURE_PROXY_SSL_HEADER", ("HTTP_X_FORWARDED_PROTO", "https")),
    ],
)
def test_deploy_behind_a_proxy_wants_the_address_header(configured_env, capsys, name, value):
    assert check_deploy() == []
    setattr(configured_env, name, value)
    (warning,) = check_deploy()
    assert warning.id == "django_flagship.W006"
    assert name in warning.msg
    assert "X-Forwarded-For" in warning.hint
    call_command("check", "--deploy")
    assert "django_flagship.W006" in capsys.readouterr().err
    configured_env.FLAGSHIP_CLIENT_ADDRESS_HEADER = "X-Forwarded-For"
    assert check_deploy() == []
