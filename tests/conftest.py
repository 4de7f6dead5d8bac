import os
import uuid
from pathlib import Path

import pytest

from tests import redis_support

DATA = Path(__file__).parent / "django" / "data"


def redis_available(url: str = redis_support.URL) -> bool:
    try:
        import redis
    except ImportError:
        return False
    try:
        redis.Redis.from_url(url, socket_connect_timeout=0.5).ping()
    except redis.RedisError:
        return False
    return True


@pytest.fixture
def redis_url():
    """The tests' Redis: only keys under ``redis_support.PREFIX``, deleted before and after.

    The test fails if it deleted a key it had not written (a sentinel set
    before it must survive) or wrote one outside the prefix. Skipped when
    Redis is unreachable, except under CI=true, where that is a failure.
    """
    url = redis_support.URL
    if not redis_available(url):
        if os.environ.get("CI") == "true":
            pytest.fail(f"Redis is required under CI but {url} is unreachable (make services)")
        pytest.skip(f"Redis is unreachable at {url}")
    import redis

    connection = redis.Redis.from_url(url)
    sentinel = f"{redis_support.RUN_PREFIX}sentinel-{uuid.uuid4().hex}"
    connection.set(sentinel, b"1", ex=3600)  # gone within the hour should a run die
    before = redis_support.keys_like_ours(connection)
    redis_support.delete_keys(connection)
    yield url
    try:
        survived = connection.get(sentinel) == b"1"
        written = redis_support.keys_like_ours(connection) - before
    finally:
        redis_support.delete_keys(connection)
        connection.delete(sentinel)
        connection.close()
    assert survived, f"the test deleted Redis keys it had not written (FLUSHDB?) on {url}"
    assert not written, f"written outside {redis_support.PREFIX}: {sorted(written)[:5]}"
