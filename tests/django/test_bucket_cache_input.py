"""The bucket's cache entries and downloads, against a real Redis and a CDN of the test's own.

Anything with write access to the cache could put an entry there: it is
checked as a download is, and refused with an error logged, every process
keeping its bucket. A value the cache cannot decode is said to be that, not
"the bucket cache is unreachable". Downloads are bounded in time and size.
"""

import json
import logging
import time
from io import StringIO

import pytest
import redis
from django.core.cache import caches
from django.core.management import call_command
from django.core.management.base import CommandError

from django_flagship.polling import cache_bucket_poller
from django_flagship.sdk.bucket_limits import BucketLimits
from tests import redis_support
from tests.cdn import serving
from tests.conftest import DATA

pytestmark = pytest.mark.redis

NAMESPACE = "test:input"
GOOD = (DATA / "bucketing.json").read_bytes()
V2 = (DATA / "bucketing-v2.json").read_bytes()


@pytest.fixture
def redis_cache(settings, redis_url):
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        "redis": redis_support.cache_settings(redis_url),
    }
    return caches["redis"]


def make_store(redis_cache, **kwargs):
    kwargs.setdefault("check_interval", 0)
    kwargs.setdefault("polling_interval", 0)
    return cache_bucket_poller(
        lambda: redis_cache, namespace=NAMESPACE, url=kwargs.pop("url", None), **kwargs
    )


def plant(redis_cache, entry):
    """Write ``entry`` as the cached bucket and move the pointer to it."""
    version = entry.get("version", "planted") if isinstance(entry, dict) else "planted"
    redis_cache.set(f"{NAMESPACE}:bucket", entry, timeout=None)
    redis_cache.set(f"{NAMESPACE}:bucket-version", {"version": version}, timeout=None)


def planted(text, **extra):
    return {"version": "planted", "last_modified": None, "text": text, **extra}


BAD_ENTRIES = {
    "empty-object": planted("{}"),
    "null-campaigns": planted('{"campaigns": null}'),
    "a-list": planted("[]"),
    "not-json": planted("{not json"),
    "deep": planted('{"campaigns": [' + "[" * 50_000 + "]" * 50_000 + "]}"),
    "surrogate": planted('{"campaigns": [{"id": "\\ud800"}]}'),
    "too-many-groups": planted(
        json.dumps({"campaigns": [{"id": "c", "variationGroups": [{"id": "g"}] * 1_001}]})
    ),
    "no-text": {"version": "planted"},
    "text-not-a-string": planted(12),
    "entry-a-string": "{}",
    "entry-a-list": ["{}"],
}


@pytest.mark.parametrize("name", sorted(BAD_ENTRIES))
def test_a_planted_entry_is_refused_and_every_process_keeps_its_bucket(
    redis_cache, bucket_path, caplog, name
):
    store = make_store(redis_cache, bucket_file=str(bucket_path))
    good = store.current()
    assert good is not None
    assert good.campaign_count > 0
    plant(redis_cache, BAD_ENTRIES[name])
    with caplog.at_level(logging.ERROR, "django_flagship"):
        for _ in range(3):  # the pointer moves, then the entry is fetched, then again
            assert store.current() is good
    unusable = [r for r in caplog.records if "cached bucket is unusable" in r.getMessage()]
    assert len(unusable) == 1  # not again until another version appears
    assert "keeping the current one" in unusable[0].getMessage()
    # A new process finds no usable bucket: it serves none (defaults), not an empty one.
    assert make_store(redis_cache).current() is None


def test_an_entry_over_the_size_bound_is_refused(redis_cache, bucket_path, caplog):
    limits = BucketLimits(max_bytes=len(GOOD) + 100)
    store = make_store(redis_cache, bucket_file=str(bucket_path), limits=limits)
    good = store.current()
    plant(redis_cache, planted(GOOD.decode() + " " * 200))
    with caplog.at_level(logging.ERROR, "django_flagship"):
        store.current()
        assert store.current() is good
        assert make_store(redis_cache, limits=limits).current() is None
        assert make_store(redis_cache).current() is not None  # within the default bound
    assert "the cached bucket is larger than the limit" in caplog.text


