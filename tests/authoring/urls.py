from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("decision-api/", include("django_flagship.urls")),
    path("flagship/", include("django_flagship.authoring.urls")),
]
