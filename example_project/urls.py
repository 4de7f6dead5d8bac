from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

urlpatterns = [
    path("", include("example_project.shop.urls")),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    # track() in flagship.js posts the browser's events here.
    path("flagship/", include("django_flagship.browser_urls")),
    # The bucketing file, for other services' Flagship SDKs: /flagship/<env>/bucketing.json
    path("flagship/", include("django_flagship.authoring.urls")),
    # Flagship's Decision API, answered from the bucket this site holds.
    path("decision-api/", include("django_flagship.urls")),
    path("admin/", admin.site.urls),
]

if getattr(settings, "EXAMPLE_DEBUG_TOOLBAR", False):
    from debug_toolbar.toolbar import debug_toolbar_urls

    urlpatterns += debug_toolbar_urls()
