"""FlagRequired gates DRF views and viewset actions, read through request.flags."""

import logging

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ImproperlyConfigured
from rest_framework.test import APIClient

from django_flagship.checks import check_settings
from django_flagship.conf import DRF_DENY_STATUSES
from django_flagship.contrib.drf import DENY_STATUSES, FlagPermission, FlagRequired
from django_flagship.testing import override_flags

pytestmark = [pytest.mark.urls("tests.django.drf_views"), pytest.mark.django_db]


def ids(messages):
    return sorted(message.id for message in messages)


@pytest.fixture
def api():
    return APIClient()


def test_flag_on_lets_the_view_run_and_agrees_with_view_and_template(api, configured, tracker):
    response = api.get("/vip/")
    assert response.status_code == 200
    assert response.json() == {"view": True, "template": "vip"}
    # Permission, view and template read the flag: one activation for the request.
    assert [a.variation_id for a in tracker.activations] == ["v-toggles-on"]
    assert "Cookie" in response["Vary"]


def test_flag_off_is_a_404_by_default(api, configured):
    response = api.get("/off/")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


def test_a_403_chosen_per_view(api, configured):
    response = api.get("/off-403/")
    assert response.status_code == 403
    assert response.json() == {"detail": "Not in the beta."}


def test_a_403_chosen_for_the_project(api, configured):
    configured.FLAGSHIP_DRF_DENY_STATUS = 403
    response = api.get("/off/")
    assert response.status_code == 403
    assert response.json()["detail"] == "This feature is not available."


def test_the_status_does_not_depend_on_authentication(api, configured):
    # DRF would answer 401/403 "not authenticated" for a plain False; the flag's
    # status is the one chosen, logged in or not.
    assert api.get("/off/").status_code == 404
    api.force_authenticate(User.objects.create_user("ada"))
    assert api.get("/off/").status_code == 404


def test_other_permissions_run_first(api, configured, tracker):
    assert api.get("/logged-in-vip/").status_code == 403
    assert tracker.activations == []  # the flag was never read
    api.force_authenticate(User.objects.create_user("ada"))
    assert api.get("/logged-in-vip/").status_code == 200


def test_only_a_true_boolean_opens(api, configured):
    assert api.get("/not-a-bool/").status_code == 404  # "red" is not True


def test_viewset_actions(api, configured):
    assert api.get("/reports/").json() == ["r1", "r2"]
    assert api.get("/reports/beta/").json() == {"beta": True}
    assert api.get("/reports/export/").status_code == 404


def test_override_flags_drives_the_permission(api, configured):
    with override_flags({"off_feature": True, "vip_feature": False}):
        assert api.get("/off/").json() == {"reached": True}
        assert api.get("/vip/").status_code == 404
        assert api.get("/reports/export/").json() == {"export": True}


def test_unconfigured_flagship_serves_the_default_so_the_gate_stays_closed(api, settings):
    assert api.get("/vip/").status_code == 404


def test_without_the_middleware_it_is_a_configuration_error(api, configured, settings):
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if "Flagship" not in m]
    with pytest.raises(RuntimeError, match="FlagshipMiddleware"):
        api.get("/vip/")


@pytest.mark.parametrize("value", [200, "403", True, None])
def test_a_bad_status_setting_is_reported_and_the_gate_stays_closed(
    api, configured, caplog, monkeypatch, value
):
    # manage.py check reports it (E017); a request gets the default 404, not a 500.
    monkeypatch.setattr("django_flagship.conf._reported", set())
    configured.FLAGSHIP_DRF_DENY_STATUS = value
    with caplog.at_level(logging.ERROR, logger="django_flagship"):
        first = api.get("/off/")
        second = api.get("/off/")
    assert (first.status_code, second.status_code) == (404, 404)
    assert first.json() == {"detail": "Not found."}
    (record,) = [r for r in caplog.records if "FLAGSHIP_DRF_DENY_STATUS" in r.getMessage()]
    assert record.levelno == logging.ERROR  # once, not per request
    assert "django_flagship.E017" in record.getMessage()
    assert ids(check_settings()) == ["django_flagship.E017"]


def test_a_bad_status_setting_does_not_touch_an_open_gate(api, configured):
    configured.FLAGSHIP_DRF_DENY_STATUS = 500
    assert api.get("/vip/").status_code == 200


def test_the_permission_and_the_check_accept_the_same_statuses():
    assert DENY_STATUSES == DRF_DENY_STATUSES == (403, 404)


def test_the_factory_checks_its_arguments():
    with pytest.raises(TypeError):
        FlagRequired("")
    with pytest.raises(ImproperlyConfigured, match="status"):
        FlagRequired("beta", status=500)
    permission = FlagRequired("beta", status=403)
    assert issubclass(permission, FlagPermission)
    assert (permission.flag, permission.status) == ("beta", 403)


def test_a_subclass_without_a_flag_is_an_error(rf):
    class Incomplete(FlagPermission):
        pass

    request = rf.get("/")
    request.flags = object()
    with pytest.raises(ImproperlyConfigured, match="no flag"):
        Incomplete().has_permission(request, None)
