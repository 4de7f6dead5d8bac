from django.urls import path

from . import views

urlpatterns = [
    path("send/", views.send),
    path("flush/", views.flush),
    path("page/", views.page),
    path("async-page/", views.async_page),
    path("json/", views.json_page),
    path("redirect/", views.redirect_page),
    path("consent/", views.consent),
]
