import sys

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from django_flagship.checks import check_deploy, check_middleware, check_settings
from tests.conftest import DATA


def ids(messages):
    return sorted(message.id for message in messages)


def test_unconfigured_warns_once(settings):
    messages = check_settings()
    assert ids(messages) == ["django_flagship.W001"]
    assert messages[0].hint


def test_env_id_alone_is_fine(settings):
    settings.FLAGSHIP_ENV_ID = "env"
    assert check_settings() == []


def test_bucket_file_alone_is_fine(settings):
    settings.FLAGSHIP_BUCKET_FILE = str(DATA / "bucketing.json")
    assert check_settings() == []


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"FLAGSHIP_ENV_ID": 123}, "E001"),
        ({"FLAGSHIP_ENV_ID": "env", "FLAGSHIP_API_KEY": ["k"]}, "E001"),
        ({"FLAGSHIP_ENV_ID": "env", "FLAGSHIP_MODE": "SOMETIMES"}, "E002"),
        ({"FLAGSHIP_ENV_ID": "env", "FLAGSHIP_MODE": "DECISION_API"}, "E003"),
        ({"FLAGSHIP_API_KEY": "key", "FLAGSHIP_MODE": "decision_api"}, "E003"),
        ({"FLAGSHIP_ENV_ID": "env", "FLAGSHIP_CACHE_ALIAS": "nope"}, "E004"),
        ({"FLAGSHIP_BUCKET_FILE": str(DATA / "not-json.json")}, "E005"),
        ({"FLAGSHIP_BUCKET_FILE": str(DATA / "bad-shape.json")}, "E005"),
        ({"FLAGSHIP_BUCKET_FILE": str(DATA / "missing.json")}, "E005"),
        ({"FLAGSHIP_ENV_ID": "env", "FLAGSHIP_TIMEOUT": 0}, "E006"),
        ({"FLAGSHIP_ENV_ID": "env", "FLAGSHIP_TIMEOUT": "2"}, "E006"),
        ({"FLAGSHIP_ENV_ID": "env", "FLAGSHIP_POLLING_INTERVAL": -1}, "E006"),
        ({"FLAGSHIP_ENV_ID": "env", "FLAGSHIP_BUCKET_CHECK_INTERVAL": float("nan")}, "E006"),
        ({"FLAGSHIP_ENV_ID": "env", "FLAGSHIP_HISTORY_TIMEOUT": True}, "E006"),
        ({"FLAGSHIP_ENV_ID": "env", "FLAGSHIP_VISITOR_ID": "no.such.module"}, "E007"),
        ({"FLAGSHIP_ENV_ID": "env", "FLAGSHIP_CONTEXT": "tests.django.support.nope"}, "E007"),
        (
            {"FLAGSHIP_ENV_ID": "env", "FLAGSHIP_CONSENT": "tests.django.support.not_callable"},
            "E007",
        ),
        ({"FLAGSHIP_ENV_ID": "env", "FLAGSHIP_TRACKER": 42}, "E007"),
        (
            {
                "FLAGSHIP_ENV_ID": "env",
                "FLAGSHIP_EVENT_HANDLER": "tests.django.support.plan_context",
            },
            "E007",
        ),
        ({"FLAGSHIP_ENV_ID": "env", "FLAGSHIP_EVENTS_URL": "events.flagship.io"}, "E008"),
        ({"FLAGSHIP_ENV_ID": "env", "FLAGSHIP_BUCKETING_URL": "ftp://x/{env_id}"}, "E008"),
        ({"FLAGSHIP_ENV_ID": "env", "FLAGSHIP_AUTO_ACTIVATE": "yes"}, "E010"),
        ({"FLAGSHIP_ENV_ID": "env", "FLAGSHIP_ASSIGNMENT_HISTORY": 1}, "E010"),
        ({"FLAGSHIP_ENV_ID": "env", "FLAGSHIP_VARY_HEADERS": "Cookie"}, "E011"),
        ({"FLAGSHIP_ENV_ID": "env", "FLAGSHIP_VARY_HEADERS": ["Cookie", ""]}, "E011"),
        ({"FLAGSHIP_ENV_ID": "env", "FLAGSHIP_BROWSER_RATE_LIMIT": "1000"}, "E016"),
        ({"FLAGSHIP_ENV_ID": "env", "FLAGSHIP_BROWSER_RATE_LIMIT": 60}, "E016"),
        ({"FLAGSHIP_ENV_ID": "env", "FLAGSHIP_BROWSER_RATE_LIMIT": False}, "E016"),
        ({"FLAGSHIP_ENV_ID": "env", "FLAGSHIP_BROWSER_RATE_LIMIT": (60, 60.0, 1)}, "E016"),
        ({"FLAGSHIP_ENV_ID": "env", "FLAGSHIP_BROWSER_RATE_LIMIT": (0, 60.0)}, "E016"),
        ({"FLAGSHIP_ENV_ID": "env", "FLAGSHIP_BROWSER_RATE_LIMIT": (1.5, 60.0)}, "E016"),
        ({"FLAGSHIP_ENV_ID": "env", "FLAGSHIP_BROWSER_RATE_LIMIT": (True, 60.0)}, "E016"),
        ({"FLAGSHIP_ENV_ID": "env", "FLAGSHIP_BROWSER_RATE_LIMIT": (60, 0)}, "E016"),
        ({"FLAGSHIP_ENV_ID": "env", "FLAGSHIP_BROWSER_RATE_LIMIT": (60, "60")}, "E016"),
        ({"FLAGSHIP_ENV_ID": "env", "FLAGSHIP_BROWSER_RATE_LIMIT": (60, float("inf"))}, "E016"),
        ({"FLAGSHIP_ENV_ID": "env", "FLAGSHIP_BROWSER_MAX_BODY": 0}, "E016"),
        ({"FLAGSHIP_ENV_ID": "env", "FLAGSHIP_BROWSER_MAX_BODY": "2048"}, "E016"),
        ({"FLAGSHIP_ENV_ID": "env", "FLAGSHIP_BROWSER_MAX_BODY": 2048.0}, "E016"),
        ({"FLAGSHIP_ENV_ID": "env", "FLAGSHIP_BROWSER_MAX_BODY": None}, "E016"),
        ({"FLAGSHIP_ENV_ID": "env", "FLAGSHIP_DRF_DENY_STATUS": 200}, "E017"),
        ({"FLAGSHIP_ENV_ID": "env", "FLAGSHIP_DRF_DENY_STATUS": "404"}, "E017"),
        ({"FLAGSHIP_ENV_ID": "env", "FLAGSHIP_DRF_DENY_STATUS": True}, "E017"),
        ({"FLAGSHIP_ENV_ID": "env", "FLAGSHIP_DRF_DENY_STATUS": None}, "E017"),
        ({"FLAGSHIP_ENV_ID": "env", "FLAGSHIP_DECISION_CACHE_SIZE": -1}, "E018"),
        ({"FLAGSHIP_ENV_ID": "env", "FLAGSHIP_DECISION_CACHE_SIZE": "2048"}, "E018"),
        ({"FLAGSHIP_ENV_ID": "env", "FLAGSHIP_DECISION_CACHE_SIZE": 10.0}, "E018"),
        ({"FLAGSHIP_ENV_ID": "env", "FLAGSHIP_DECISION_CACHE_SIZE": False}, "E018"),
        ({"FLAGSHIP_ENV_ID": "env", "FLAGSHIP_DECISION_CACHE_SIZE": None}, "E018"),
    ],
)
def test_each_error(settings, overrides, expected):
    for name, value in overrides.items():
        setattr(settings, name, value)
    messages = check_settings()
    assert f"django_flagship.{expected}" in ids(messages)
    assert all(message.hint for message in messages)


