import logging

import pytest
from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.contrib.sessions.backends.cache import SessionStore

from django_flagship import client
from django_flagship.context import build_context, default_context, device_type, visitor_context
from django_flagship.flags import RequestFlags
from django_flagship.sdk import FlagshipEventHandler, Mode
from django_flagship.sdk.flusher import BackgroundTracker
from django_flagship.sdk.tracking import LogTracker, MemoryTracker
from django_flagship.signals import SignalTracker

from ..conftest import DATA

pytestmark = pytest.mark.django_db


def make_request(rf, user=None, **extra):
    request = rf.get("/", **extra)
    request.user = user or AnonymousUser()
    request.session = SessionStore()
    return request


class RecordingHandler(FlagshipEventHandler):
    pass


# -- the client built from settings -----------------------------------------------


def test_unconfigured_client_and_no_bucket(settings):
    assert client.get_bucket() is None
    assert client.get_store() is None
    assert client.get_client().status.name == "READY"
    assert not client.runtime().configured


def test_bucket_file_gives_a_bucket(configured):
    bucket = client.get_bucket()
    assert bucket.campaign_count == 5
    assert client.get_client().config.mode is Mode.BUCKETING
    assert client.get_client().config.env_id == "local"


def test_client_is_cached_and_rebuilt_when_settings_change(configured):
    first = client.get_client()
    assert client.get_client() is first
    configured.FLAGSHIP_TIMEOUT = 3.5
    second = client.get_client()
    assert second is not first
    assert second.config.timeout == 3.5
    assert first.status.name == "STOPPED"  # the old client was closed


def test_decision_cache_size_setting(configured):
    memo = client.get_client().decision_manager.memo
    assert memo.size == 2048
    configured.FLAGSHIP_DECISION_CACHE_SIZE = 0
    assert client.get_client().decision_manager.memo.size == 0


def test_cache_settings_change_rebuilds(configured):
    store = client.get_store()
    configured.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        "flags": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    }
    configured.FLAGSHIP_CACHE_ALIAS = "flags"
    assert client.get_store() is not store
    assert client.get_bucket() is not None


def test_default_trackers(settings):
    settings.FLAGSHIP_BUCKET_FILE = str(DATA / "bucketing.json")
    settings.FLAGSHIP_POLLING_INTERVAL = 0
    tracker = client.build_tracker(client.build_config())
    assert isinstance(tracker, SignalTracker)
    assert isinstance(tracker.sink, LogTracker)  # offline: no environment id
    for api_key in ("", "key"):  # the collector takes no key
        settings.FLAGSHIP_ENV_ID = "env"
        settings.FLAGSHIP_API_KEY = api_key
        tracker = client.build_tracker(client.build_config())
        assert isinstance(tracker.sink, BackgroundTracker)  # Flagship's collector, batched
        tracker.close()


def test_tracker_setting(settings):
    settings.FLAGSHIP_ENV_ID = "env"
    settings.FLAGSHIP_TRACKER = "tests.django.support.memory_tracker"
    tracker = client.build_tracker(client.build_config())
    assert isinstance(tracker, SignalTracker)  # the signals are sent either way
    assert isinstance(tracker.sink, MemoryTracker)


def test_event_handler_setting(configured):
    configured.FLAGSHIP_EVENT_HANDLER = "tests.django.test_client_and_context.RecordingHandler"
    assert isinstance(client.get_client().config.event_handler, RecordingHandler)


def test_decision_api_mode_config(settings):
    settings.FLAGSHIP_MODE = "decision_api"
    settings.FLAGSHIP_ENV_ID = "env"
    settings.FLAGSHIP_API_KEY = "secret-key"
    settings.FLAGSHIP_DECISION_API_URL = "http://127.0.0.1:9/v2"
    config = client.build_config()
    assert config.mode is Mode.DECISION_API
    assert config.decision_api_url == "http://127.0.0.1:9/v2"
    assert "secret-key" not in repr(client.get_client())


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("FLAGSHIP_MODE", "SOMETIMES"),
        ("FLAGSHIP_TIMEOUT", -1),
        ("FLAGSHIP_CACHE_ALIAS", "missing"),
        ("FLAGSHIP_VISITOR_ID", "no.such.path"),
        ("FLAGSHIP_VARY_HEADERS", "Cookie"),
        ("FLAGSHIP_AUTO_ACTIVATE", "yes"),
        ("FLAGSHIP_EVENT_HANDLER", "tests.django.support.plan_context"),
        ("FLAGSHIP_DECISION_CACHE_SIZE", -5),
        ("FLAGSHIP_DECISION_CACHE_SIZE", "many"),
    ],
)
def test_misconfiguration_serves_defaults(configured, caplog, name, value):
    setattr(configured, name, value)
    with caplog.at_level(logging.ERROR, "django_flagship"):
        rt = client.runtime()
    assert not rt.configured
    assert any(name in r.getMessage() for r in caplog.records)


