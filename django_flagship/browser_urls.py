"""Routes of the browser side: ``path("flagship/", include("django_flagship.browser_urls"))``.

Kept apart from :mod:`django_flagship.urls` (the Decision API), which is
meant for other programs and has no CSRF protection; these routes serve the
site's own pages.
"""

from django.urls import path

from . import browser

__all__ = ["app_name", "urlpatterns"]

app_name = "flagship_browser"

urlpatterns = [
    path("events/", browser.track_event, name="track"),
]
