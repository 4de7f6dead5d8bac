"""The activation endpoints take no key: batch cap, rate limits per client, a queue of their own."""

from __future__ import annotations

import json
import logging

import pytest
from django.core.cache import caches

from django_flagship import client as flagship_client
from django_flagship.decision_api import trackers
from django_flagship.ratelimit import reset_local_counts
from django_flagship.sdk.hits import Event, EventCategory
from django_flagship.served_conf import parse_activation_rate_limit, parse_max_batch
from django_flagship.shortcuts import flags_for
from tests.hits.collector import Collector

from .conftest import ENV_ID, use_app_bucket

pytestmark = pytest.mark.django_db(databases=[])

V1 = "/decision-api/v1/activate"
V2 = "/decision-api/v2/activate"
GOOD = {"caid": "vg-ab", "vaid": "var-ab-red"}


def batch(size: int, cid: str = ENV_ID, prefix: str = "v") -> dict:
    return {"cid": cid, "batch": [{**GOOD, "vid": f"{prefix}-{n}"} for n in range(size)]}


def post(client, path, body, **extra):
    return client.post(path, json.dumps(body), content_type="application/json", **extra)


def errors_of(response) -> dict[str, str]:
    assert response.status_code == 400
    return json.loads(response.json()["message"])["errors"]


# -- the batch cap ------------------------------------------------------------------


def test_a_batch_is_capped(served, client, settings):
    assert post(client, V2, batch(100)).status_code == 204
    assert len(served.activations) == 100
    assert errors_of(post(client, V2, batch(101))) == {"batch": "At most 100 items."}
    assert errors_of(post(client, V2, batch(780))) == {"batch": "At most 100 items."}
    settings.FLAGSHIP_DECISION_API_MAX_BATCH = 3
    assert errors_of(post(client, V2, batch(4))) == {"batch": "At most 3 items."}
    assert post(client, V2, batch(3)).status_code == 204
    assert len(served.activations) == 103


# -- the rate limit ------------------------------------------------------------------


def test_requests_are_limited_per_client_address(served, client, settings):
    settings.FLAGSHIP_DECISION_API_RATE_LIMIT = (3, 1000, 60.0)
    one = {"cid": ENV_ID, "vid": "v", **GOOD}
    statuses = [post(client, path, one).status_code for path in (V1, V2, V2, V1, V2)]
    assert statuses == [204, 204, 204, 429, 429]
    refused = post(client, V2, one)
    assert refused.json() == {
        "message": f"too many requests from this client; retry in {refused['Retry-After']} s"
    }
    assert 1 <= int(refused["Retry-After"]) <= 60
    # a refused request counts, as any other: malformed or for another environment
    other = post(client, V2, one, REMOTE_ADDR="198.51.100.4")
    assert other.status_code == 204
    assert post(client, V2, {"x": 1}, REMOTE_ADDR="198.51.100.4").status_code == 400
    assert post(client, V2, one, REMOTE_ADDR="198.51.100.4").status_code == 204
    assert post(client, V2, one, REMOTE_ADDR="198.51.100.4").status_code == 429
    assert len(served.activations) == 5


def test_activations_are_counted_item_by_item(served, client, settings):
    settings.FLAGSHIP_DECISION_API_RATE_LIMIT = (1000, 250, 60.0)
    assert post(client, V2, batch(100)).status_code == 204
    assert post(client, V2, batch(100)).status_code == 204
    refused = post(client, V2, batch(100))
    assert refused.status_code == 429
    assert refused.json()["message"].startswith("too many activations from this client")
    assert post(client, V2, batch(100), REMOTE_ADDR="198.51.100.5").status_code == 204
    assert len(served.activations) == 300


def test_the_default_limit_and_turning_it_off(served, client, settings):
    # (600, 6000, 60.0): 6,000 activations a minute from one address
    assert {post(client, V2, batch(100)).status_code for _ in range(60)} == {204}
    assert post(client, V2, batch(100)).status_code == 429
    settings.FLAGSHIP_DECISION_API_RATE_LIMIT = None
    assert {post(client, V2, batch(100)).status_code for _ in range(10)} == {204}


def test_behind_a_proxy_each_client_is_counted_apart(served, client, settings):
    settings.FLAGSHIP_DECISION_API_RATE_LIMIT = (2, 1000, 60.0)
    settings.FLAGSHIP_CLIENT_ADDRESS_HEADER = "X-Forwarded-For"
    one = {"cid": ENV_ID, "vid": "v", **GOOD}
    for address in ("192.0.2.1", "192.0.2.2"):
        forwarded = {"HTTP_X_FORWARDED_FOR": f"10.9.9.9, {address}"}
        assert [post(client, V2, one, **forwarded).status_code for _ in range(3)] == [
            204,
            204,
            429,
        ]


def test_the_window_starts_again(served, client, settings, monkeypatch):
    settings.FLAGSHIP_DECISION_API_RATE_LIMIT = (1, 1000, 10.0)
    now = [2_000_000.0]
    monkeypatch.setattr("django_flagship.ratelimit.time.time", lambda: now[0])
    one = {"cid": ENV_ID, "vid": "v", **GOOD}
    assert post(client, V2, one).status_code == 204
    refused = post(client, V2, one)
    assert (refused.status_code, refused["Retry-After"]) == (429, "10")
    now[0] += 9.5
    assert post(client, V2, one)["Retry-After"] == "1"
    now[0] += 0.5
    assert post(client, V2, one).status_code == 204


