"""Hit delivery in a Django project: sinks, signals, page hits, consent, the command."""

import json
import logging

import pytest
from django.core.cache import caches
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command
from django.test import override_settings

from django_flagship import client
from django_flagship import client as client_module
from django_flagship.checks import check_settings
from django_flagship.consent import get_consent
from django_flagship.sdk.flusher import BackgroundTracker
from django_flagship.sdk.spool import Spool
from django_flagship.sdk.tracking import LogTracker, MemoryTracker
from django_flagship.signals import SignalTracker, activation_tracked, hit_tracked
from django_flagship.sinks import HITS_LOGGER, build_sink, memory_sink

from .collector import EVENTS_PATH
from .conftest import ENV, event
from .test_fields import BUCKET

pytestmark = pytest.mark.urls("tests.hits.urls")


@pytest.fixture(autouse=True)
def _fresh_client():
    client.reset()
    # A bucket another module's test left in the cache would win over this file's.
    for cache in caches.all():
        cache.clear()
    yield
    client.reset()


@pytest.fixture
def site(settings, tmp_path, collector):
    """Offline bucketing from a small file; the loopback collector; hits in memory."""
    bucket = tmp_path / "bucketing.json"
    bucket.write_text(json.dumps(BUCKET))
    settings.FLAGSHIP_ENV_ID = ENV
    settings.FLAGSHIP_BUCKET_FILE = str(bucket)
    settings.FLAGSHIP_EVENTS_URL = collector.events_url
    settings.FLAGSHIP_ACTIVATE_URL = collector.activate_url
    settings.FLAGSHIP_HIT_SINK = "memory"
    settings.FLAGSHIP_HIT_SPOOL_DIR = str(tmp_path / "spool")
    settings.FLAGSHIP_VISITOR_ID = "tests.hits.views.visitor_id"
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.cache"
    return settings


def sink():
    return memory_sink(client.get_client().tracker)


def events(hits):
    return [h.payload for h in hits if h.payload["t"] in ("EVENT", "PAGEVIEW")]


# -- sinks ---------------------------------------------------------------------------


def test_the_client_tracker_sends_signals_to_the_chosen_sink(site):
    tracker = client.get_client().tracker
    assert isinstance(tracker, SignalTracker)
    assert isinstance(tracker.sink, MemoryTracker)


@pytest.mark.parametrize(
    ("sink_setting", "env_id", "api_key", "expected"),
    [
        ("auto", ENV, "", BackgroundTracker),  # the collector takes no key
        ("auto", ENV, "a-key", BackgroundTracker),
        ("auto", "", "a-key", LogTracker),  # offline: no environment to send for
        ("auto", "", "", LogTracker),
        ("collector", ENV, "", BackgroundTracker),
        ("log", ENV, "a-key", LogTracker),
        ("memory", ENV, "", MemoryTracker),
        ("tests.hits.views.custom_sink", ENV, "", MemoryTracker),
    ],
)
def test_sink_choice(site, sink_setting, env_id, api_key, expected):
    site.FLAGSHIP_HIT_SINK = sink_setting
    site.FLAGSHIP_ENV_ID = env_id
    site.FLAGSHIP_API_KEY = api_key
    tracker = client.get_client().tracker
    assert type(tracker.sink) is expected
    if sink_setting.startswith("tests."):
        assert tracker.sink.maxlen == 7


def test_without_a_key_hits_and_activations_reach_the_collector(site, client, collector):
    """The default sink, an environment id and no API key: everything is sent."""
    site.FLAGSHIP_HIT_SINK = "auto"
    site.FLAGSHIP_API_KEY = ""
    assert client.get("/send/?visitor=v-key&label=no-key").json() == {"sent": True, "btn": "red"}
    assert client.get("/flush/").json() == {"flushed": True}
    assert [h["el"] for h in collector.hits() if h["t"] == "EVENT"] == ["no-key"]
    assert [(a["vid"], a["caid"], a["vaid"]) for a in collector.activations()] == [
        ("v-key", "vg-1", "var-1")
    ]
    assert collector.requests
    for request in collector.requests:
        assert "x-api-key" not in request.headers
        assert request.body["cid"] == ENV


