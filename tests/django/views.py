"""Views the tests drive through the Django test client."""

from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.views import View
from django.views.generic import TemplateView

from django_flagship.decorators import flag_required
from django_flagship.mixins import FlagRequiredMixin
from django_flagship.sdk.hits import Event, EventCategory


def read(request):
    """Reads the flags named in ?key=...&default=... (default typed by ?type=)."""
    kind = request.GET.get("type", "bool")
    defaults = {"bool": False, "str": "", "int": 0, "float": 0.0, "none": None}
    values = {key: request.flags.get(key, defaults[kind]) for key in request.GET.getlist("key")}
    return JsonResponse(
        {
            "values": values,
            "visitor_id": request.flags.visitor_id,
            "anonymous_id": request.flags.anonymous_id,
        }
    )


def untouched(request):
    return HttpResponse("no flag read")


def everything(request):
    return JsonResponse({"flags": request.flags.all(), "info": request.flags.info("ab_color")})


def send_event(request):
    sent = request.flags.send_hit(Event(EventCategory.ACTION_TRACKING, "click"))
    return JsonResponse({"sent": sent})


def page(request):
    return render(request, "flagship_tests/page.html", {"name": "btn_color"})


async def async_read(request):
    value = await request.flags.aget("vip_feature", False)
    color = await request.flags.aget("btn_color", "blue")
    return JsonResponse(
        {
            "vip": value,
            "color": color,
            "has": await request.flags.ahas("max_items"),
            "all": await request.flags.aall(),
            "visitor_id": request.flags.visitor_id,
        }
    )


async def async_template(request):
    await request.flags.aload()
    return render(request, "flagship_tests/page.html", {"name": "btn_color"})


@flag_required("vip_feature")
def vip_only(request):
    return HttpResponse("vip")


@flag_required("off_feature", redirect_to="/home/")
def off_redirect(request):
    return HttpResponse("never")


@flag_required("vip_feature")
async def async_vip_only(request):
    return HttpResponse("async vip")


@flag_required("off_feature")
async def async_off(request):
    return HttpResponse("never")


class VipView(FlagRequiredMixin, View):
    flag_key = "vip_feature"

    def get(self, request):
        return HttpResponse("vip class")


class OffView(FlagRequiredMixin, TemplateView):
    flag_key = "off_feature"
    flag_redirect_to = "/home/"
    template_name = "flagship_tests/page.html"


class AsyncVipView(FlagRequiredMixin, View):
    flag_key = "vip_feature"

    async def get(self, request):
        return HttpResponse("async vip class")


class AsyncOffView(FlagRequiredMixin, View):
    flag_key = "off_feature"

    async def get(self, request):
        return HttpResponse("never")
