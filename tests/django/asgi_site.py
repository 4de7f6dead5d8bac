"""The benchmark's async site (``benchmarks/async_decision_api_site.py``) with more views.

The settings are the benchmark's: DECISION_API mode on the loopback Decision
API at ``BENCH_DECISION_API_URL``, the visitor id from ``?v=``, no session,
no database. Flags are read the three async ways: ``aget`` (``/flag``),
``@flag_required`` (``/vip``) and ``FlagRequiredMixin`` (``/vip-class``);
``/plain`` reads none.
"""

import atexit
import os
import time

from async_decision_api_site import *  # noqa: F403 (benchmarks/ is on the path)
from async_decision_api_site import flag, plain
from django.http import HttpResponse
from django.urls import path
from django.views import View

from django_flagship.decorators import flag_required
from django_flagship.mixins import FlagRequiredMixin

ROOT_URLCONF = __name__

# The process lingers at exit: the test sees whether the connections were
# closed by the shutdown, or would only go with the process.
atexit.register(time.sleep, float(os.environ.get("FLAGSHIP_TEST_LINGER_AT_EXIT", "0")))


@flag_required("vip_feature")
async def vip(request):
    return HttpResponse("vip")


class VipView(FlagRequiredMixin, View):
    flag_key = "vip_feature"

    async def get(self, request):
        return HttpResponse("vip class")


urlpatterns = [
    path("flag", flag),
    path("vip", vip),
    path("vip-class", VipView.as_view()),
    path("plain", plain),
]
