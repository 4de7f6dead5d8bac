"""Routes of the Decision API: ``path("decision-api/", include("django_flagship.urls"))``.

``include("django_flagship.decision_api.urls")`` is the same.
"""

from django.urls import path, re_path

from . import views

__all__ = ["app_name", "urlpatterns"]

app_name = "flagship_decision_api"

urlpatterns = [
    # v1, the reference's contract
    path("v1/activate", views.v1_activate, name="v1-activate"),
    path("v1/<str:env_id>/campaigns", views.v1_campaigns, name="v1-campaigns"),
    path("v1/<str:env_id>/campaigns/", views.v1_campaigns),
    path("v1/<str:env_id>/campaigns/<str:campaign_id>", views.v1_campaign, name="v1-campaign"),
    # v2, as Flagship's hosted API (the official SDKs add the trailing slash)
    path("v2/activate", views.v2_activate, name="v2-activate"),
    path("v2/campaigns", views.v2_campaigns, name="v2-campaigns-by-key"),
    path("v2/campaigns/", views.v2_campaigns),
    path("v2/campaigns/<str:campaign_id>", views.v2_campaign, name="v2-campaign-by-key"),
    path("v2/<str:env_id>/campaigns", views.v2_campaigns, name="v2-campaigns"),
    path("v2/<str:env_id>/campaigns/", views.v2_campaigns),
    path("v2/<str:env_id>/campaigns/<str:campaign_id>", views.v2_campaign, name="v2-campaign"),
    # anything else under the prefix: a JSON 404 like every other refusal
    re_path(r"", views.not_found, name="not-found"),
]
