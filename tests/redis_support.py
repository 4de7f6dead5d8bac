"""The tests' share of a Redis database: the keys under one prefix, unique to the run.

The database may hold other people's data (database 9 of 127.0.0.1:6379 unless
``FLAGSHIP_TEST_REDIS_URL`` names another), so the tests never flush it: every
key they write starts with :data:`PREFIX`, and they delete only those keys.
The prefix travels to the processes the tests start (bucket workers,
``manage.py`` commands, gunicorn) through ``FLAGSHIP_TEST_REDIS_PREFIX``.
"""

import os
import re
import uuid
from typing import Any

from django.core.cache.backends.redis import RedisCache

DEFAULT_URL = "redis://127.0.0.1:6379/9"
URL = os.environ.get("FLAGSHIP_TEST_REDIS_URL") or DEFAULT_URL

_SAFE_PREFIX = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{7,63}")

#: How the runs' prefixes (and the sentinels of :func:`tests.conftest.redis_url`) start.
RUN_PREFIX = "flagship-test-"
#: This run's prefix: set once by the first process, inherited by its children.
PREFIX = os.environ.setdefault("FLAGSHIP_TEST_REDIS_PREFIX", f"{RUN_PREFIX}{uuid.uuid4().hex}")
if not _SAFE_PREFIX.fullmatch(PREFIX):
    # A glob character or an empty prefix would widen the deletes below.
    raise RuntimeError(
        f"FLAGSHIP_TEST_REDIS_PREFIX={PREFIX!r} must be 8 to 64 letters, digits, '_', '.' or '-'"
    )


class PrefixedRedisCache(RedisCache):
    """Django's Redis cache whose ``clear()`` deletes this cache's keys, not the database.

    Django's own ``clear()`` runs FLUSHDB whatever ``KEY_PREFIX`` says.
    """

    def clear(self) -> None:
        if not self.key_prefix:
            raise RuntimeError("a test Redis cache needs a KEY_PREFIX")
        delete_keys(self._cache.get_client(write=True), self.key_prefix)


def cache_settings(url: str = URL) -> dict[str, Any]:
    """A ``CACHES`` entry on ``url`` whose keys all start with ``PREFIX``."""
    return {
        "BACKEND": "tests.redis_support.PrefixedRedisCache",
        "LOCATION": url,
        "KEY_PREFIX": PREFIX,
    }


def delete_keys(connection: Any, prefix: str = PREFIX) -> int:
    """Delete the keys that start with ``prefix + ":"``; how many there were."""
    if not _SAFE_PREFIX.fullmatch(prefix):
        raise ValueError(f"refusing to delete keys under {prefix!r}")
    deleted = 0
    batch: list[bytes] = []
    for key in connection.scan_iter(match=f"{prefix}:*", count=500):
        batch.append(key)
        if len(batch) == 500:
            deleted += connection.delete(*batch)
            batch.clear()
    if batch:
        deleted += connection.delete(*batch)
    return deleted


def keys_like_ours(connection: Any) -> set[bytes]:
    """Keys a test could have written outside every test run's prefix.

    Those of a Django cache without ``KEY_PREFIX`` (``:1:...``) and any naming
    this project: a test that writes through an unprefixed cache adds to these.
    """
    own = (RUN_PREFIX.encode(), PREFIX.encode())
    found: set[bytes] = set()
    for pattern in (":*", "*flagship*"):
        found.update(
            key for key in connection.scan_iter(match=pattern, count=500) if not key.startswith(own)
        )
    return found
