"""``path("flagship/", include("django_flagship.authoring.urls"))``: the served bucketing file.

With that line, ``/flagship/<env_id>/bucketing.json`` answers as Flagship's CDN
does; see :mod:`.views`.
"""

from django.urls import path

from . import views

__all__ = ["app_name", "urlpatterns"]

app_name = "flagship_bucketing"

urlpatterns = [
    path("<str:env_id>/bucketing.json", views.bucketing_file, name="bucketing-file"),
]
