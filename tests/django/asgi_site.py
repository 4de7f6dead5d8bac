"""Settings, URLs and views of an async site in DECISION_API mode, served by uvicorn in tests.

``FLAGSHIP_TEST_DECISION_API_URL`` is the test's loopback Decision API. The
visitor id is the ``v`` query parameter: no session, no database. Flags are
read the three async ways: ``aget``, ``@flag_required`` and
``FlagRequiredMixin``.
"""

import atexit
import os
import time

from django.http import HttpResponse, JsonResponse
from django.urls import path
from django.views import View

from django_flagship.decorators import flag_required
from django_flagship.mixins import FlagRequiredMixin

SECRET_KEY = "tests-only-not-secret"
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
FLAGSHIP_ENV_ID = "env-asgi"
FLAGSHIP_API_KEY = "key-asgi"
FLAGSHIP_DECISION_API_URL = os.environ.get("FLAGSHIP_TEST_DECISION_API_URL", "")
FLAGSHIP_TIMEOUT = 10.0
FLAGSHIP_VISITOR_ID = "tests.django.asgi_site.visitor_id"
FLAGSHIP_TRACKER = "tests.django.support.memory_tracker"


# Registered first, so run last at exit: the test then sees whether the
# connections were closed by the shutdown or would only go with the process.
atexit.register(time.sleep, float(os.environ.get("FLAGSHIP_TEST_LINGER_AT_EXIT", "0")))


def visitor_id(request):
    return request.GET.get("v") or "visitor"


async def flag(request):
    return JsonResponse({"color": await request.flags.aget("btn_color", "blue")})


@flag_required("vip_feature")
async def vip(request):
    return HttpResponse("vip")


class VipView(FlagRequiredMixin, View):
    flag_key = "vip_feature"

    async def get(self, request):
        return HttpResponse("vip class")


async def ping(request):
    return HttpResponse("pong")


urlpatterns = [
    path("flag", flag),
    path("vip", vip),
    path("vip-class", VipView.as_view()),
    path("ping", ping),
]
