"""A tiny site served by gunicorn in the tests; the test passes everything in the environment."""

import os

SECRET_KEY = "tests-only-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
ROOT_URLCONF = "tests.hits.site.urls"
USE_TZ = True
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django_flagship",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_flagship.middleware.FlagshipMiddleware",
]
SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"stderr": {"class": "logging.StreamHandler"}},
    "loggers": {"django_flagship": {"handlers": ["stderr"], "level": "INFO"}},
}

FLAGSHIP_ENV_ID = os.environ["SITE_ENV_ID"]
FLAGSHIP_API_KEY = "site-api-key"
FLAGSHIP_MODE = "BUCKETING"
FLAGSHIP_BUCKET_FILE = os.environ["SITE_BUCKET_FILE"]
FLAGSHIP_EVENTS_URL = os.environ["SITE_EVENTS_URL"]
FLAGSHIP_ACTIVATE_URL = os.environ["SITE_ACTIVATE_URL"]
FLAGSHIP_TIMEOUT = 1.0
FLAGSHIP_VISITOR_ID = "tests.hits.site.views.visitor_id"
FLAGSHIP_BUCKETING_URL = "http://127.0.0.1:9/{env_id}/bucketing.json"  # never downloaded
FLAGSHIP_POLLING_INTERVAL = 0
FLAGSHIP_HIT_FLUSH_INTERVAL = float(os.environ["SITE_FLUSH_INTERVAL"])
FLAGSHIP_HIT_BATCH_SIZE = int(os.environ["SITE_BATCH_SIZE"])
FLAGSHIP_HIT_SHUTDOWN_TIMEOUT = 1.0
FLAGSHIP_HIT_SPOOL_DIR = os.environ["SITE_SPOOL_DIR"]
