"""The line logged when the client is built: configured, in effect, and why they differ."""

import logging

import pytest

from django_flagship import client
from tests.conftest import DATA


@pytest.fixture
def startup(caplog):
    """Build the client now and return what the app logged while doing so."""

    def build():
        client.reset()
        caplog.clear()
        with caplog.at_level(logging.DEBUG, "django_flagship"):
            client.runtime()
        return [r for r in caplog.records if r.name == "django_flagship"]

    return build


def test_decision_api_without_an_environment_says_so(settings, startup):
    settings.FLAGSHIP_MODE = "DECISION_API"
    (record,) = startup()
    assert record.levelno == logging.WARNING
    assert record.getMessage() == (
        "Flagship is not configured: configured FLAGSHIP_MODE='DECISION_API', "
        "FLAGSHIP_ENV_ID unset, FLAGSHIP_API_KEY unset, FLAGSHIP_BUCKET_FILE unset; "
        "in effect: every flag serves its default and hits go to the 'django_flagship.hits' "
        "log, not sent, because DECISION_API mode needs "
        "FLAGSHIP_ENV_ID and FLAGSHIP_API_KEY"
    )


def test_nothing_configured(settings, startup):
    (record,) = startup()
    assert record.levelno == logging.WARNING
    message = record.getMessage()
    assert "configured FLAGSHIP_MODE='BUCKETING' (default), FLAGSHIP_ENV_ID unset" in message
    assert message.endswith("because neither FLAGSHIP_ENV_ID nor FLAGSHIP_BUCKET_FILE is set")
    assert "'local'" not in message


def test_offline_from_a_file_names_the_placeholder_environment(settings, startup):
    settings.FLAGSHIP_BUCKET_FILE = str(DATA / "bucketing.json")
    settings.FLAGSHIP_TRACKER = "tests.django.support.memory_tracker"
    (record,) = startup()
    assert record.levelno == logging.INFO
    assert record.getMessage() == (
        "Flagship: configured FLAGSHIP_MODE='BUCKETING' (default), FLAGSHIP_ENV_ID unset, "
        f"FLAGSHIP_API_KEY unset, FLAGSHIP_BUCKET_FILE={str(DATA / 'bucketing.json')!r}; "
        "in effect: BUCKETING offline from the bucket file, as environment 'local' "
        "(a placeholder: FLAGSHIP_ENV_ID is unset)"
    )


def test_configured_bucketing_shows_no_key(settings, startup):
    settings.FLAGSHIP_ENV_ID = "env-42"
    settings.FLAGSHIP_API_KEY = "the-secret-key"
    settings.FLAGSHIP_POLLING_INTERVAL = 0
    settings.FLAGSHIP_TRACKER = "tests.django.support.memory_tracker"
    (record,) = startup()
    message = record.getMessage()
    assert record.levelno == logging.INFO
    assert message == (
        "Flagship: configured FLAGSHIP_MODE='BUCKETING' (default), FLAGSHIP_ENV_ID='env-42', "
        "FLAGSHIP_API_KEY set, FLAGSHIP_BUCKET_FILE unset; in effect: BUCKETING for "
        "environment 'env-42', the bucket downloaded once"
    )
    assert "the-secret-key" not in message


def test_configured_decision_api(settings, startup):
    settings.FLAGSHIP_MODE = "decision_api"
    settings.FLAGSHIP_ENV_ID = "env-42"
    settings.FLAGSHIP_API_KEY = "the-secret-key"
    settings.FLAGSHIP_TRACKER = "tests.django.support.memory_tracker"
    (record,) = startup()
    assert record.getMessage().endswith(
        "configured FLAGSHIP_MODE='decision_api', FLAGSHIP_ENV_ID='env-42', FLAGSHIP_API_KEY "
        "set, FLAGSHIP_BUCKET_FILE unset; in effect: DECISION_API for environment 'env-42'"
    )


@pytest.mark.parametrize(
    ("name", "value", "because"),
    [
        ("FLAGSHIP_MODE", "SOMETIMES", "FLAGSHIP_MODE: mode must be one of"),
        ("FLAGSHIP_API_KEY", "", "DECISION_API mode needs FLAGSHIP_ENV_ID and FLAGSHIP_API_KEY"),
        (
            "FLAGSHIP_ASSIGNMENT_HISTORY",
            "yes",
            "FLAGSHIP_ASSIGNMENT_HISTORY is 'yes'; it must be True",
        ),
    ],
)
def test_misconfigured_says_what_was_given_and_why_it_is_off(
    settings, startup, name, value, because
):
    settings.FLAGSHIP_MODE = "DECISION_API"
    settings.FLAGSHIP_ENV_ID = "env-42"
    settings.FLAGSHIP_API_KEY = "the-secret-key"
    settings.FLAGSHIP_TRACKER = "tests.django.support.memory_tracker"
    setattr(settings, name, value)
    (record,) = startup()
    message = record.getMessage()
    assert record.levelno == logging.ERROR
    assert message.startswith("Flagship is misconfigured: configured FLAGSHIP_MODE=")
    assert "FLAGSHIP_ENV_ID='env-42'" in message
    assert (
        "in effect: every flag serves its default and hits go to the 'django_flagship.hits' "
        "log, not sent, because " + because in message
    )
    assert "the-secret-key" not in message
    assert "mode=BUCKETING" not in message


def test_a_long_odd_value_is_cut(settings, startup):
    settings.FLAGSHIP_ENV_ID = "x" * 500
    settings.FLAGSHIP_TRACKER = "tests.django.support.memory_tracker"
    settings.FLAGSHIP_POLLING_INTERVAL = 0
    (record,) = startup()
    assert "FLAGSHIP_ENV_ID='" + "x" * 76 + "..." in record.getMessage()
    assert len(record.getMessage()) < 600
