"""The Decision API keys never appear in a repr or in Django's error reports.

Each case raises inside a view and renders Django's technical 500 report (the
HTML page ``DEBUG=True`` shows, and the text ``AdminEmailHandler`` mails with
``DEBUG=False``) for that very exception and request.
"""

from __future__ import annotations

import hmac
import json
import operator
import pprint

import pytest
from django.test import RequestFactory
from django.views.debug import ExceptionReporter

from django_flagship import client as flagship_client
from django_flagship import served_conf
from django_flagship.decision_api import views
from django_flagship.sdk import Config, Flagship, Mode
from django_flagship.sdk.decision_api import DecisionApiClient
from django_flagship.served_conf import ApiKeys, served_settings, server_settings

from .conftest import API_KEY, ENV_ID, OTHER_KEY

pytestmark = pytest.mark.django_db(databases=[])

SECRETS = (API_KEY, OTHER_KEY)


def boom(*args, **kwargs):
    raise RuntimeError("boom")


#: Raises from C (``bytes - bytes``) where ``hmac.compare_digest`` is called: a Python
#: stand-in would hold the keys it is given in a frame of its own.
compare_fails = operator.sub


def report(view, request, *args) -> tuple[str, str]:
    """The technical 500 report of the exception ``view`` raises, as HTML and as text."""
    with pytest.raises((RuntimeError, TypeError)) as raised:
        view(request, *args)
    reporter = ExceptionReporter(request, raised.type, raised.value, raised.tb)
    return reporter.get_traceback_html(), reporter.get_traceback_text()


def assert_no_secret(*texts: str) -> None:
    for text in texts:
        for secret in SECRETS:
            assert secret not in text


def campaigns(key: str, path: str = f"/decision-api/v2/{ENV_ID}/campaigns"):
    body = json.dumps({"visitorId": "v"})
    return RequestFactory().post(
        path, body, content_type="application/json", headers={"x-api-key": key}
    )


@pytest.mark.parametrize("debug", [True, False])
def test_an_error_after_authentication_shows_no_key(served, settings, monkeypatch, debug):
    """The case reported: ``conf`` (the served settings) in the view's frame locals."""
    settings.DEBUG = debug
    monkeypatch.setattr(views, "decide", boom)
    html, text = report(views.v2_campaigns, campaigns(API_KEY), ENV_ID)
    assert "ServerSettings" in html  # the frame locals are there, the keys are not
    assert_no_secret(html, text)


@pytest.mark.parametrize("debug", [True, False])
def test_an_error_while_comparing_keys_shows_no_stored_key(served, settings, monkeypatch, debug):
    settings.DEBUG = debug
    monkeypatch.setattr(hmac, "compare_digest", compare_fails)
    for view, request, args in (
        (views.v2_campaigns, campaigns("wrong-key"), (ENV_ID,)),
        (views.v2_campaigns, campaigns("wrong-key", "/decision-api/v2/campaigns"), ()),
    ):
        assert_no_secret(*report(view, request, *args))


def test_with_debug_off_the_reporter_cleanses_the_given_key(served, settings, monkeypatch):
    """The caller's key (here a valid one) is a sensitive variable in every frame below the view."""
    settings.DEBUG = False
    monkeypatch.setattr(hmac, "compare_digest", compare_fails)
    html, text = report(views.v2_campaigns, campaigns(API_KEY), ENV_ID)
    assert_no_secret(html, text)
    assert "********************" in text


@pytest.mark.parametrize("debug", [True, False])
def test_an_error_in_an_activation_shows_no_key(served, settings, monkeypatch, debug):
    settings.DEBUG = debug
    monkeypatch.setattr(views, "track_activations", boom)
    body = json.dumps({"cid": ENV_ID, "vid": "v", "caid": "vg-ab", "vaid": "var-ab-red"})
    request = RequestFactory().post("/decision-api/v2/activate", body, "application/json")
    assert_no_secret(*report(views.v2_activate, request))


def test_no_repr_shows_a_key(served, settings, tmp_path):
    settings.FLAGSHIP_ENV_ID = ENV_ID
    settings.FLAGSHIP_API_KEY = API_KEY
    settings.FLAGSHIP_DECISION_API_ENVIRONMENTS = None
    conf = server_settings()
    assert conf.environments[ENV_ID] == (API_KEY,)  # the keys are there, only hidden
    assert repr(conf.environments[ENV_ID]) == "ApiKeys(<1 hidden>)"
    settings.FLAGSHIP_DECISION_API_ENVIRONMENTS = {ENV_ID: [API_KEY, OTHER_KEY]}
    config = Config(ENV_ID, API_KEY, mode=Mode.DECISION_API)
    sdk = Flagship(config)
    api = DecisionApiClient(ENV_ID, API_KEY, base_url="https://example.com/v2", timeout=1.0)
    objects = [
        server_settings(),
        served_settings(),
        ApiKeys(SECRETS),
        config,
        sdk,
        sdk.decision_manager,
        api,
        flagship_client.runtime(),
    ]
    for thing in objects:
        assert_no_secret(repr(thing), str(thing), pprint.pformat(thing, width=20))
    sdk.stop()
    api.close()


def test_a_malformed_environments_setting_fails_closed_without_an_error_page(
    served, api, settings, caplog, monkeypatch
):
    """Before, the TypeError reached the view: a 500 whose frames held the raw setting."""
    monkeypatch.setattr(served_conf, "_reported", set())
    settings.FLAGSHIP_DECISION_API_ENVIRONMENTS = {ENV_ID: API_KEY}  # a string, not a list
    response = api.post(f"/decision-api/v2/{ENV_ID}/campaigns", {"visitorId": "v"})
    assert response.status_code == 404
    assert "django_flagship.E012" in caplog.text
    assert "no environment is served" in caplog.text
    assert_no_secret(caplog.text)
    body = {"cid": ENV_ID, "vid": "v", "caid": "vg-ab", "vaid": "var-ab-red"}
    assert api.post("/decision-api/v2/activate", body, key=None).status_code == 400  # Invalid cid.