def test_offline_hits_are_logged_with_one_warning(site, client, caplog):
    site.FLAGSHIP_HIT_SINK = "auto"
    site.FLAGSHIP_ENV_ID = ""  # the bucket file alone: offline
    with caplog.at_level(logging.INFO, logger="django_flagship"):
        for label in ("first", "second"):
            assert client.get(f"/send/?label={label}").json() == {"sent": True, "btn": "red"}
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1, warnings
    assert "not sent" in warnings[0]
    assert "FLAGSHIP_ENV_ID is not set" in warnings[0]
    assert isinstance(client_module.get_client().tracker.sink, LogTracker)
    logged = [json.loads(r.getMessage()) for r in caplog.records if r.name == HITS_LOGGER]
    assert [h["el"] for h in logged if h.get("t") == "EVENT"] == ["first", "second"]


def test_the_collector_sink_takes_the_hit_settings(site, tmp_path):
    site.FLAGSHIP_HIT_SINK = "collector"
    site.FLAGSHIP_HIT_QUEUE_SIZE = 123
    site.FLAGSHIP_HIT_FLUSH_INTERVAL = 0.5
    site.FLAGSHIP_HIT_BATCH_SIZE = 7
    site.FLAGSHIP_HIT_SHUTDOWN_TIMEOUT = 0.25
    site.FLAGSHIP_HIT_MAX_RETRIES = 2
    site.FLAGSHIP_TIMEOUT = 1.5
    background = client.get_client().tracker.sink
    assert (background.max_queue, background.flush_interval, background.batch_size) == (
        123,
        0.5,
        7,
    )
    assert (background.shutdown_timeout, background.max_retries) == (0.25, 2)
    assert background.client.timeout == 1.5
    assert background.spool.directory == tmp_path / "spool"
    site.FLAGSHIP_HIT_SPOOL_DIR = False
    assert client.get_client().tracker.sink.spool is None


def test_another_served_environment_spools_in_a_directory_of_its_own(site, tmp_path):
    import copy

    from django_flagship.sinks import build_spool

    config = copy.copy(client.get_client().config)
    assert build_spool(config).directory == tmp_path / "spool"
    config.env_id = "env-other"
    spool = build_spool(config)
    assert spool.directory == tmp_path / "spool" / "environments" / "env-other"
    assert spool.env_id == "env-other"


def test_the_default_spool_dir_is_per_user_and_environment(site, tmp_path):
    site.FLAGSHIP_HIT_SINK = "collector"
    del site.FLAGSHIP_HIT_SPOOL_DIR
    directory = client.get_client().tracker.sink.spool.directory
    assert directory.parts[-2:] == ("spool", ENV)


def test_flagship_tracker_is_used_as_the_sink_behind_the_signals(site):
    site.FLAGSHIP_TRACKER = "tests.hits.views.custom_sink"
    tracker = client.get_client().tracker
    assert isinstance(tracker, SignalTracker)
    assert tracker.sink.maxlen == 7


@pytest.mark.parametrize("value", ["nowhere.sink", "tests.hits.views.not_a_tracker", 42])
def test_a_bad_sink_is_refused(site, value):
    site.FLAGSHIP_HIT_SINK = value
    config = client.build_config()
    with pytest.raises(ImproperlyConfigured, match="FLAGSHIP_HIT_SINK"):
        build_sink(config)


def test_a_settings_change_closes_the_old_sink(site, collector):
    site.FLAGSHIP_HIT_SINK = "collector"
    background = client.get_client().tracker.sink
    background.add_hit(event("before-change"))
    with override_settings(FLAGSHIP_HIT_BATCH_SIZE=5):  # the client is rebuilt
        assert client.get_client().tracker.sink is not background
    assert collector.wait_for(lambda c: len(c.hits()) == 1, timeout=5)
    assert background.stats()["sent"] == 1