def test_decision_api_without_a_key_is_an_error(settings, caplog):
    settings.FLAGSHIP_MODE = "DECISION_API"
    settings.FLAGSHIP_ENV_ID = "env"
    with caplog.at_level(logging.ERROR, "django_flagship"):
        assert not client.runtime().configured
    assert any("FLAGSHIP_API_KEY" in r.getMessage() for r in caplog.records)


# -- context ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("agent", "expected"),
    [
        ("", "unknown"),
        ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/126.0", "desktop"),
        ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) Mobile/15E148", "mobile"),
        ("Mozilla/5.0 (Linux; Android 14; Pixel 8) Chrome/126.0 Mobile Safari/537.36", "mobile"),
        ("Mozilla/5.0 (Linux; Android 13; SM-X200) Chrome/126.0 Safari/537.36", "tablet"),
        ("Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X)", "tablet"),
        ("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", "bot"),
    ],
)
def test_device_type(agent, expected):
    assert device_type(agent) == expected


def test_default_context_has_nothing_personal(rf):
    user = User.objects.create_user("ada", email="ada@example.com", is_staff=True)
    request = make_request(
        rf, user, HTTP_ACCEPT_LANGUAGE="fr-FR,fr;q=0.9", REMOTE_ADDR="203.0.113.7"
    )
    context = default_context(request)
    assert context == {
        "is_authenticated": True,
        "is_staff": True,
        "is_superuser": False,
        "groups": (),  # the names of the user's groups: none here
        "device_type": "unknown",
        "language": context["language"],
    }
    assert context["language"].startswith("fr")
    assert "ada" not in str(context)
    assert "203.0.113.7" not in str(context)


def test_locale_middleware_language_wins(rf):
    request = make_request(rf, HTTP_ACCEPT_LANGUAGE="fr")
    request.LANGUAGE_CODE = "de"
    assert default_context(request)["language"] == "de"


@pytest.mark.parametrize(
    ("cookie", "header"),
    [
        (None, "fr-FR,fr;q=0.9"),
        (None, "xx, de;q=0.5"),
        (None, "*"),
        (None, ""),
        ("de", "fr"),
        ("zz", "fr"),
        ("en", ""),
    ],
)
def test_language_is_the_one_django_picks(rf, cookie, header):
    from django.utils import translation

    request = make_request(rf, HTTP_ACCEPT_LANGUAGE=header)
    if cookie is not None:
        request.COOKIES[settings.LANGUAGE_COOKIE_NAME] = cookie
    expected = translation.get_language_from_request(request)
    for _ in range(2):  # the second answer comes from memory
        assert default_context(request)["language"] == expected


def test_remembered_languages_follow_a_settings_change(rf, settings):
    request = make_request(rf, HTTP_ACCEPT_LANGUAGE="fr-FR,fr;q=0.9")
    assert default_context(request)["language"].startswith("fr")
    settings.LANGUAGES = [("en", "English"), ("de", "German")]
    assert default_context(request)["language"] == settings.LANGUAGE_CODE[:2]
    settings.LANGUAGE_COOKIE_NAME = "lang"
    request.COOKIES["lang"] = "de"
    assert default_context(request)["language"] == "de"


def test_project_context_is_merged_over_the_default(rf, configured):
    configured.FLAGSHIP_CONTEXT = "tests.django.support.plan_context"
    request = make_request(rf, HTTP_X_PLAN="gold")
    context = build_context(request, client.runtime())
    assert context["plan"] == "gold"
    assert context["is_staff"] is True  # the project's value wins
    flags = RequestFlags(request)
    assert flags.get("staff_tool", False) is True  # and targeting sees it


