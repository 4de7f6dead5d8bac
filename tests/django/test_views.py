import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import RequestFactory
from django.views import View

from django_flagship.decorators import flag_required
from django_flagship.mixins import FlagRequiredMixin
from django_flagship.testing import override_flags

pytestmark = [pytest.mark.urls("tests.django.urls"), pytest.mark.django_db]


def test_decorator_serves_when_on(client, configured):
    assert client.get("/vip/").content == b"vip"


def test_decorator_404_when_off(client, configured):
    assert client.get("/vip/").status_code == 200
    with override_flags({"vip_feature": False}):
        assert client.get("/vip/").status_code == 404


def test_decorator_redirects_when_asked(client, configured):
    response = client.get("/off/")
    assert response.status_code == 302
    assert response["Location"] == "/home/"


def test_decorator_strict_bool(client, configured):
    with override_flags({"vip_feature": "yes"}):
        assert client.get("/vip/").status_code == 404


def test_unconfigured_means_off(client):
    assert client.get("/vip/").status_code == 404


def test_mixin(client, configured):
    assert client.get("/cbv/vip/").content == b"vip class"
    response = client.get("/cbv/off/")
    assert (response.status_code, response["Location"]) == (302, "/home/")


def test_mixin_needs_a_key(rf: RequestFactory, configured):
    class Keyless(FlagRequiredMixin, View):
        pass

    request = rf.get("/")
    with pytest.raises(ImproperlyConfigured):
        Keyless.as_view()(request)


def test_decorator_needs_the_middleware(rf: RequestFactory):
    view = flag_required("vip_feature")(lambda request: None)
    with pytest.raises(RuntimeError, match="FlagshipMiddleware"):
        view(rf.get("/"))


@pytest.mark.asyncio
async def test_async_decorator_and_mixin(async_client, configured):
    configured.SESSION_ENGINE = "django.contrib.sessions.backends.cache"
    assert (await async_client.get("/async-vip/")).content == b"async vip"
    assert (await async_client.get("/async-off/")).status_code == 404
    assert (await async_client.get("/cbv/async-vip/")).content == b"async vip class"
    assert (await async_client.get("/cbv/async-off/")).status_code == 404
