"""``cache_bucket_poller(fetch=...)``: the one seam, a document from a function instead of a URL."""

import pytest
from django.core.cache import caches

from django_flagship.polling import cache_bucket_poller
from django_flagship.sdk.bucket_source import Download
from django_flagship.sdk.bucketing import BucketError

from .conftest import REPO_FILES, read


@pytest.fixture
def cache():
    cache = caches["default"]
    cache.clear()
    yield cache
    cache.clear()


def test_fetch_replaces_the_download(cache):
    calls = []
    documents = [read(REPO_FILES[1]), read(REPO_FILES[1]), read(REPO_FILES[2])]

    def fetch(last_modified):
        calls.append(last_modified)
        return Download(
            modified=True, data=documents[len(calls) - 1], last_modified=f"LM{len(calls)}"
        )

    store = cache_bucket_poller(
        lambda: cache, namespace="seam:env", url=None, fetch=fetch, polling_interval=0
    )
    try:
        # An empty cache is filled at once, on the first read: no request waits for a poll.
        bucket = store.current()
        assert bucket is not None
        assert calls == [None]
        assert cache.get(store.store.entry_key)["last_modified"] == "LM1"
        # The same document again: nothing written, the version stays.
        version = store.version
        assert not store.refresh(force=True).updated
        assert calls == [None, "LM1"]
        assert store.version == version
        # Another document: stored with its Last-Modified, a new version.
        assert store.refresh(force=True).updated
        assert store.version != version
        assert cache.get(store.store.entry_key)["last_modified"] == "LM3"
    finally:
        store.close()


def test_a_failing_fetch_keeps_the_bucket(cache):
    state = {"fail": False}

    def fetch(last_modified):
        if state["fail"]:
            raise BucketError("the database is down")
        return Download(modified=True, data=read(REPO_FILES[1]), last_modified="LM")

    store = cache_bucket_poller(
        lambda: cache, namespace="seam:env2", url=None, fetch=fetch, polling_interval=0
    )
    try:
        bucket = store.current()
        state["fail"] = True
        with pytest.raises(BucketError, match="the database is down"):
            store.refresh(force=True)
        assert store.current() is bucket
    finally:
        store.close()


@pytest.mark.parametrize(
    ("limits", "message"),
    [
        ({"max_campaigns": 1}, "more than the limit of 1 .FLAGSHIP_BUCKET_MAX_CAMPAIGNS"),
        ({"max_bytes": 100}, "the local bucketing document is larger than the limit of 100"),
    ],
)
def test_a_fetched_document_meets_the_bounds_of_a_download(cache, limits, message):
    """Other processes read the entry through the bounds: one past them is never stored."""
    from django_flagship.sdk.bucket_limits import BucketLimits

    document = read(REPO_FILES[1])
    assert len(document["campaigns"]) > 1

    def fetch(last_modified):
        return Download(modified=True, data=document, last_modified="LM")

    store = cache_bucket_poller(
        lambda: cache,
        namespace="seam:env4",
        url=None,
        fetch=fetch,
        polling_interval=0,
        limits=BucketLimits(**limits),
    )
    try:
        with pytest.raises(BucketError, match=message):
            store.refresh(force=True)
        assert cache.get(store.store.entry_key) is None
        assert store.installed is None
    finally:
        store.close()


def test_the_poller_runs_on_fetch_alone(cache):
    def fetch(last_modified):
        return Download(modified=True, data=read(REPO_FILES[1]), last_modified="LM")

    store = cache_bucket_poller(
        lambda: cache, namespace="seam:env3", url=None, fetch=fetch, polling_interval=30.0
    )
    try:
        store.current()
        assert store.polling
    finally:
        store.close()
    assert not store.polling
