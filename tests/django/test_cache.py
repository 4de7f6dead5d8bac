"""The bucket store on a Django cache (local memory here; Redis in test_redis.py)."""

import json
import logging
import os
import threading

import pytest
import requests
import responses
from django.core.cache import caches

from django_flagship.cache import bucket_changed
from django_flagship.polling import cache_bucket_poller
from django_flagship.sdk.bucketing import BucketError
from tests.conftest import DATA

URL = "https://cdn.example.test/env/bucketing.json"
LAST_MODIFIED = "Wed, 21 Oct 2026 07:28:00 GMT"


class CountingCache:
    """A real cache that counts round trips and can be switched off."""

    OPS = ("get", "set", "add", "get_many", "set_many", "delete")

    def __init__(self, inner):
        self.inner = inner
        self.calls = []
        self.down = False

    def __getattr__(self, name):
        attr = getattr(self.inner, name)
        if name not in self.OPS:
            return attr

        def op(*args, **kwargs):
            if self.down:
                raise ConnectionError("cache unreachable")
            self.calls.append(name)
            return attr(*args, **kwargs)

        return op


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture
def cache():
    inner = caches["default"]
    inner.clear()
    return CountingCache(inner)


@pytest.fixture
def clock():
    return Clock()


def make_store(cache, clock=None, **kwargs):
    kwargs.setdefault("check_interval", 5.0)
    kwargs.setdefault("polling_interval", 0)
    store = cache_bucket_poller(
        lambda: cache,
        namespace="test:env",
        clock=clock or Clock(),
        **{"url": None, **kwargs},
    )
    return store


def bucket_json(path="bucketing.json"):
    return json.loads((DATA / path).read_text())


def colour(store, visitor="v"):
    bucket = store.current()
    if bucket is None:
        return None
    for assignment in bucket.decide(visitor, {}):
        if "btn_color" in assignment.flags:
            return assignment.flags["btn_color"]
    return None


# -- reading ---------------------------------------------------------------------


def test_bucket_file_seeds_an_empty_cache(cache, bucket_path):
    first = make_store(cache, bucket_file=str(bucket_path))
    assert colour(first) == "red"
    entry = cache.inner.get("test:env:bucket")
    assert entry["source"] == "file"
    assert cache.inner.get("test:env:bucket-version")["version"] == entry["version"]
    # Another process finds it in the cache and never reads the file.
    bucket_path.unlink()
    second = make_store(cache, bucket_file=str(bucket_path))
    assert colour(second) == "red"
    assert second.version == first.version


def test_checks_are_throttled(cache, clock, bucket_path):
    store = make_store(cache, clock, bucket_file=str(bucket_path))
    store.current()
    cache.calls.clear()
    for _ in range(100):
        store.current()
    assert cache.calls == []  # within the check interval: no round trip
    clock.now += 5.0
    store.current()
    assert cache.calls == ["get"]  # one version check


def test_each_check_costs_at_most_one_round_trip(cache, clock, bucket_path, tmp_path):
    reader = make_store(cache, clock, bucket_file=str(bucket_path))
    assert colour(reader) == "red"
    writer = make_store(cache, bucket_file=str(bucket_path))
    writer.store.load_file(str(DATA / "bucketing-v2.json"))

    cache.calls.clear()
    clock.now += 5.0
    assert colour(reader) == "red"  # this check sees the new version...
    assert cache.calls == ["get"]
    assert colour(reader) == "green"  # ...and the next one loads it
    assert cache.calls == ["get", "get"]
    clock.now += 5.0
    reader.current()
    assert cache.calls == ["get", "get", "get"]


def test_same_version_is_not_parsed_again(cache, clock, bucket_path, monkeypatch):
    store = make_store(cache, clock, bucket_file=str(bucket_path))
    bucket = store.current()
    # Someone stores the same file again: new pointer, same content.
    make_store(cache).store.load_file(str(bucket_path))
    clock.now += 5.0
    store.current()
    store.current()
    assert store.current() is bucket


def test_cache_down_serves_the_last_good_bucket(cache, clock, bucket_path, caplog):
    store = make_store(cache, clock, bucket_file=str(bucket_path))
    bucket = store.current()
    cache.down = True
    with caplog.at_level(logging.INFO, "django_flagship"):
        for _ in range(3):
            clock.now += 5.0
            assert store.current() is bucket
        cache.down = False
        clock.now += 5.0
        assert store.current() is bucket
    messages = [r.getMessage() for r in caplog.records]
    assert sum("unreachable" in m for m in messages) == 1  # once per outage
    assert any("reachable again" in m for m in messages)


def test_cache_down_at_start_uses_the_bucket_file(cache, bucket_path):
    cache.down = True
    store = make_store(cache, bucket_file=str(bucket_path))
    assert colour(store) == "red"


