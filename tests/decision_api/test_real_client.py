"""Through the app's own client: the bucket file, the Django cache and the tracker come
from the settings alone, with nothing patched."""

from __future__ import annotations

import json

import pytest
from django.core.cache import caches

from django_flagship import client as flagship_client
from django_flagship.sdk.tracking import MemoryTracker

from .conftest import use_app_bucket
from .test_v2_contract import visitor

pytestmark = pytest.mark.django_db(databases=[])

TRACKERS: list[MemoryTracker] = []


def memory_tracker(config) -> MemoryTracker:
    """``FLAGSHIP_TRACKER`` factory: keep the tracker so the test can read it."""
    tracker = MemoryTracker()
    TRACKERS.append(tracker)
    return tracker


@pytest.fixture
def app_settings(settings, tmp_path):
    use_app_bucket(settings, tmp_path, "real")
    settings.FLAGSHIP_TRACKER = f"{__name__}.memory_tracker"
    settings.FLAGSHIP_DECISION_API_ENVIRONMENTS = {"app-env": ["app-key"]}
    TRACKERS.clear()
    yield settings
    flagship_client.reset()
    caches["default"].clear()


def test_decisions_come_from_the_apps_bucket_and_hits_go_to_its_tracker(app_settings, client):
    vid = visitor(want_red=True)
    response = client.post(
        "/decision-api/v2/app-env/campaigns",
        json.dumps({"visitorId": vid, "context": {"age": 3}}),
        content_type="application/json",
        HTTP_X_API_KEY="app-key",
    )
    assert response.status_code == 200
    body = response.json()
    assert body["campaigns"][0]["variation"]["id"] == "var-ab-red"
    assert flagship_client.get_bucket() is not None
    tracker = flagship_client.get_client().tracker
    assert tracker.sink is TRACKERS[-1]  # behind the hit signals
    assert [a.variation_group_id for a in tracker.activations] == [
        c["variationGroupId"] for c in body["campaigns"]
    ]
    assert [h.payload["t"] for h in tracker.hits] == ["SEGMENT"]


def test_no_bucket_configured_is_503(app_settings, client):
    del app_settings.FLAGSHIP_BUCKET_FILE
    response = client.post(
        "/decision-api/v2/app-env/campaigns",
        json.dumps({"visitorId": "v"}),
        content_type="application/json",
        HTTP_X_API_KEY="app-key",
    )
    assert response.status_code == 503
