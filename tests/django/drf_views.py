"""DRF views and a viewset gated by FlagRequired, for test_drf."""

from django.template import engines
from django.urls import include, path
from rest_framework import routers, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from django_flagship.contrib.drf import FlagRequired

_TEMPLATE = engines["django"].from_string(
    "{% load flagship %}{% ifflag 'vip_feature' %}vip{% else %}plain{% endifflag %}"
)


class VipView(APIView):
    permission_classes = [FlagRequired("vip_feature")]

    def get(self, request):
        # The view and a template read the flag the permission already read.
        return Response(
            {
                "view": request.flags.get("vip_feature", False),
                "template": _TEMPLATE.render({}, request._request),
            }
        )


class OffView(APIView):
    permission_classes = [FlagRequired("off_feature")]

    def get(self, request):
        return Response({"reached": True})


class OffForbiddenView(APIView):
    permission_classes = [FlagRequired("off_feature", status=403, message="Not in the beta.")]

    def get(self, request):
        return Response({"reached": True})


class NotABoolView(APIView):
    permission_classes = [FlagRequired("btn_color")]

    def get(self, request):
        return Response({"reached": True})


class LoggedInVipView(APIView):
    permission_classes = [IsAuthenticated, FlagRequired("vip_feature")]

    def get(self, request):
        return Response({"reached": True})


class ReportViewSet(viewsets.ViewSet):
    def list(self, request):
        return Response(["r1", "r2"])

    @action(detail=False, permission_classes=[FlagRequired("vip_feature")])
    def beta(self, request):
        return Response({"beta": True})

    @action(detail=False, permission_classes=[FlagRequired("off_feature")])
    def export(self, request):
        return Response({"export": True})


router = routers.SimpleRouter()
router.register("reports", ReportViewSet, basename="report")

urlpatterns = [
    path("vip/", VipView.as_view()),
    path("off/", OffView.as_view()),
    path("off-403/", OffForbiddenView.as_view()),
    path("not-a-bool/", NotABoolView.as_view()),
    path("logged-in-vip/", LoggedInVipView.as_view()),
    path("", include(router.urls)),
]
