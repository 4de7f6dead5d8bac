import pytest

from django_flagship.sdk import Config, FlagshipEventHandler, Mode


def test_defaults():
    config = Config("env", "key")
    assert config.mode is Mode.DECISION_API
    assert config.timeout == 2.0
    assert config.polling_interval == 60.0
    assert config.decision_api_url == "https://decision.flagship.io/v2"
    assert config.resolved_bucketing_url == "https://cdn.flagship.io/env/bucketing.json"
    assert config.events_url == "https://events.flagship.io/"
    assert isinstance(config.event_handler, FlagshipEventHandler)


def test_mode_accepts_names():
    assert Config("env", mode="bucketing").mode is Mode.BUCKETING
    assert Config("env", mode=Mode.BUCKETING).mode is Mode.BUCKETING


def test_api_key_never_in_repr():
    config = Config("env", "very-secret-key")
    assert "very-secret-key" not in repr(config)
    assert "api_key=set" in repr(config)
    assert config.api_key == "very-secret-key"


@pytest.mark.parametrize(
    ("kwargs", "error", "names"),
    [
        ({"env_id": ""}, ValueError, "env_id"),
        ({"env_id": 12}, TypeError, "env_id"),
        ({"api_key": 5}, TypeError, "api_key"),
        ({"mode": "SERVER"}, ValueError, "mode"),
        ({"mode": 3}, ValueError, "mode"),
        ({"timeout": 0}, ValueError, "timeout"),
        ({"timeout": -1}, ValueError, "timeout"),
        ({"timeout": "2"}, TypeError, "timeout"),
        ({"timeout": True}, TypeError, "timeout"),
        ({"timeout": float("nan")}, ValueError, "timeout"),
        ({"polling_interval": -5}, ValueError, "polling_interval"),
        ({"polling_interval": float("inf")}, ValueError, "polling_interval"),
        ({"decision_api_url": "ftp://x"}, ValueError, "decision_api_url"),
        ({"events_url": "/relative"}, ValueError, "events_url"),
        ({"bucketing_url": None}, TypeError, "bucketing_url"),
        ({"event_handler": object()}, TypeError, "event_handler"),
        ({"bucket_file": 3}, TypeError, "bucket_file"),
        ({"tracker": object()}, TypeError, "tracker"),
        ({"breaker_failures": 0}, ValueError, "breaker_failures"),
    ],
)
def test_invalid_values_name_the_argument(kwargs, error, names):
    args = {"env_id": "env", **kwargs}
    env_id = args.pop("env_id")
    with pytest.raises(error, match=names):
        Config(env_id, **args)


def test_zero_polling_interval_means_fetch_once():
    assert Config("env", polling_interval=0).polling_interval == 0.0