def test_cache_down_without_a_file_gives_no_bucket(cache):
    cache.down = True
    assert make_store(cache).current() is None


def test_corrupt_cached_entry_is_ignored(cache, clock, bucket_path, caplog):
    store = make_store(cache, clock, bucket_file=str(bucket_path))
    bucket = store.current()
    cache.inner.set("test:env:bucket", {"version": "x", "text": "{not json"})
    cache.inner.set("test:env:bucket-version", {"version": "x"})
    with caplog.at_level(logging.ERROR, "django_flagship"):
        for _ in range(6):
            clock.now += 5.0
            assert store.current() is bucket
    unusable = [r for r in caplog.records if "cached bucket is unusable" in r.getMessage()]
    assert len(unusable) == 1  # not retried until another version appears


def test_corrupt_cached_entry_in_a_new_process_uses_the_file(cache, bucket_path, caplog):
    cache.inner.set("test:env:bucket", {"version": "x", "text": "{not json"})
    with caplog.at_level(logging.ERROR, "django_flagship"):
        assert colour(make_store(cache, bucket_file=str(bucket_path))) == "red"


def test_bad_bucket_file_gives_no_bucket(cache, caplog):
    with caplog.at_level(logging.ERROR, "django_flagship"):
        assert make_store(cache, bucket_file=str(DATA / "not-json.json")).current() is None
    assert any("not valid JSON" in r.getMessage() for r in caplog.records)


def test_fork_resets_locks_and_threads(cache, clock, bucket_path, monkeypatch):
    store = make_store(cache, clock, bucket_file=str(bucket_path))
    store.current()
    store.store._check_lock.acquire()  # held by a thread that will not exist in the child
    monkeypatch.setattr(os, "getpid", lambda: -1)
    clock.now += 5.0
    cache.calls.clear()
    store.current()
    assert cache.calls == ["get"]  # the child checked despite the inherited lock


# -- downloading -------------------------------------------------------------------


@responses.activate
def test_refresh_downloads_stores_and_uses_if_modified_since(cache):
    responses.get(URL, json=bucket_json(), headers={"Last-Modified": LAST_MODIFIED})
    store = make_store(cache, url=URL)
    result = store.refresh()
    assert result.updated
    assert (result.campaign_count, result.variation_group_count) == (5, 5)
    assert "Bucket updated: 5 campaigns, 5 variation groups" in result.summary()
    assert "If-Modified-Since" not in responses.calls[0].request.headers
    assert cache.inner.get("test:env:bucket")["last_modified"] == LAST_MODIFIED

    responses.replace(responses.GET, URL, status=304)
    cache.inner.delete("test:env:bucket-lock")
    other = make_store(cache, url=URL)
    result = other.refresh()
    assert not result.updated
    assert responses.calls[1].request.headers["If-Modified-Since"] == LAST_MODIFIED
    assert colour(other) == "red"  # a 304 still gave it the cached bucket


@responses.activate
def test_lock_lets_one_process_download_per_interval(cache):
    responses.get(URL, json=bucket_json(), headers={"Last-Modified": LAST_MODIFIED})
    first = make_store(cache, url=URL, polling_interval=60)
    second = make_store(cache, url=URL, polling_interval=60)
    assert first.refresh().updated
    result = second.refresh()
    assert result.skipped
    assert "another process" in result.summary()
    assert len(responses.calls) == 1
    forced = second.refresh(force=True)  # forced: downloads, but the content is the same
    assert not forced.updated
    assert "not modified" in forced.summary()
    assert len(responses.calls) == 2


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"status": 500, "body": "oops"}, "answered 500"),
        ({"status": 200, "body": "<html>gateway</html>"}, "not valid JSON"),
        ({"status": 200, "json": {"campaigns": "nope"}}, "campaigns list"),
        ({"status": 200, "json": [1, 2]}, "not a JSON object"),
        (
            {"status": 200, "json": {"campaigns": [{"id": 3}, {"variationGroups": []}]}},
            "none of the 2 campaigns",
        ),
        ({"body": requests.ConnectionError("refused")}, "could not be downloaded"),
    ],
)
@responses.activate
def test_bad_download_never_replaces_a_good_bucket(cache, clock, bucket_path, kwargs, message):
    store = make_store(cache, clock, url=URL, bucket_file=str(bucket_path))
    bucket = store.current()
    version = cache.inner.get("test:env:bucket-version")
    responses.get(URL, **kwargs)
    with pytest.raises(BucketError, match=message):
        store.refresh(force=True)
    assert store.current() is bucket
    assert cache.inner.get("test:env:bucket-version") == version


@responses.activate
def test_panic_file_is_accepted(cache):
    responses.get(URL, json={"panic": True})
    store = make_store(cache, url=URL)
    assert store.refresh(force=True).updated
    assert store.current().panic


