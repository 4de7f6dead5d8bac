from django.urls import include, path

urlpatterns = [
    path("decision-api/", include("django_flagship.urls")),
    path("flagship/", include("django_flagship.authoring.urls")),
]