# -- through views -------------------------------------------------------------------


def test_a_views_hits_and_activations_are_signals_and_reach_the_sink(site, client):
    heard = []

    def listen(sender, **kwargs):
        heard.append(kwargs)

    hit_tracked.connect(listen)
    activation_tracked.connect(listen)
    try:
        response = client.get("/send/?visitor=v-9&label=buy")
    finally:
        hit_tracked.disconnect(listen)
        activation_tracked.disconnect(listen)
    assert response.json() == {"sent": True, "btn": "red"}
    kinds = [(k.get("hit_type"), k["visitor_id"]) for k in heard]
    assert ("EVENT", "v-9") in kinds
    assert (None, "v-9") in kinds  # the activation
    assert [h["el"] for h in events(sink().hits)] == ["buy"]
    [activation] = sink().activations
    assert (activation.variation_group_id, activation.variation_id) == ("vg-1", "var-1")


def test_hits_reach_the_real_collector_through_the_background_thread(site, client, collector):
    site.FLAGSHIP_HIT_SINK = "collector"
    for n in range(3):
        assert client.get(f"/send/?visitor=v{n}&label=c{n}").json()["sent"] is True
    assert client.get("/flush/").json() == {"flushed": True}
    labels = sorted(h["el"] for h in collector.hits() if h["t"] == "EVENT")
    assert labels == ["c0", "c1", "c2"]
    assert len(collector.activations()) == 3


# -- automatic page hits --------------------------------------------------------------


def test_no_page_hit_by_default(site, client):
    client.get("/page/")
    assert events(sink().hits) == []


@pytest.mark.parametrize(
    ("path", "method", "sent"),
    [
        ("/page/?q=secret&token=1", "get", True),
        ("/page/", "post", False),
        ("/json/", "get", False),
        ("/missing/", "get", False),
        ("/redirect/", "get", False),
    ],
)
def test_automatic_page_hits(site, client, path, method, sent):
    site.FLAGSHIP_AUTO_PAGE_HITS = True
    getattr(client, method)(path)
    pages = [h for h in events(sink().hits) if h["t"] == "PAGEVIEW"]
    assert pages == (
        [{"t": "PAGEVIEW", "ds": "APP", "dl": "http://testserver/page/"}] if sent else []
    )


def test_automatic_page_hits_may_keep_the_query_string(site, client):
    site.FLAGSHIP_AUTO_PAGE_HITS = True
    site.FLAGSHIP_PAGE_HIT_QUERY_STRING = True
    client.get("/page/?q=shoes")
    [page] = [h for h in events(sink().hits) if h["t"] == "PAGEVIEW"]
    assert page["dl"] == "http://testserver/page/?q=shoes"


@pytest.mark.asyncio
async def test_automatic_page_hits_in_async_views(site, async_client):
    site.FLAGSHIP_AUTO_PAGE_HITS = True
    await async_client.get("/async-page/")
    pages = [h for h in events(sink().hits) if h["t"] == "PAGEVIEW"]
    assert pages == [{"t": "PAGEVIEW", "ds": "APP", "dl": "http://testserver/async-page/"}]


# -- consent ---------------------------------------------------------------------------


def test_without_consent_only_the_consent_hit_is_sent(site, client):
    client.post("/consent/", {"analytics": "no"})
    assert [(h["ea"], h["el"]) for h in events(sink().hits)] == [("fs_consent", "python:false")]
    memory_sink(client_tracker()).clear()
    response = client.get("/send/?label=blocked")
    assert response.json() == {"sent": False, "btn": "red"}
    assert sink().hits == []
    assert sink().activations == []


