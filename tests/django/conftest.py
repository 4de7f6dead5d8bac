import shutil

import pytest
from django.core.cache import caches

from django_flagship import client, log
from tests.conftest import DATA


@pytest.fixture(autouse=True)
def _fresh_flagship():
    """Every test starts with a new client, an empty cache and fresh warnings."""
    client.reset()
    for cache in caches.all():  # every configured cache, even one not used yet
        cache.clear()
    log.forget_warnings()
    yield
    client.reset()


@pytest.fixture
def bucket_path(tmp_path):
    """A private copy of the test bucketing file (tests may rewrite it)."""
    path = tmp_path / "bucketing.json"
    shutil.copy(DATA / "bucketing.json", path)
    return path


@pytest.fixture
def configured(settings, bucket_path):
    """Offline bucketing from the test file, hits in memory."""
    settings.FLAGSHIP_BUCKET_FILE = str(bucket_path)
    settings.FLAGSHIP_TRACKER = "tests.django.support.memory_tracker"
    return settings


class _CurrentTracker:
    """The tracker of the current client (settings changes rebuild the client)."""

    def __getattr__(self, name):
        return getattr(client.get_client().tracker, name)


@pytest.fixture
def tracker(configured):
    return _CurrentTracker()
