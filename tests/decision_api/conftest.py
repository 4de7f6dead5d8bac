"""The Decision API served from a bucket: fixtures shared by its tests."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from django.core.cache import caches

from django_flagship import client as client_module
from django_flagship.sdk.bucketing import Bucket
from django_flagship.sdk.tracking import MemoryTracker

ENV_ID = "env-served"
API_KEY = "key-served-1"
OTHER_KEY = "key-served-2"
PREFIX = f"/decision-api/v1/{ENV_ID}"
PREFIX_V2 = f"/decision-api/v2/{ENV_ID}"

ALL_USERS = {
    "targetingGroups": [
        {"targetings": [{"key": "fs_all_users", "operator": "EQUALS", "value": ""}]}
    ]
}


def _campaign(cid, ctype, kind, value, *, slug=None, targeting=ALL_USERS, allocation=100):
    return {
        "id": cid,
        "name": f"{cid} name",
        "slug": slug,
        "type": ctype,
        "variationGroups": [
            {
                "id": f"vg-{cid}",
                "name": f"vg-{cid} name",
                "targeting": targeting,
                "variations": [
                    {
                        "id": f"var-{cid}",
                        "name": f"var-{cid} name",
                        "allocation": allocation,
                        "modifications": {"type": kind, "value": value},
                    }
                ],
            }
        ],
    }


def bucket_data() -> dict[str, Any]:
    """A bucket with one campaign per modification type; allocations make most outcomes certain."""
    vip = {
        "targetingGroups": [{"targetings": [{"key": "isVip", "operator": "EQUALS", "value": True}]}]
    }
    return {
        "panic": False,
        "accountSettings": {"enabledXPC": False, "enabled1V1T": False},
        "campaigns": [
            {
                "id": "c-ab",
                "name": "Checkout test",
                "slug": "checkout",
                "type": "ab",
                "variationGroups": [
                    {
                        "id": "vg-ab",
                        "name": "All users",
                        "targeting": ALL_USERS,
                        "variations": [
                            {
                                "id": "var-ab-ref",
                                "name": "Original",
                                "reference": True,
                                "allocation": 50,
                                "modifications": {"type": "FLAG", "value": {"btnColor": None}},
                            },
                            {
                                "id": "var-ab-red",
                                "name": "Red",
                                "allocation": 50,
                                "modifications": {
                                    "type": "FLAG",
                                    "value": {"btnColor": "red", "btnSize": 2},
                                },
                            },
                        ],
                    }
                ],
            },
            _campaign("c-vip", "toggle", "JSON", {"vip": True, "btnColor": "gold"}, targeting=vip),
            _campaign("c-text", "perso", "TEXT", {"greeting": "Hello, ünïcode"}, slug="hello"),
            _campaign("c-html", "perso", "HTML", {"banner": "<b>Sale</b>"}),
            _campaign("c-image", "perso", "IMAGE", {"hero": "https://cdn.example.com/hero.png"}),
            _campaign("c-redirect", "perso", "REDIRECT", {"target": "https://example.com/new"}),
            _campaign("c-bad-redirect", "perso", "REDIRECT", {"target": "javascript:alert(1)"}),
            _campaign("c-number", "perso", "TEXT", {"count": 3}),
            _campaign("c-never", "ab", "FLAG", {"never": True}, allocation=0),
        ],
    }


class FakeClient:
    """What the views use of the app's Flagship client: its tracker."""

    def __init__(self) -> None:
        self.tracker = MemoryTracker()


class Served:
    """The bucket and tracker the server sees; swap ``bucket`` to simulate a refresh."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        self.bucket: Bucket | None = Bucket.parse(data)
        self.client = FakeClient()

    def replace(self, data: dict[str, Any]) -> None:
        self.data = data
        self.bucket = Bucket.parse(data)

    @property
    def activations(self):
        return self.client.tracker.activations


def use_app_bucket(settings, tmp_path, location: str):
    """Settings under which the app's own client decides from ``bucket_data()``.

    The bucket file, a local-memory cache of its own and the Decision API URLs:
    nothing patched, the app builds everything from the settings.
    """
    bucket_file = tmp_path / "bucketing.json"
    bucket_file.write_text(json.dumps(bucket_data()), encoding="utf-8")
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": location,
        }
    }
    caches["default"].clear()
    settings.ROOT_URLCONF = "tests.decision_api.urls"
    settings.FLAGSHIP_MODE = "BUCKETING"
    settings.FLAGSHIP_BUCKET_FILE = str(bucket_file)
    settings.FLAGSHIP_POLLING_INTERVAL = 0
    return settings


@pytest.fixture
def served(monkeypatch, settings) -> Served:
    """The server on the test bucket, with ``ENV_ID`` served under two keys.

    ``get_bucket``/``get_client`` are replaced so each test controls the bucket
    and reads the tracker; ``test_real_client`` goes through the real ones.
    """
    state = Served(bucket_data())
    monkeypatch.setattr(client_module, "get_bucket", lambda: state.bucket)
    monkeypatch.setattr(client_module, "get_client", lambda: state.client)
    settings.ROOT_URLCONF = "tests.decision_api.urls"
    settings.FLAGSHIP_DECISION_API_ENVIRONMENTS = {ENV_ID: [API_KEY, OTHER_KEY]}
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "dapi"}
    }
    caches["default"].clear()
    yield state
    caches["default"].clear()


@pytest.fixture
def api(client):
    """POST JSON with the API key; ``api.post(path, body, **headers)``."""

    class Api:
        def post(
            self, path: str, body: Any = None, *, key: str | None = API_KEY, raw=None, **extra
        ):
            headers = {"HTTP_X_API_KEY": key} if key is not None else {}
            data = raw if raw is not None else json.dumps(body if body is not None else {})
            return client.post(path, data, content_type="application/json", **headers, **extra)

        def get(self, path: str, params: dict | None = None, *, key: str | None = API_KEY):
            headers = {"HTTP_X_API_KEY": key} if key is not None else {}
            return client.get(path, params or {}, **headers)

    return Api()


def deep(data: dict[str, Any]) -> dict[str, Any]:
    return copy.deepcopy(data)
