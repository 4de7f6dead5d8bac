"""System checks of async sites: the pool's limits (E031), aiohttp on an ASGI site (W011)."""

import sys

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from django_flagship import async_support
from django_flagship.checks import check_async_deploy, check_settings


def ids(messages):
    return sorted(message.id for message in messages)


@pytest.mark.parametrize(
    ("name", "value", "problem"),
    [
        ("FLAGSHIP_ASYNC_MAX_CONNECTIONS", 0, "FLAGSHIP_ASYNC_MAX_CONNECTIONS is 0"),
        ("FLAGSHIP_ASYNC_MAX_CONNECTIONS", "100", "FLAGSHIP_ASYNC_MAX_CONNECTIONS is '100'"),
        ("FLAGSHIP_ASYNC_MAX_CONNECTIONS", 10.0, "must be an int >= 1"),
        ("FLAGSHIP_ASYNC_MAX_CONNECTIONS", True, "must be an int >= 1"),
        ("FLAGSHIP_ASYNC_MAX_CONNECTIONS", None, "must be an int >= 1"),
        ("FLAGSHIP_ASYNC_KEEPALIVE_EXPIRY", 0, "must be a number of seconds > 0"),
        ("FLAGSHIP_ASYNC_KEEPALIVE_EXPIRY", -5.0, "must be a number of seconds > 0"),
        ("FLAGSHIP_ASYNC_KEEPALIVE_EXPIRY", "5", "must be a number of seconds > 0"),
        ("FLAGSHIP_ASYNC_KEEPALIVE_EXPIRY", None, "must be a number of seconds > 0"),
        ("FLAGSHIP_ASYNC_KEEPALIVE_EXPIRY", float("nan"), "must be a number of seconds > 0"),
        ("FLAGSHIP_ASYNC_KEEPALIVE_EXPIRY", float("inf"), "must be a number of seconds > 0"),
    ],
)
def test_malformed_async_limits(settings, name, value, problem):
    settings.FLAGSHIP_ENV_ID = "env"
    setattr(settings, name, value)
    (message,) = check_settings()
    assert message.id == "django_flagship.E031"
    assert problem in message.msg
    assert "FLAGSHIP_ASYNC_MAX_CONNECTIONS calls (and connections) at once" in message.hint


@pytest.mark.parametrize(("most", "expiry"), [(1, 0.1), (1, 5), (500, 30.0), (100, 15.0)])
def test_async_limits_that_are_accepted(settings, most, expiry):
    settings.FLAGSHIP_ENV_ID = "env"
    settings.FLAGSHIP_ASYNC_MAX_CONNECTIONS = most
    settings.FLAGSHIP_ASYNC_KEEPALIVE_EXPIRY = expiry
    assert check_settings() == []


def test_manage_py_check_reports_e031(settings):
    settings.FLAGSHIP_ENV_ID = "env"
    settings.FLAGSHIP_ASYNC_MAX_CONNECTIONS = -3
    with pytest.raises(SystemCheckError, match=r"django_flagship\.E031"):
        call_command("check")


@pytest.fixture
def asgi_decision_api(settings, monkeypatch):
    """DECISION_API mode, uvicorn installed (the test extra's), aiohttp not."""
    settings.FLAGSHIP_MODE = "DECISION_API"
    settings.FLAGSHIP_ENV_ID = "env"
    settings.FLAGSHIP_API_KEY = "key"
    monkeypatch.setitem(sys.modules, "aiohttp", None)
    return settings


def test_an_asgi_site_in_decision_api_mode_without_aiohttp(asgi_decision_api):
    (message,) = check_async_deploy()
    assert message.id == "django_flagship.W011"
    assert "(uvicorn is installed)" in message.msg
    assert 'pip install "django-flagship[async]"' in message.hint
    with pytest.raises(SystemCheckError, match=r"django_flagship\.W011"):
        call_command("check", "--deploy", "--fail-level", "WARNING")
    call_command("check", "--deploy")  # a warning: a deploy goes on
    call_command("check")  # a deploy check only


def test_asgi_application_says_asgi_too(asgi_decision_api, monkeypatch):
    monkeypatch.setattr(async_support, "ASGI_SERVERS", ("no_such_asgi_server",))
    assert check_async_deploy() == []
    asgi_decision_api.ASGI_APPLICATION = "project.asgi.application"
    (message,) = check_async_deploy()
    assert "(ASGI_APPLICATION is set)" in message.msg


def test_no_e032_with_aiohttp_in_bucketing_mode_or_unconfigured(asgi_decision_api, monkeypatch):
    asgi_decision_api.FLAGSHIP_MODE = "BUCKETING"
    assert check_async_deploy() == []
    asgi_decision_api.FLAGSHIP_MODE = "DECISION_API"
    asgi_decision_api.FLAGSHIP_API_KEY = ""
    assert check_async_deploy() == []  # E003's business
    asgi_decision_api.FLAGSHIP_API_KEY = "key"
    asgi_decision_api.FLAGSHIP_MODE = "NEITHER"
    assert check_async_deploy() == []  # E002's business
    asgi_decision_api.FLAGSHIP_MODE = "DECISION_API"
    monkeypatch.delitem(sys.modules, "aiohttp")
    assert ids(check_async_deploy()) == []