def test_visitors_of_the_same_default_context_share_it(rf, configured):
    """Checked and keyed once per distinct context, not once per request."""
    phone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148"
    first = make_request(rf, HTTP_USER_AGENT=phone, HTTP_ACCEPT_LANGUAGE="de")
    again = make_request(rf, HTTP_USER_AGENT=phone, HTTP_ACCEPT_LANGUAGE="de")
    desktop = make_request(rf, HTTP_USER_AGENT="Mozilla/5.0 (X11; Linux x86_64)")
    runtime = client.runtime()
    shared = visitor_context(first, runtime)
    assert visitor_context(again, runtime) is shared
    assert dict(shared) == build_context(first, runtime)
    assert shared["device_type"] == "mobile"
    other = visitor_context(desktop, runtime)
    assert other is not shared
    assert other["device_type"] == "desktop"
    flags = RequestFlags(first)
    flags.get("vip_feature", False)
    assert flags.visitor.context == dict(shared)
    staff = make_request(rf, User.objects.create_user("boss", is_staff=True))
    assert visitor_context(staff, runtime)["is_staff"] is True


def test_a_default_context_that_cannot_be_shared_is_a_plain_dict(rf, configured, caplog):
    request = make_request(rf)
    request.LANGUAGE_CODE = ["de"]  # set by a middleware of the project's: unhashable
    context = visitor_context(request, client.runtime())
    assert type(context) is dict
    assert context["language"] == ["de"]
    with caplog.at_level(logging.ERROR, "django_flagship"):
        flags = RequestFlags(request)
        assert flags.get("vip_feature", False) is True
    assert not any("FLAGSHIP_CONTEXT failed" in r.getMessage() for r in caplog.records)
    assert flags.visitor.context["language"] == ("de",)


def test_a_project_context_is_not_shared(rf, configured):
    configured.FLAGSHIP_CONTEXT = "tests.django.support.plan_context"
    gold = visitor_context(make_request(rf, HTTP_X_PLAN="gold"), client.runtime())
    free = visitor_context(make_request(rf), client.runtime())
    assert (gold["plan"], free["plan"]) == ("gold", "free")
    assert gold == build_context(make_request(rf, HTTP_X_PLAN="gold"), client.runtime())


@pytest.mark.parametrize("hook", ["bad_context", "list_context"])
def test_failing_project_context_falls_back_to_the_default(rf, configured, caplog, hook):
    configured.FLAGSHIP_CONTEXT = f"tests.django.support.{hook}"
    with caplog.at_level(logging.ERROR, "django_flagship"):
        flags = RequestFlags(make_request(rf))
        assert flags.get("vip_feature", False) is True
    assert any("FLAGSHIP_CONTEXT failed" in r.getMessage() for r in caplog.records)


def test_refused_context_values_are_logged_and_skipped(rf, configured, caplog, monkeypatch):
    monkeypatch.setattr(
        "tests.django.support.plan_context", lambda request: {"bad": [{"a": 1}], "plan": "x"}
    )
    configured.FLAGSHIP_CONTEXT = "tests.django.support.plan_context"
    with caplog.at_level(logging.ERROR, "django_flagship"):
        flags = RequestFlags(make_request(rf))
        assert flags.get("vip_feature", False) is True
    assert flags.visitor.context["plan"] == "x"
    assert "bad" not in flags.visitor.context
    assert any("'bad' refused" in r.getMessage() for r in caplog.records)


def test_a_project_context_may_hold_lists(rf, configured, monkeypatch):
    """A list from ``FLAGSHIP_CONTEXT``: EQUALS matches when one element does."""
    monkeypatch.setattr(
        "tests.django.support.plan_context", lambda request: {"language": ["de", "fr"]}
    )
    configured.FLAGSHIP_CONTEXT = "tests.django.support.plan_context"
    flags = RequestFlags(make_request(rf))
    assert flags.get("greeting", "hello") == "bonjour"
    assert flags.visitor.context["language"] == ("de", "fr")


def test_failing_visitor_id_hook_serves_defaults(rf, configured, caplog):
    configured.FLAGSHIP_CONTEXT = None
    configured.FLAGSHIP_VISITOR_ID = "tests.django.support.bad_context"
    with caplog.at_level(logging.ERROR, "django_flagship"):
        assert RequestFlags(make_request(rf)).get("vip_feature", False) is False
    assert any("could not prepare the visitor" in r.getMessage() for r in caplog.records)


def test_consent_hook(rf, configured, tracker):
    configured.FLAGSHIP_CONSENT = "tests.django.support.no_consent"
    flags = RequestFlags(make_request(rf))
    assert flags.get("vip_feature", False) is True  # flags still work
    assert tracker.activations == []  # but nothing is reported without consent
    assert not [h for h in tracker.hits if h.hit_type != "SEGMENT"]
