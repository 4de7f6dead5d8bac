"""A site deciding from its authored campaigns, the bucket in Redis: for gunicorn workers."""

import os

from tests.settings import *  # noqa: F403

DATABASES = {
    "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": os.environ["SITE_DATABASE"]}
}
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": os.environ["FLAGSHIP_TEST_REDIS_URL"],
    }
}
ROOT_URLCONF = "tests.authoring.site.urls"
FLAGSHIP_BUCKET_SOURCE = "local"
FLAGSHIP_ENV_ID = "site-env"
FLAGSHIP_POLLING_INTERVAL = float(os.environ["FLAGSHIP_POLLING_INTERVAL"])
FLAGSHIP_BUCKET_CHECK_INTERVAL = float(os.environ["FLAGSHIP_BUCKET_CHECK_INTERVAL"])
FLAGSHIP_HIT_SINK = "memory"
