"""Several served environments: each activation and context hit carries its own env id."""

from __future__ import annotations

import json
import logging

import pytest
from django.core.cache import caches

from django_flagship import client as flagship_client
from django_flagship.decision_api import trackers
from tests.hits.collector import ACTIVATE_PATH, EVENTS_PATH, Collector

from .conftest import API_KEY, ENV_ID, use_app_bucket

pytestmark = pytest.mark.django_db(databases=[])

SECOND = "env-second"
SECOND_KEY = "key-second"


def post(client, path, body, key=None):
    headers = {"HTTP_X_API_KEY": key} if key else {}
    return client.post(path, json.dumps(body), content_type="application/json", **headers)


def exercise(client, first, first_key, second, second_key):
    """Decide and activate in both environments, as the SDKs and the v1 contract do."""
    context = {"age": 30}
    for env, key, vid in ((first, first_key, "v-first"), (second, second_key, "v-second")):
        response = post(
            client, f"/decision-api/v2/{env}/campaigns", {"visitorId": vid, "context": context}, key
        )
        assert response.status_code == 200
    one = {"caid": "vg-ab", "vaid": "var-ab-red"}
    batch = {"cid": second, "batch": [{**one, "vid": "a-second", "qt": 5}]}
    assert post(client, "/decision-api/v2/activate", batch).status_code == 204
    single = {"cid": first, "vid": "a-first", **one}
    assert post(client, "/decision-api/v2/activate", single).status_code == 204
    v1 = {**single, "cid": second, "vid": "b-second"}
    assert post(client, "/decision-api/v1/activate", v1).status_code == 204


def expected_env(visitor_id: str, first: str, second: str) -> str:
    return first if visitor_id.endswith("-first") else second


# -- memory (or a custom) sink: one sink for all, the env id on each item ---------------


def test_each_item_recorded_carries_its_environment(served, client, settings):
    settings.FLAGSHIP_DECISION_API_ENVIRONMENTS = {ENV_ID: [API_KEY], SECOND: [SECOND_KEY]}
    exercise(client, ENV_ID, API_KEY, SECOND, SECOND_KEY)
    activations = served.client.tracker.activations
    hits = served.client.tracker.hits
    assert {a.visitor_id for a in activations} == {
        "v-first",
        "v-second",
        "a-first",
        "a-second",
        "b-second",
    }
    assert [h.visitor_id for h in hits] == ["v-first", "v-second"]
    for item in [*activations, *hits]:
        env = expected_env(item.visitor_id, ENV_ID, SECOND)
        assert item.env_id == env
        payload = item.to_payload()
        assert next(iter(payload)) == "cid"
        assert payload["cid"] == env
    # the rest of the payload is unchanged
    (second_batch,) = [a for a in activations if a.visitor_id == "a-second"]
    assert second_batch.to_payload(now=second_batch.created_at + 0.010) == {
        "cid": SECOND,
        "vid": "a-second",
        "aid": None,
        "caid": "vg-ab",
        "vaid": "var-ab-red",
        "qt": 10,
    }


@pytest.fixture
def real_app(settings, tmp_path):
    """The app's own client from the settings, serving its env and a second one."""
    use_app_bucket(settings, tmp_path, "envs")
    settings.FLAGSHIP_ENV_ID = "env-app"
    settings.FLAGSHIP_API_KEY = "key-app"
    settings.FLAGSHIP_HIT_SPOOL_DIR = False
    settings.FLAGSHIP_DECISION_API_ENVIRONMENTS = {"env-app": ["key-app"], SECOND: [SECOND_KEY]}
    flagship_client.reset()
    yield settings
    flagship_client.reset()
    trackers.close_served_trackers()
    caches["default"].clear()


def test_the_log_sink_writes_the_environment(real_app, client, caplog):
    real_app.FLAGSHIP_HIT_SINK = "log"
    caplog.set_level(logging.INFO, logger="django_flagship.hits")
    exercise(client, "env-app", "key-app", SECOND, SECOND_KEY)
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "django_flagship.hits"]
    assert len(lines) > 4
    for line in lines:
        vid = line.get("cuid") or line["vid"]
        assert line["cid"] == expected_env(vid, "env-app", SECOND), line
    assert trackers.served_tracker(SECOND) is None  # one sink serves both