@pytest.mark.parametrize("size", [0, 1, 100_000])
def test_decision_cache_sizes_that_are_accepted(settings, size):
    settings.FLAGSHIP_ENV_ID = "env"
    settings.FLAGSHIP_DECISION_CACHE_SIZE = size
    assert check_settings() == []


def test_event_handler_class_is_accepted(settings):
    settings.FLAGSHIP_ENV_ID = "env"
    settings.FLAGSHIP_EVENT_HANDLER = "django_flagship.sdk.FlagshipEventHandler"
    assert check_settings() == []


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("FLAGSHIP_BROWSER_RATE_LIMIT", None),
        ("FLAGSHIP_BROWSER_RATE_LIMIT", (1, 0.5)),
        ("FLAGSHIP_BROWSER_RATE_LIMIT", [100, 3600]),
        ("FLAGSHIP_BROWSER_MAX_BODY", 1),
        ("FLAGSHIP_BROWSER_MAX_BODY", 10_000),
        ("FLAGSHIP_DRF_DENY_STATUS", 403),
        ("FLAGSHIP_DRF_DENY_STATUS", 404),
    ],
)
def test_good_browser_and_drf_settings_pass(settings, name, value):
    settings.FLAGSHIP_ENV_ID = "env"
    setattr(settings, name, value)
    assert check_settings() == []


