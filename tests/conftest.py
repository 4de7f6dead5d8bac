import os
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

    Skipped when Redis is unreachable, except under CI=true, where that is a failure.
    """
    url = redis_support.URL
    if not redis_available(url):
        if os.environ.get("CI") == "true":
            pytest.fail(f"Redis is required under CI but {url} is unreachable (make services)")
        pytest.skip(f"Redis is unreachable at {url}")
    import redis

    connection = redis.Redis.from_url(url)
    redis_support.delete_keys(connection)
    yield url
    redis_support.delete_keys(connection)
    connection.close()