# -- Flagship's collector: one envelope cid per request, so one tracker per env ---------


@pytest.fixture
def collector():
    server = Collector()
    yield server
    server.close()


def test_the_collector_gets_each_environment_under_its_own_cid(real_app, client, collector):
    real_app.FLAGSHIP_HIT_SINK = "collector"
    real_app.FLAGSHIP_EVENTS_URL = collector.events_url
    real_app.FLAGSHIP_ACTIVATE_URL = collector.activate_url
    real_app.FLAGSHIP_BUCKETING_URL = collector.base_url + "/bucketing/{env_id}.json"
    exercise(client, "env-app", "key-app", SECOND, SECOND_KEY)

    second = trackers.served_tracker(SECOND)
    assert second is not None
    assert second.sink.client.env_id == SECOND
    # built from the app's settings: same endpoints, same queue settings
    app_sink = flagship_client.get_client().tracker.sink
    assert second.sink.client.activate_url == app_sink.client.activate_url
    assert second.sink.batch_size == app_sink.batch_size
    assert second is not flagship_client.get_client().tracker
    # the app's own environment too: what the server receives waits in a queue of its own
    own = trackers.served_tracker("env-app")
    assert own is not None
    assert own is not flagship_client.get_client().tracker
    assert own.sink is not app_sink
    assert own.sink.client.env_id == "env-app"
    assert flagship_client.get_client().tracker.flush(5.0)
    assert own.flush(5.0)
    assert second.flush(5.0)

    by_cid: dict[str, list[str]] = {}
    for received in collector.accepted(ACTIVATE_PATH):
        for item in received.body["batch"]:
            assert "cid" not in item  # the envelope carries it
            by_cid.setdefault(received.body["cid"], []).append(item["vid"])
    assert {cid: sorted(set(vids)) for cid, vids in by_cid.items()} == {
        "env-app": ["a-first", "v-first"],
        SECOND: ["a-second", "b-second", "v-second"],
    }
    segments = {
        hit["vid"]: received.body["cid"]
        for received in collector.accepted(EVENTS_PATH)
        for hit in received.body["h"]
        if hit["t"] == "SEGMENT"
    }
    assert segments == {"v-first": "env-app", "v-second": SECOND}


def test_the_environment_trackers_follow_the_app_client(real_app, client, collector):
    real_app.FLAGSHIP_HIT_SINK = "collector"
    real_app.FLAGSHIP_EVENTS_URL = collector.events_url
    real_app.FLAGSHIP_ACTIVATE_URL = collector.activate_url
    real_app.FLAGSHIP_BUCKETING_URL = collector.base_url + "/bucketing/{env_id}.json"
    body = {"cid": SECOND, "vid": "a", "caid": "vg-ab", "vaid": "var-ab-red"}
    assert post(client, "/decision-api/v2/activate", body).status_code == 204
    first = trackers.served_tracker(SECOND)
    assert first is not None
    assert post(client, "/decision-api/v2/activate", body).status_code == 204
    assert trackers.served_tracker(SECOND) is first  # cached
    # a new client (settings changed): the old tracker is flushed and closed
    real_app.FLAGSHIP_HIT_FLUSH_INTERVAL = 60.0
    assert trackers.served_tracker(SECOND) is None
    assert collector.wait_for(lambda c: len(c.activations()) == 2, timeout=5.0)
    assert post(client, "/decision-api/v2/activate", body).status_code == 204
    rebuilt = trackers.served_tracker(SECOND)
    assert rebuilt is not None
    assert rebuilt is not first
    assert rebuilt.sink.flush_interval == 60.0
    # client.reset() alone (as tests do): rebuilt on the next use too
    flagship_client.reset()
    assert post(client, "/decision-api/v2/activate", body).status_code == 204
    assert trackers.served_tracker(SECOND) is not rebuilt
