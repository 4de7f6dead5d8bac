"""Settings for the worker processes of test_redis.py: the bucket lives in Redis."""

import os

from tests import redis_support
from tests.settings import *  # noqa: F403

# Under the run's prefix, inherited from the test process through the environment.
CACHES = {"default": redis_support.cache_settings()}
FLAGSHIP_ENV_ID = os.environ.get("FLAGSHIP_ENV_ID", "")
FLAGSHIP_BUCKET_FILE = os.environ.get("FLAGSHIP_BUCKET_FILE") or None
FLAGSHIP_BUCKETING_URL = os.environ.get(
    "FLAGSHIP_BUCKETING_URL", "https://cdn.flagship.io/{env_id}/bucketing.json"
)
FLAGSHIP_BUCKET_CHECK_INTERVAL = float(os.environ.get("FLAGSHIP_BUCKET_CHECK_INTERVAL", "5"))
FLAGSHIP_POLLING_INTERVAL = float(os.environ.get("FLAGSHIP_POLLING_INTERVAL", "0"))
FLAGSHIP_TRACKER = "tests.django.support.memory_tracker"