@pytest.mark.parametrize(
    ("name", "value", "parse"),
    [
        ("FLAGSHIP_DECISION_API_RATE_LIMIT", (0, 10, 60.0), parse_activation_rate_limit),
        ("FLAGSHIP_DECISION_API_RATE_LIMIT", (10, 10), parse_activation_rate_limit),
        ("FLAGSHIP_DECISION_API_RATE_LIMIT", "600/minute", parse_activation_rate_limit),
        ("FLAGSHIP_DECISION_API_RATE_LIMIT", (10, True, 60.0), parse_activation_rate_limit),
        ("FLAGSHIP_DECISION_API_RATE_LIMIT", (10, 10, float("inf")), parse_activation_rate_limit),
        ("FLAGSHIP_DECISION_API_MAX_BATCH", 0, parse_max_batch),
        ("FLAGSHIP_DECISION_API_MAX_BATCH", "100", parse_max_batch),
    ],
)
def test_a_malformed_limit_serves_the_default(
    served, client, settings, caplog, monkeypatch, name, value, parse
):
    monkeypatch.setattr("django_flagship.conf._reported", set())
    with pytest.raises(ValueError, match=name):
        parse(value)
    setattr(settings, name, value)
    with caplog.at_level(logging.ERROR, logger="django_flagship"):
        assert post(client, V2, batch(100)).status_code == 204
        assert errors_of(post(client, V2, batch(101))) == {"batch": "At most 100 items."}
    check = "E023" if name.endswith("RATE_LIMIT") else "E024"
    assert f"django_flagship.{check}" in caplog.text


def test_while_the_cache_is_down_each_process_counts_on_its_own(served, client, settings, caplog):
    """Neither open nor closed: the limit holds, per process, and the outage is logged."""
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        "down": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens there
        },
    }
    settings.FLAGSHIP_CACHE_ALIAS = "down"
    settings.FLAGSHIP_DECISION_API_RATE_LIMIT = (3, 1000, 60.0)
    reset_local_counts()
    one = {"cid": ENV_ID, "vid": "v", **GOOD}
    with caplog.at_level(logging.WARNING, logger="django_flagship"):
        statuses = [post(client, V2, one).status_code for _ in range(5)]
    assert statuses == [204, 204, 204, 429, 429]
    assert len(served.activations) == 3
    assert "each process counts on its own" in caplog.text
    assert "ConnectionError" in caplog.text
    # a new process (or new settings) starts counting again: the limit is per process
    reset_local_counts()
    assert post(client, V2, one).status_code == 204


# -- where accepted activations wait: a queue of their own -----------------------------


@pytest.fixture
def collector_app(settings, tmp_path):
    """The app's own client sending to a collector of the test's own, which is down."""
    collector = Collector()
    collector.stop()  # nothing drains: the queues keep what they accepted
    use_app_bucket(settings, tmp_path, "flood")
    settings.FLAGSHIP_ENV_ID = ENV_ID
    settings.FLAGSHIP_API_KEY = "key-app"
    settings.FLAGSHIP_DECISION_API_ENVIRONMENTS = None
    settings.FLAGSHIP_HIT_SINK = "collector"
    settings.FLAGSHIP_HIT_SPOOL_DIR = False
    settings.FLAGSHIP_HIT_MAX_RETRIES = 1000  # never spooled while the test runs
    settings.FLAGSHIP_HIT_FLUSH_INTERVAL = 60.0
    settings.FLAGSHIP_HIT_QUEUE_SIZE = 1000
    settings.FLAGSHIP_EVENTS_URL = collector.events_url
    settings.FLAGSHIP_ACTIVATE_URL = collector.activate_url
    settings.FLAGSHIP_BUCKETING_URL = collector.base_url + "/bucketing/{env_id}.json"
    flagship_client.reset()
    yield settings
    flagship_client.reset()
    trackers.close_served_trackers()
    collector.close()
    caches["default"].clear()


def site_hits_pending(tracker) -> int:
    return sum(1 for _, item in list(tracker._queue) if item.payload.get("ea") == "site")


def test_a_flood_drops_only_its_own_items(collector_app, client):
    """Activations past their queue's bound are dropped there; the site's hits all wait to go."""
    collector_app.FLAGSHIP_DECISION_API_RATE_LIMIT = None  # the queue alone, here
    statuses = set()
    for n in range(30):
        statuses.add(post(client, V2, batch(100, prefix=f"flood-{n}")).status_code)
        for i in range(10):
            hit = Event(EventCategory.ACTION_TRACKING, "site")
            assert flags_for(visitor_id=f"site-{n}-{i}").send_hit(hit)
    assert statuses == {204}
    app = flagship_client.get_client().tracker.sink
    served = trackers.served_tracker(ENV_ID).sink
    assert served is not app
    assert served.stats()["dropped_full"] == 3000 - 1000
    assert served.stats()["queued"] == 1000
    assert app.stats()["dropped_full"] == 0
    assert site_hits_pending(app) == 300
