"""Authored campaigns under test: the local source on the locmem cache, a clean runtime."""

import json
from pathlib import Path

import pytest
from django.core.cache import caches

from django_flagship import client

ROOT = Path(__file__).resolve().parents[2]
REPO_FILES = [
    ROOT / "example_project" / "bucketing.json",
    ROOT / "tests" / "django" / "data" / "bucketing.json",
    ROOT / "tests" / "django" / "data" / "bucketing-v2.json",
]


def read(path):
    return json.loads(Path(path).read_text(encoding="utf-8"))


@pytest.fixture
def local(settings):
    """FLAGSHIP_BUCKET_SOURCE = "local", no polling thread, fresh caches and runtime."""
    settings.FLAGSHIP_BUCKET_SOURCE = "local"
    settings.FLAGSHIP_ENV_ID = ""
    settings.FLAGSHIP_BUCKET_FILE = None
    settings.FLAGSHIP_POLLING_INTERVAL = 0.0
    settings.FLAGSHIP_BUCKET_CHECK_INTERVAL = 0.0
    settings.FLAGSHIP_HIT_SINK = "memory"
    client.reset()
    for cache in caches.all():
        cache.clear()
    yield settings
    client.reset()
    for cache in caches.all():  # no authored bucket left for the next test to find
        cache.clear()
