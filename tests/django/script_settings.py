"""Settings of the short-lived script in ``test_flags_for``: hits go to the test's collector."""

import os
from pathlib import Path

SECRET_KEY = "tests-only-not-secret"
USE_TZ = True
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django_flagship",
]
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

COLLECTOR_URL = os.environ["COLLECTOR_URL"]
# An environment id and no API key: the collector needs none.
FLAGSHIP_ENV_ID = "script-env"
FLAGSHIP_BUCKET_FILE = str(Path(__file__).parent / "data" / "bucketing.json")
FLAGSHIP_BUCKETING_URL = f"{COLLECTOR_URL}/bucketing.json"
FLAGSHIP_POLLING_INTERVAL = 0  # the bucket file seeds the cache: nothing is downloaded
FLAGSHIP_EVENTS_URL = f"{COLLECTOR_URL}/events"
FLAGSHIP_ACTIVATE_URL = f"{COLLECTOR_URL}/activate"
# Nothing would leave before the exit flush: no timer, no full batch, no spool.
FLAGSHIP_HIT_FLUSH_INTERVAL = 60.0
FLAGSHIP_HIT_BATCH_SIZE = 1000
FLAGSHIP_HIT_SPOOL_DIR = False
