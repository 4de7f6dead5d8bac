"""The Redis tests share their database with whatever else lives there.

A run of real Redis tests (worker processes, ``manage.py`` commands, requests
through Django's Redis cache) in a pytest of its own, with its own prefix:
keys it did not write survive, and it leaves none of its own behind.
"""

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests import redis_support

pytestmark = pytest.mark.redis

ROOT = Path(__file__).resolve().parents[2]

#: Tests that write through the Django cache in this process and in others.
REDIS_TESTS = [
    "tests/django/test_redis.py::test_a_refresh_in_one_process_is_seen_by_another",
    "tests/django/test_redis.py::test_requests_with_redis_as_the_cache",
]


def ours(connection) -> set[bytes]:
    """The keys that this project's code could have written (its namespace is ``flagship``)."""
    return set(connection.scan_iter(match="*flagship*", count=500))


def test_a_redis_test_run_deletes_only_its_own_keys(redis_url):
    import redis

    connection = redis.Redis.from_url(redis_url)
    token = uuid.uuid4().hex
    sentinel = f"sentinel-{token}"
    # Another site's cache entry on the same database, shaped like ours.
    neighbour = f"neighbour-{token}:1:flagship:local:bucket"
    child_prefix = f"flagship-isolation-{token}"
    connection.set(sentinel, b"keep me")
    connection.set(neighbour, b"keep me too")
    try:
        before = ours(connection)
        run = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", *REDIS_TESTS],
            capture_output=True,
            text=True,
            env={
                **os.environ,
                "CI": "true",  # a skipped Redis test would prove nothing
                "FLAGSHIP_TEST_REDIS_URL": redis_url,
                "FLAGSHIP_TEST_REDIS_PREFIX": child_prefix,
            },
            cwd=ROOT,
            timeout=120,
        )
        after = ours(connection)
        assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
        assert f"{len(REDIS_TESTS)} passed" in run.stdout
        assert connection.get(sentinel) == b"keep me"
        assert connection.get(neighbour) == b"keep me too"
        # Nothing written outside the prefix (by this process or its children)...
        assert {key for key in after - before if not key.startswith(child_prefix.encode())} == set()
        # ...and nothing left under it.
        assert list(connection.scan_iter(match=f"{child_prefix}:*")) == []
    finally:
        connection.delete(sentinel, neighbour)
        redis_support.delete_keys(connection, child_prefix)
        connection.close()


def test_a_cache_clear_deletes_only_the_prefix(redis_url, settings):
    import redis
    from django.core.cache import caches

    connection = redis.Redis.from_url(redis_url)
    sentinel = f"sentinel-{uuid.uuid4().hex}"
    connection.set(sentinel, b"keep me")
    try:
        settings.CACHES = {"default": redis_support.cache_settings(redis_url)}
        cache = caches["default"]
        cache.set("flagship:test:entry", 1)
        assert connection.exists(f"{redis_support.PREFIX}:1:flagship:test:entry")
        cache.clear()
        assert cache.get("flagship:test:entry") is None
        assert connection.get(sentinel) == b"keep me"
    finally:
        connection.delete(sentinel)
        connection.close()


@pytest.mark.parametrize("prefix", ["", "*", "short", "flagship-test-*", "a b c d e f g h"])
def test_a_prefix_that_would_widen_the_delete_is_refused(prefix):
    with pytest.raises(ValueError, match="refusing"):
        redis_support.delete_keys(None, prefix)
