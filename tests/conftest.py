import os
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "django" / "data"


def redis_available(url: str = "redis://127.0.0.1:6379/9") -> bool:
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
    """A Redis database of the tests' own, flushed before and after.

    Skipped when Redis is unreachable, except under CI=true, where that is a failure.
    """
    url = os.environ.get("FLAGSHIP_TEST_REDIS_URL", "redis://127.0.0.1:6379/9")
    if not redis_available(url):
        if os.environ.get("CI") == "true":
            pytest.fail(f"Redis is required under CI but {url} is unreachable (make services)")
        pytest.skip(f"Redis is unreachable at {url}")
    import redis

    connection = redis.Redis.from_url(url)
    connection.flushdb()
    yield url
    connection.flushdb()
    connection.close()
