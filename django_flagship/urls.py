"""Routes of the Decision API: ``path("decision-api/", include("django_flagship.urls"))``.

The documented path; the routes live in :mod:`django_flagship.decision_api.urls`.
"""

from .decision_api.urls import app_name, urlpatterns

__all__ = ["app_name", "urlpatterns"]