def test_browser_check_names_the_setting_and_the_part(settings):
    settings.FLAGSHIP_ENV_ID = "env"
    settings.FLAGSHIP_BROWSER_RATE_LIMIT = (60, -1)
    settings.FLAGSHIP_BROWSER_MAX_BODY = "big"
    rate, body = check_settings()
    assert (rate.id, body.id) == ("django_flagship.E016", "django_flagship.E016")
    assert "FLAGSHIP_BROWSER_RATE_LIMIT's seconds are -1" in rate.msg
    assert "(count, seconds)" in rate.hint
    assert "FLAGSHIP_BROWSER_MAX_BODY is 'big'" in body.msg


def test_the_drf_check_does_not_need_rest_framework(settings, monkeypatch):
    # A None entry makes "import rest_framework" fail, as if DRF were not installed.
    for module in [name for name in sys.modules if name.split(".")[0] == "rest_framework"]:
        monkeypatch.delitem(sys.modules, module)
    monkeypatch.setitem(sys.modules, "rest_framework", None)
    settings.FLAGSHIP_ENV_ID = "env"
    settings.FLAGSHIP_DRF_DENY_STATUS = 500
    (message,) = check_settings()
    assert message.id == "django_flagship.E017"
    assert "500" in message.msg
    assert message.hint


def test_manage_py_check_stops_on_a_bad_rate_limit(settings):
    settings.FLAGSHIP_ENV_ID = "env"
    settings.FLAGSHIP_BROWSER_RATE_LIMIT = "60/minute"
    with pytest.raises(SystemCheckError, match=r"django_flagship\.E016"):
        call_command("check")


def test_bucket_file_with_a_bad_campaign(settings, tmp_path):
    path = tmp_path / "bucket.json"
    path.write_text('{"campaigns": [{"id": 1}, {"no": "id"}]}')
    settings.FLAGSHIP_BUCKET_FILE = str(path)
    messages = check_settings()
    assert ids(messages) == ["django_flagship.E005"]
    assert "unusable campaign" in messages[0].msg


def test_dummy_cache_warns(settings):
    settings.FLAGSHIP_ENV_ID = "env"
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
    assert ids(check_settings()) == ["django_flagship.W003"]


def test_middleware_present_and_in_order(settings):
    assert check_middleware() == []


def test_middleware_before_session_and_auth(settings):
    settings.MIDDLEWARE = [
        "django_flagship.middleware.FlagshipMiddleware",
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
    ]
    messages = check_middleware()
    assert ids(messages) == ["django_flagship.E009", "django_flagship.E009"]
    assert "SessionMiddleware" in messages[0].msg


def test_middleware_subclass_is_recognised(settings):
    settings.MIDDLEWARE = [
        "django.contrib.sessions.middleware.SessionMiddleware",
        "tests.django.support.CustomMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
    ]
    assert ids(check_middleware()) == ["django_flagship.E009"]


def test_a_session_middleware_subclass_after_it_is_an_error(settings):
    settings.MIDDLEWARE = [
        "django_flagship.middleware.FlagshipMiddleware",
        "tests.django.support.ProjectSessionMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
    ]
    messages = check_middleware()
    assert ids(messages) == ["django_flagship.E009", "django_flagship.E009"]
    settings.MIDDLEWARE = [
        "tests.django.support.ProjectSessionMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
        "django_flagship.middleware.FlagshipMiddleware",
    ]
    assert check_middleware() == []


def test_middleware_missing(settings):
    settings.MIDDLEWARE = ["django.contrib.sessions.middleware.SessionMiddleware"]
    assert ids(check_middleware()) == ["django_flagship.W002"]


def test_manage_py_check_runs_the_checks(settings, capsys):
    settings.FLAGSHIP_ENV_ID = "env"
    settings.FLAGSHIP_MODE = "SOMETIMES"
    with pytest.raises(SystemCheckError, match=r"django_flagship\.E002"):
        call_command("check")


def test_manage_py_check_shows_the_warning(settings, capsys):
    call_command("check")
    assert "django_flagship.W001" in capsys.readouterr().err


def test_deploy_check_wants_a_shared_cache(settings, capsys):
    settings.FLAGSHIP_ENV_ID = "env"
    assert ids(check_deploy()) == ["django_flagship.W004"]
    call_command("check", "--deploy")
    assert "django_flagship.W004" in capsys.readouterr().err
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:6379/9",
        }
    }
    assert check_deploy() == []


def test_deploy_check_is_quiet_when_unconfigured(settings):
    assert check_deploy() == []