@responses.activate
def test_cache_write_failure_keeps_the_download_locally(cache):
    responses.get(URL, json=bucket_json())
    store = make_store(cache, url=URL)
    original_set = cache.inner.set

    def failing_set(key, *args, **kwargs):
        if key == "test:env:bucket":
            raise ConnectionError("write refused")
        return original_set(key, *args, **kwargs)

    cache.inner.set = failing_set
    try:
        with pytest.raises(BucketError, match="could not be stored"):
            store.refresh(force=True)
    finally:
        del cache.inner.set
    assert colour(store) == "red"
    assert cache.inner.get("test:env:bucket") is None


@responses.activate
def test_cache_down_during_refresh_still_downloads(cache):
    responses.get(URL, json=bucket_json())
    store = make_store(cache, url=URL)
    cache.down = True
    assert store.refresh().updated
    assert colour(store) == "red"


@responses.activate
def test_forced_refresh_fails_when_the_cache_is_down(cache):
    responses.get(URL, json=bucket_json())
    store = make_store(cache, url=URL)
    cache.down = True
    with pytest.raises(BucketError, match="cache is unreachable"):
        store.refresh(force=True)
    assert len(responses.calls) == 0


def test_refresh_needs_a_url(cache):
    with pytest.raises(BucketError, match="FLAGSHIP_ENV_ID"):
        make_store(cache).refresh()


def test_load_file_rejects_a_bad_file(cache, bucket_path):
    store = make_store(cache, bucket_file=str(bucket_path))
    bucket = store.current()
    with pytest.raises(BucketError):
        store.store.load_file(str(DATA / "bad-shape.json"))
    assert store.current() is bucket


# -- the polling thread -----------------------------------------------------------------


@responses.activate
def test_poller_downloads_in_the_background_and_stops(cache):
    release = threading.Event()

    def serve(request):
        release.wait(2)
        return (200, {"Last-Modified": LAST_MODIFIED}, json.dumps(bucket_json()))

    responses.add_callback(responses.GET, URL, callback=serve)
    store = make_store(cache, url=URL, polling_interval=0.05)
    assert store.current() is None  # the download is under way; the request does not wait
    assert store.polling
    release.set()
    for _ in range(200):
        if store.installed is not None:
            break
        threading.Event().wait(0.01)
    store.close()
    assert not store.polling
    assert colour(store) == "red"


@responses.activate
def test_download_once_mode_stops_after_success(cache):
    responses.get(URL, json=bucket_json())
    store = make_store(cache, url=URL, polling_interval=0)
    store.current()
    store._thread.join(2)
    assert not store.polling
    assert len(responses.calls) == 1
    store.close()


def test_no_poller_without_a_url(cache, bucket_path):
    store = make_store(cache, bucket_file=str(bucket_path), polling_interval=0.01)
    store.current()
    assert not store.polling


def test_bucket_changed_signal(cache, clock, bucket_path, caplog):
    seen = []

    def receiver(sender, store, bucket, version, **kwargs):
        seen.append((store, bucket.campaign_count, version))

    def broken(sender, **kwargs):
        raise RuntimeError("receiver bug")

    bucket_changed.connect(receiver)
    bucket_changed.connect(broken)
    try:
        with caplog.at_level(logging.ERROR, "django_flagship"):
            reader = make_store(cache, clock, bucket_file=str(bucket_path))
            reader.current()
            make_store(cache).store.load_file(str(DATA / "bucketing-v2.json"))
            for _ in range(3):
                clock.now += 5.0
                reader.current()
    finally:
        bucket_changed.disconnect(receiver)
        bucket_changed.disconnect(broken)
    reader_events = [event for event in seen if event[0] is reader.store]
    assert [count for _, count, _ in reader_events] == [5, 5]
    assert reader_events[0][2] != reader_events[1][2]  # two versions, one signal each
    assert colour(reader) == "green"
    assert any("bucket_changed receiver failed" in r.getMessage() for r in caplog.records)


@responses.activate
def test_a_flushed_cache_is_filled_again_even_when_the_cdn_would_say_304(cache):
    """A process that still holds the bucket must not ask with its own Last-Modified."""

    def serve(request):
        if request.headers.get("If-Modified-Since") == LAST_MODIFIED:
            return (304, {}, "")
        return (200, {"Last-Modified": LAST_MODIFIED}, json.dumps(bucket_json()))

    responses.add_callback(responses.GET, URL, callback=serve)
    store = make_store(cache, url=URL)
    assert store.refresh(force=True).updated
    cache.inner.clear()  # FLUSHDB, an eviction, a new Redis
    store.refresh(force=True)
    assert "If-Modified-Since" not in responses.calls[1].request.headers
    entry = cache.inner.get("test:env:bucket")
    assert entry is not None
    assert entry["last_modified"] == LAST_MODIFIED
    assert colour(make_store(cache)) == "red"  # a new process finds it


