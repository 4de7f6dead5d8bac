"""A site deciding from its authored campaigns, the bucket in Redis: for gunicorn workers."""

import os

from django.core.exceptions import ImproperlyConfigured

from tests.settings import *  # noqa: F403

if "FLAGSHIP_TEST_REDIS_PREFIX" not in os.environ:
    # Without it every key would go outside the test run's share of the database.
    raise ImproperlyConfigured("the site's test passes FLAGSHIP_TEST_REDIS_PREFIX")

from tests import redis_support

DATABASES = {
    "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": os.environ["SITE_DATABASE"]}
}
CACHES = {"default": redis_support.cache_settings(os.environ["FLAGSHIP_TEST_REDIS_URL"])}
ROOT_URLCONF = "tests.authoring.site.urls"
FLAGSHIP_BUCKET_SOURCE = "local"
FLAGSHIP_ENV_ID = "site-env"
FLAGSHIP_POLLING_INTERVAL = float(os.environ["FLAGSHIP_POLLING_INTERVAL"])
FLAGSHIP_BUCKET_CHECK_INTERVAL = float(os.environ["FLAGSHIP_BUCKET_CHECK_INTERVAL"])
FLAGSHIP_HIT_SINK = "memory"
