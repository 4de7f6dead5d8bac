from django.contrib import admin
from django.http import HttpResponse
from django.urls import path


def home(request):
    return HttpResponse("<h1>django-flagship example shop</h1>")


urlpatterns = [
    path("", home, name="home"),
    path("admin/", admin.site.urls),
]
