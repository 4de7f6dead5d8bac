"""Settings, URLs and views for ``benchmarks/async_decision_api.py``, in one module.

uvicorn loads Django with ``DJANGO_SETTINGS_MODULE=async_decision_api_site``;
the Decision API is the benchmark's loopback one (``BENCH_DECISION_API_URL``)
and ``BENCH_LATENCY`` is its delay, which ``/sleep`` waits for too. The
visitor id is the ``v`` query parameter: no session, no database.
"""

import asyncio
import os

from django.http import JsonResponse
from django.urls import path

SECRET_KEY = "benchmark-only-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1"]
ROOT_URLCONF = __name__
INSTALLED_APPS = ["django_flagship"]
MIDDLEWARE = ["django_flagship.middleware.FlagshipMiddleware"]
DATABASES: dict = {}
USE_TZ = True
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "WARNING"}}

FLAGSHIP_MODE = "DECISION_API"
FLAGSHIP_ENV_ID = "bench-env"
FLAGSHIP_API_KEY = "bench-key"
FLAGSHIP_DECISION_API_URL = os.environ.get("BENCH_DECISION_API_URL", "http://127.0.0.1:9/v2")
FLAGSHIP_TIMEOUT = 10.0
FLAGSHIP_VISITOR_ID = "async_decision_api_site.visitor_id"
FLAGSHIP_TRACKER = "async_decision_api_site.memory_tracker"

LATENCY = float(os.environ.get("BENCH_LATENCY", "0.05"))


def visitor_id(request):
    return request.GET.get("v") or "visitor"


def memory_tracker(config):
    """Activations kept in memory (the latest 1000): the benchmark measures decisions."""
    from django_flagship.sdk.tracking import MemoryTracker

    return MemoryTracker()


async def flag(request):
    """An async view reading one flag: one Decision API call."""
    return JsonResponse({"vip": await request.flags.aget("vip_feature", False)})


async def sleep(request):
    """The baseline: an async view that waits as long as the Decision API answers."""
    await asyncio.sleep(LATENCY)
    return JsonResponse({"vip": False})


async def plain(request):
    """The server's own ceiling: an async view that waits for nothing."""
    return JsonResponse({"vip": False})


urlpatterns = [path("flag", flag), path("sleep", sleep), path("plain", plain)]
