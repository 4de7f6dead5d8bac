"""The test views behind django-debug-toolbar (tests/django/test_debug_toolbar.py)."""

from debug_toolbar.toolbar import debug_toolbar_urls
from django.http import HttpResponse
from django.urls import path


def read(request):
    color = request.flags.get("btn_color", "blue")
    vip = request.flags.get("vip_feature", False)
    return HttpResponse(f"<html><body><p>{color} {vip}</p></body></html>")


def nothing(request):
    return HttpResponse("<html><body><p>no flags</p></body></html>")


urlpatterns = [
    path("toolbar/read/", read),
    path("toolbar/nothing/", nothing),
    *debug_toolbar_urls(),
]
