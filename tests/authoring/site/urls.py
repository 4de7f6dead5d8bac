import os

from django.contrib import admin
from django.http import JsonResponse
from django.urls import include, path

from django_flagship.client import get_store


def flag(request, key):
    """The flag for the visitor ``?v=``, and which worker and which bucket answered."""
    from django_flagship.flags import Flags

    value = Flags(request.GET.get("v", "visitor"), {"isVip": True}).get(key, None)
    store = get_store()
    return JsonResponse(
        {
            "pid": os.getpid(),
            "value": value,
            "version": store.version,
            "last_modified": store.last_modified,
        }
    )


urlpatterns = [
    path("admin/", admin.site.urls),
    path("flag/<str:key>", flag),
    path("flagship/", include("django_flagship.authoring.urls")),
]
