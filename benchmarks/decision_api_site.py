"""Settings, URLs and a ceiling view for ``benchmarks/decision_api.py``, in one module.

gunicorn loads Django with ``DJANGO_SETTINGS_MODULE=decision_api_site``; the
bucketing file comes from ``BENCH_BUCKET_FILE``. Nothing here touches the
network: the bucket is a local file and activations go to memory.
"""

import os

from django.http import HttpResponse
from django.urls import include, path

SECRET_KEY = "benchmark-only-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1"]
ROOT_URLCONF = __name__
INSTALLED_APPS = ["django_flagship"]
MIDDLEWARE: list[str] = []
DATABASES: dict = {}
USE_TZ = True
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "WARNING"}}

FLAGSHIP_MODE = "BUCKETING"
FLAGSHIP_BUCKET_FILE = os.environ.get("BENCH_BUCKET_FILE", "")
FLAGSHIP_POLLING_INTERVAL = 0
FLAGSHIP_TRACKER = "decision_api_site.memory_tracker"
FLAGSHIP_DECISION_API_ENVIRONMENTS = {"bench-env": ["bench-key"]}


def memory_tracker(config):
    from django_flagship.sdk.tracking import MemoryTracker

    return MemoryTracker()


def ceiling(request):
    """The cheapest JSON answer Django can give: the benchmark's ceiling."""
    return HttpResponse(b'{"ok":true}', content_type="application/json")


urlpatterns = [
    path("ceiling", ceiling),
    path("decision-api/", include("django_flagship.urls")),
]