def test_a_cache_that_refuses_some_keys_is_an_error(cache, bucket_path, monkeypatch):
    monkeypatch.setattr(cache.inner, "set_many", lambda data, timeout=None: list(data)[1:])
    store = make_store(cache)
    with pytest.raises(BucketError, match="the cache did not store test:env:"):
        store.store.load_file(str(bucket_path))


def test_a_thread_arriving_while_the_first_bucket_loads_waits_for_it(cache, bucket_path):
    """Under a threaded server the first requests of a process come together."""
    store = make_store(cache, bucket_file=str(bucket_path))
    loading, release = threading.Event(), threading.Event()
    original = store.store.read_file

    def slow_read(path, *, warn):
        loading.set()
        assert release.wait(5)
        return original(path, warn=warn)

    store.store.read_file = slow_read
    seen = {}
    first = threading.Thread(target=lambda: seen.setdefault("first", store.current()))
    first.start()
    assert loading.wait(5)
    second = threading.Thread(target=lambda: seen.setdefault("second", store.current()))
    second.start()
    second.join(0.2)
    assert second.is_alive()  # waiting, not answering "no bucket"
    release.set()
    first.join(5)
    second.join(5)
    assert seen["first"] is not None
    assert seen["second"] is seen["first"]


def test_without_any_bucket_a_request_makes_no_round_trip_within_the_interval(cache, clock):
    store = make_store(cache, clock=clock)
    assert store.current() is None
    calls = len(cache.calls)
    assert store.current() is None
    assert len(cache.calls) == calls
    clock.now += 10
    assert store.current() is None
    assert len(cache.calls) == calls + 1


def test_once_checked_a_process_without_a_bucket_never_waits_on_the_lock(cache, clock):
    store = make_store(cache, clock=clock)
    assert store.current() is None  # the first check
    clock.now += 10
    with store.store._check_lock:  # another thread is checking (a hanging cache, say)
        assert store.current() is None  # answers at once


# -- what the bucket in use is, for diagnostics ------------------------------------


def test_installed_is_the_bucket_in_use_without_a_round_trip(cache, clock, bucket_path):
    store = make_store(cache, clock, bucket_file=str(bucket_path))
    assert store.installed is None
    bucket = store.current()
    cache.calls.clear()
    clock.now += 60.0  # a check is due: current() would ask the cache, installed does not
    assert store.installed is bucket
    assert cache.calls == []


def test_stored_at_is_when_the_bucket_was_stored_in_the_cache(cache, clock, bucket_path):
    seeder = make_store(cache, bucket_file=str(bucket_path))
    seeder.current()
    entry = cache.inner.get("test:env:bucket")
    assert seeder.store.stored_at == entry["stored_at"]
    # Another process, later, reads the same entry: the same time, not its own.
    cache.inner.set("test:env:bucket", {**entry, "stored_at": 1_700_000_000.5}, timeout=None)
    reader = make_store(cache, bucket_file=str(bucket_path))
    reader.current()
    assert reader.store.stored_at == 1_700_000_000.5

    writer = make_store(cache, bucket_file=str(bucket_path))
    writer.store.load_file(str(DATA / "bucketing-v2.json"))
    assert writer.store.stored_at == cache.inner.get("test:env:bucket")["stored_at"]


@responses.activate
def test_stored_at_of_a_download(cache):
    responses.get(URL, json=bucket_json(), headers={"Last-Modified": LAST_MODIFIED})
    store = make_store(cache, url=URL)
    store.refresh()
    assert store.store.stored_at == cache.inner.get("test:env:bucket")["stored_at"]
    assert store.last_modified == LAST_MODIFIED


@pytest.mark.parametrize("stored_at", ["yesterday", None, True, float("nan"), -5, float("inf")])
def test_a_cached_stored_at_that_is_not_a_time_is_unknown(cache, bucket_path, stored_at):
    make_store(cache, bucket_file=str(bucket_path)).current()
    entry = cache.inner.get("test:env:bucket")
    cache.inner.set("test:env:bucket", {**entry, "stored_at": stored_at}, timeout=None)
    reader = make_store(cache)
    assert colour(reader) == "red"  # the bucket is used all the same
    assert reader.store.stored_at is None


def test_a_bucket_file_read_by_this_process_alone_is_stored_now(cache, bucket_path, monkeypatch):
    monkeypatch.setattr("django_flagship.cache.time.time", lambda: 1_800_000_000.0)
    cache.down = True
    store = make_store(cache, bucket_file=str(bucket_path))
    assert colour(store) == "red"
    assert store.store.stored_at == 1_800_000_000.0