def test_consent_given_again_lets_hits_through(site, client):
    client.post("/consent/", {"analytics": "no"})
    client.post("/consent/", {"analytics": "yes"})
    assert [h["el"] for h in events(sink().hits)] == ["python:false", "python:true"]
    assert client.get("/send/?label=ok").json()["sent"] is True
    assert [h["el"] for h in events(sink().hits)][-1] == "ok"


def test_the_choice_lives_in_the_session(site, client, settings):
    settings.FLAGSHIP_CONSENT_SESSION_KEY = "my_consent"
    client.post("/consent/", {"analytics": "no"})
    assert client.session["my_consent"] is False
    request = type("R", (), {"session": client.session})()
    assert get_consent(request) is False


def test_the_session_choice_beats_the_consent_hook(site, client):
    site.FLAGSHIP_CONSENT = "tests.hits.views.never"
    assert client.get("/send/?label=hooked").json()["sent"] is False
    client.post("/consent/", {"analytics": "yes"})
    assert client.get("/send/?label=chosen").json()["sent"] is True


def test_set_consent_needs_a_session(site, rf):
    from django_flagship.consent import set_consent

    with pytest.raises(ImproperlyConfigured, match="SessionMiddleware"):
        set_consent(rf.get("/"), True)
    with pytest.raises(TypeError):
        set_consent(rf.get("/"), "yes")


def client_tracker():
    return client.get_client().tracker


# -- manage.py flagship_flush_hits ----------------------------------------------------------


def test_flush_hits_sends_the_spool_and_reports(site, collector, tmp_path, capsys):
    spool = Spool(tmp_path / "spool", env_id=ENV)
    spool.write([event(f"s{n}") for n in range(4)])
    spool.write([event("s4")])
    call_command("flagship_flush_hits")
    out = capsys.readouterr().out
    assert "Sent 5 spooled items from 2 files" in out
    assert "left 0" in out
    assert sorted(h["el"] for h in collector.hits()) == [f"s{n}" for n in range(5)]
    assert spool.pending() == []


def test_flush_hits_fails_when_the_collector_is_down(site, collector, tmp_path):
    spool = Spool(tmp_path / "spool", env_id=ENV)
    spool.write([event("waiting")])
    collector.stop()
    with pytest.raises(CommandError, match="1 items are still in"):
        call_command("flagship_flush_hits")
    assert len(spool.pending()) == 1


def test_flush_hits_reports_a_file_another_process_is_sending(site, collector, tmp_path, capsys):
    spool = Spool(tmp_path / "spool", env_id=ENV)
    spool.write([event("theirs")])
    spool.write([event("ours")])
    held = next(Spool(spool.directory, env_id=ENV).claim())  # a live reader's claim
    try:
        call_command("flagship_flush_hits")
    finally:
        held.release(held.items)
    out = capsys.readouterr().out
    assert "Nothing to send" not in out
    assert "Sent 1 spooled items from 1 file" in out
    assert "1 spool file is being sent by another running process" in out
    assert [h["el"] for h in collector.hits()] == ["ours"]
    assert len(spool.pending()) == 1  # given back by its reader: the next run sends it


def test_flush_hits_sends_the_served_decision_apis_spools_too(site, collector, tmp_path, capsys):
    site.FLAGSHIP_DECISION_API_ENVIRONMENTS = {ENV: ["key-1"], "env-other": ["key-2"]}
    Spool(tmp_path / "spool", env_id=ENV).write([event("site")])
    served = tmp_path / "spool" / "environments"
    Spool(served / ENV, env_id=ENV).write([event("served-own")])
    Spool(served / "env-other", env_id="env-other").write([event("served-other")])
    call_command("flagship_flush_hits")
    out = capsys.readouterr().out
    assert "Sent 1 spooled items from 1 file" in out
    assert f"Served Decision API, environment {ENV!r}: Sent 1 spooled items" in out
    assert "Served Decision API, environment 'env-other': Sent 1 spooled items" in out
    sent = {(r.body["cid"], h["el"]) for r in collector.accepted(EVENTS_PATH) for h in r.body["h"]}
    assert sent == {(ENV, "site"), (ENV, "served-own"), ("env-other", "served-other")}


