from django.urls import path

from . import views

urlpatterns = [
    path("ready/", views.ready),
    path("hit/<str:label>/", views.send_hit),
]