def test_a_value_the_cache_cannot_decode_is_named_and_a_download_replaces_it(
    redis_cache, redis_url, caplog
):
    with serving(GOOD) as cdn:
        store = make_store(redis_cache, url=cdn.url)
        assert store.refresh(force=True).updated
        good = store.current()
        cdn.not_modified = True  # a conditional request would get 304
        # Another program writes the key: Django's Redis cache cannot unpickle it.
        raw = redis.Redis.from_url(redis_url)
        raw.set(redis_cache.make_key(f"{NAMESPACE}:bucket"), b"\x80\x05not a pickle")
        raw.set(redis_cache.make_key(f"{NAMESPACE}:bucket-version"), b"garbage")
        with caplog.at_level(logging.INFO, "django_flagship"):
            assert store.current() is good  # the pointer cannot be decoded
            newcomer = make_store(redis_cache)
            assert newcomer.current() is None  # the entry cannot be decoded
            messages = [r.getMessage() for r in caplog.records]
            assert not any("unreachable" in m for m in messages)
            assert sum("cannot be decoded" in m for m in messages) == 2
            assert "the next download replaces it" in messages[0]
            # The next download asks for the whole file and heals the cache.
            cdn.body = V2
            assert store.refresh(force=True).updated
        assert "if-modified-since" not in cdn.requests[-1]
    assert newcomer.current() is not None  # its next check reads the healed entry
    assert newcomer.version == store.version


def test_a_refused_entry_is_replaced_by_the_next_download_even_if_unchanged(redis_cache, caplog):
    with serving(GOOD) as cdn:
        cdn.not_modified = True
        store = make_store(redis_cache, url=cdn.url)
        assert store.refresh(force=True).updated
        good = store.current()
        plant(redis_cache, planted("{}", last_modified=cdn.last_modified))
        with caplog.at_level(logging.ERROR, "django_flagship"):
            store.current()
            assert store.current() is good
        # The CDN would answer 304 to the planted entry's Last-Modified: it is not asked.
        assert store.refresh(force=True).updated
        assert "if-modified-since" not in cdn.requests[-1]
    assert make_store(redis_cache).current().campaign_count == good.campaign_count


def refresh_command():
    out = StringIO()
    call_command("flagship_refresh_bucket", stdout=out)
    return out.getvalue()


@pytest.fixture
def online(settings, redis_url):
    """The app on Redis, downloading from a CDN of the test's own."""
    settings.CACHES = {"default": redis_support.cache_settings(redis_url)}
    settings.FLAGSHIP_ENV_ID = "env"
    settings.FLAGSHIP_POLLING_INTERVAL = 0
    settings.FLAGSHIP_TIMEOUT = 1.0
    with serving(GOOD) as cdn:
        settings.FLAGSHIP_BUCKETING_URL = cdn.url_template
        yield cdn


def cached_text():
    return caches["default"].get("flagship:env:bucket")["text"]


def test_the_refresh_command_gives_up_a_trickling_cdn_at_the_deadline(online, settings, redis_url):
    assert refresh_command().startswith("Bucket updated")
    before = cached_text()
    settings.FLAGSHIP_BUCKET_DOWNLOAD_DEADLINE = 0.5
    online.body, online.chunk, online.pause = V2, 50, 0.05  # about 4.5 s in all
    sent = online.sent
    started = time.monotonic()
    with pytest.raises(CommandError, match=r"download deadline of 0\.5 s"):
        refresh_command()
    assert time.monotonic() - started < 0.5 + 1.0 + 0.5
    assert cached_text() == before
    assert online.sent - sent < len(V2) / 2


def test_the_refresh_command_refuses_a_file_over_the_size_bound(online, settings, redis_url):
    assert refresh_command().startswith("Bucket updated")
    before = cached_text()
    settings.FLAGSHIP_BUCKET_MAX_BYTES = 100_000
    head = b'{"campaigns": [], "padding": "'
    online.body = head + b"x" * 1_000_000 + b'"}'
    with pytest.raises(CommandError, match=r"by its Content-Length.*limit of 100,000 bytes"):
        refresh_command()
    online.send_length = False
    with pytest.raises(CommandError, match="larger than the limit of 100,000 bytes"):
        refresh_command()
    assert cached_text() == before


def wait_until(condition, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.02)
    return condition()


def test_the_polling_thread_keeps_the_last_good_bucket(redis_cache, caplog):
    limits = BucketLimits(max_bytes=len(GOOD) * 2, download_deadline=0.3)
    with serving(GOOD) as cdn:
        store = make_store(redis_cache, url=cdn.url, polling_interval=0.05, limits=limits)
        try:
            with caplog.at_level(logging.WARNING, "django_flagship"):
                store.current()  # the first check starts the poller, which downloads
                assert wait_until(lambda: store.current() is not None)
                good = store.current()
                for change, expected in (
                    ({"body": GOOD * 3}, "larger than the limit"),
                    ({"body": V2, "chunk": 50, "pause": 0.05}, "download deadline of 0.3 s"),
                ):
                    for name, value in change.items():
                        setattr(cdn, name, value)
                    cdn.last_modified = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime())
                    # The lock lets one download per interval: release it for this one.
                    redis_cache.delete(store.store.lock_key)
                    assert wait_until(lambda expected=expected: expected in caplog.text)
                    assert store.polling
                    assert store.current() is good
        finally:
            store.close()
    assert caplog.text.count("keeping the current bucket") >= 2