def test_flush_hits_with_nothing_to_send(site, capsys, tmp_path):
    call_command("flagship_flush_hits", spool_dir=str(tmp_path / "empty"))
    assert "Nothing to send" in capsys.readouterr().out


def test_flush_hits_needs_a_configuration(settings):
    settings.FLAGSHIP_ENV_ID = ""
    settings.FLAGSHIP_BUCKET_FILE = None
    with pytest.raises(CommandError, match="not configured"):
        call_command("flagship_flush_hits")


def test_flush_hits_without_a_spool(site):
    site.FLAGSHIP_HIT_SPOOL_DIR = False
    with pytest.raises(CommandError, match="no spool"):
        call_command("flagship_flush_hits")


def test_flush_hits_drops_and_logs_expired_entries(site, collector, tmp_path, caplog):
    spool = Spool(tmp_path / "spool", env_id=ENV)
    spool.write([event("stale", created_at=1.0), event("fresh")])
    with caplog.at_level(logging.WARNING, logger="django_flagship"):
        call_command("flagship_flush_hits")
    assert [h["el"] for h in collector.hits()] == ["fresh"]
    assert "older than 4 h" in caplog.text


# -- system checks ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("FLAGSHIP_HIT_QUEUE_SIZE", 0, "E013"),
        ("FLAGSHIP_HIT_BATCH_SIZE", "100", "E013"),
        ("FLAGSHIP_HIT_MAX_RETRIES", -1, "E013"),
        ("FLAGSHIP_HIT_QUEUE_SIZE", True, "E013"),
        ("FLAGSHIP_HIT_SINK", "nowhere.sink", "E014"),
        ("FLAGSHIP_HIT_SINK", "tests.hits.views.ENV", "E014"),
        ("FLAGSHIP_HIT_SINK", None, "E014"),
        ("FLAGSHIP_HIT_SPOOL_DIR", 3, "E015"),
        ("FLAGSHIP_HIT_FLUSH_INTERVAL", 0, "E006"),
        ("FLAGSHIP_HIT_SHUTDOWN_TIMEOUT", "2", "E006"),
        ("FLAGSHIP_AUTO_PAGE_HITS", "yes", "E010"),
        ("FLAGSHIP_PAGE_HIT_QUERY_STRING", 1, "E010"),
        ("FLAGSHIP_CONSENT_SESSION_KEY", 5, "E001"),
    ],
)
def test_hit_settings_are_checked(site, name, value, expected):
    setattr(site, name, value)
    assert [m.id for m in check_settings()] == [f"django_flagship.{expected}"]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("FLAGSHIP_HIT_SINK", "collector"),
        ("FLAGSHIP_HIT_SINK", "tests.hits.views.custom_sink"),
        ("FLAGSHIP_HIT_SPOOL_DIR", False),
        ("FLAGSHIP_HIT_SPOOL_DIR", None),
        ("FLAGSHIP_HIT_MAX_RETRIES", 0),
    ],
)
def test_good_hit_settings_pass_the_checks(site, name, value):
    setattr(site, name, value)
    assert check_settings() == []


def test_bad_hit_settings_leave_a_working_client_that_logs(site, caplog):
    site.FLAGSHIP_HIT_SINK = "collector"
    site.FLAGSHIP_HIT_BATCH_SIZE = 0
    with caplog.at_level(logging.ERROR, logger="django_flagship"):
        tracker = client.get_client().tracker
    assert "batch_size" in caplog.text
    assert isinstance(tracker.sink, LogTracker)


def test_the_old_delivery_path_re_exports_the_sinks():
    from django_flagship import delivery, sinks

    for name in delivery.__all__:
        assert getattr(delivery, name) is getattr(sinks, name)
    assert set(delivery.__all__) == set(sinks.__all__)
