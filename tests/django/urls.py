from django.urls import path

from . import views

urlpatterns = [
    path("read/", views.read),
    path("untouched/", views.untouched),
    path("all/", views.everything),
    path("event/", views.send_event),
    path("page/", views.page),
    path("async/", views.async_read),
    path("async-page/", views.async_template),
    path("vip/", views.vip_only),
    path("off/", views.off_redirect),
    path("async-vip/", views.async_vip_only),
    path("async-off/", views.async_off),
    path("cbv/vip/", views.VipView.as_view()),
    path("cbv/off/", views.OffView.as_view()),
    path("cbv/async-vip/", views.AsyncVipView.as_view()),
    path("cbv/async-off/", views.AsyncOffView.as_view()),
]
