"""Every refusal: status, and a JSON body that names the problem."""

from __future__ import annotations

import json

import pytest

from .conftest import API_KEY, ENV_ID, PREFIX, PREFIX_V2

pytestmark = pytest.mark.django_db(databases=[])

CAMPAIGNS = [f"{PREFIX}/campaigns", f"{PREFIX_V2}/campaigns", f"{PREFIX_V2}/campaigns/c-text"]


@pytest.mark.parametrize("path", CAMPAIGNS)
@pytest.mark.parametrize("key", [None, "", "wrong", API_KEY + "x", API_KEY[:-1]])
def test_campaigns_need_a_valid_key(served, api, path, key):
    response = api.post(path, {"visitorId": "v"}, key=key)
    assert response.status_code == 403
    assert "x-api-key" in response.json()["message"]
    assert served.activations == []


def test_key_of_another_environment_is_refused(served, api, settings):
    settings.FLAGSHIP_DECISION_API_ENVIRONMENTS = {ENV_ID: [API_KEY], "other": ["other-key"]}
    assert (
        api.post(f"{PREFIX_V2}/campaigns", {"visitorId": "v"}, key="other-key").status_code == 403
    )
    other = api.post("/decision-api/v2/other/campaigns", {"visitorId": "v"}, key="other-key")
    assert other.status_code == 200


def test_environment_without_keys_refuses_everything(served, api, settings):
    settings.FLAGSHIP_DECISION_API_ENVIRONMENTS = {ENV_ID: []}
    assert api.post(f"{PREFIX_V2}/campaigns", {"visitorId": "v"}, key="").status_code == 403


def test_default_environment_is_the_apps_own(served, api, settings):
    del settings.FLAGSHIP_DECISION_API_ENVIRONMENTS
    settings.FLAGSHIP_ENV_ID = ENV_ID
    settings.FLAGSHIP_API_KEY = "the-apps-key"
    assert (
        api.post(f"{PREFIX_V2}/campaigns", {"visitorId": "v"}, key="the-apps-key").status_code
        == 200
    )
    assert api.post(f"{PREFIX_V2}/campaigns", {"visitorId": "v"}).status_code == 403


@pytest.mark.parametrize(
    "path",
    [
        "/decision-api/v1/unknown-env/campaigns",
        "/decision-api/v2/unknown-env/campaigns",
        "/decision-api/v2/unknown-env/campaigns/",
        "/decision-api/v2/unknown-env/campaigns/c-text",
        "/decision-api/v1/unknown-env/campaigns/c-text",
    ],
)
def test_environment_not_served_is_404(served, api, path):
    response = api.post(path, {"visitorId": "v"})
    assert response.status_code == 404
    assert "unknown-env" in response.json()["message"]


def test_no_environment_served_at_all(served, api, settings):
    del settings.FLAGSHIP_DECISION_API_ENVIRONMENTS
    settings.FLAGSHIP_ENV_ID = ""
    assert api.post(f"{PREFIX_V2}/campaigns", {"visitorId": "v"}).status_code == 404


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/decision-api/v9/x"),
        ("get", "/decision-api/v9/x"),
        ("post", "/decision-api/"),
        ("post", f"{PREFIX_V2}/flags"),
        ("put", f"{PREFIX_V2}/campaigns/c-text/extra"),
        ("delete", "/decision-api/v1/activate/"),
    ],
)
def test_unknown_path_under_the_prefix_is_a_json_404(served, client, method, path):
    from django_flagship import __version__

    response = getattr(client, method)(path, HTTP_X_API_KEY=API_KEY)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"message": f"no Decision API endpoint at {path}"}
    assert response["X-Flagship-Version"] == __version__
    assert response["Cache-Control"] == "no-store"


def test_the_json_404_does_not_answer_outside_the_prefix(served, client):
    response = client.get("/elsewhere")
    assert response.status_code == 404
    assert not response["Content-Type"].startswith("application/json")


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("get", f"{PREFIX}/campaigns", "POST"),
        ("put", f"{PREFIX}/campaigns/c-text", "GET, POST"),
        ("get", f"{PREFIX_V2}/campaigns", "POST"),
        ("get", f"{PREFIX_V2}/campaigns/c-text", "POST"),
        ("delete", "/decision-api/v2/campaigns", "POST"),
        ("get", "/decision-api/v1/activate", "POST"),
        ("get", "/decision-api/v2/activate", "POST"),
    ],
)
def test_wrong_method_is_405(served, client, method, path, allow):
    response = getattr(client, method)(path, HTTP_X_API_KEY=API_KEY)
    assert response.status_code == 405
    assert response["Allow"] == allow
    assert method.upper() in response.json()["message"]


def test_csrf_does_not_apply(served, settings):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    response = strict.post(
        f"{PREFIX_V2}/campaigns",
        json.dumps({"visitorId": "v"}),
        content_type="application/json",
        HTTP_X_API_KEY=API_KEY,
    )
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("raw", "needle"),
    [
        ("{", "not valid JSON"),
        ("", "JSON object"),
        ("[1, 2]", "JSON object"),
        ('"visitor"', "JSON object"),
        ('{"visitorId": NaN}', "not valid JSON"),
        ('{"visitorId": "v", "context": {"a": Infinity}}', "not valid JSON"),
        ("\xff\xfe", "not valid JSON"),
    ],
)
def test_malformed_json_is_400(served, api, raw, needle):
    response = api.post(f"{PREFIX_V2}/campaigns", raw=raw)
    assert response.status_code == 400
    assert needle in response.json()["message"]


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({}, "visitor_id is required"),
        ({"visitorId": ""}, "visitor_id is required"),
        ({"visitor_id": None}, "visitor_id is required"),
        ({"visitorId": 12}, "visitor_id must be a string"),
        ({"visitorId": "v", "visitor_id": "v"}, "given twice"),
        ({"visitorId": "v", "vistor": "x"}, "unknown field 'vistor'"),
        ({"visitorId": "v", "context": []}, "context must be an object"),
        ({"visitorId": "v", "context": "a=1"}, "context must be an object"),
        ({"visitorId": "v", "context": {"a": None}}, "context value of 'a'"),
        ({"visitorId": "v", "context": {"a": "ok", "b": {}}}, "context value of 'b'"),
        ({"visitorId": "v", "context": {"a": {"b": 1}}}, "context value of 'a'"),
        ({"visitorId": "v", "context": {"a": [1, [2]]}}, "context value of 'a'"),
        ({"visitorId": "v", "context": {"a": [None]}}, "context value of 'a'"),
        ({"visitorId": "v", "context": {"a": "HUGE"}}, "context value of 'a'"),
        ({"visitorId": "v", "context": {"": 1}}, "non-empty"),
        ({"visitorId": "v", "trigger_hit": "no"}, "trigger_hit must be a boolean"),
        ({"visitorId": "v", "activate": 0}, "activate must be a boolean"),
        ({"visitorId": "v", "visitor_consent": "yes"}, "visitor_consent must be a boolean"),
        ({"visitorId": "v", "decision_group": 5}, "decision_group must be a string"),
        ({"visitorId": "v", "default_redirect_url": "/relative"}, "default_redirect_url"),
        ({"visitorId": "v", "default_redirect_url": "javascript:alert(1)"}, "default_redirect_url"),
        ({"visitorId": "v", "defaultRedirectUrl": "https://a b.example"}, "default_redirect_url"),
    ],
)
@pytest.mark.parametrize("path", [*CAMPAIGNS, f"{PREFIX}/campaigns/c-text"])
def test_invalid_request_is_400(served, api, body, needle, path):
    # 1e400 is valid JSON that Python reads as infinity: not a usable number
    response = api.post(path, raw=json.dumps(body).replace('"HUGE"', "1e400"))
    assert response.status_code == 400, response.content
    assert needle in response.json()["message"]
    assert served.activations == []


def test_valid_context_values_are_accepted(served, api):
    context = {"s": "x", "i": 3, "f": 1.5, "b": False, "l": ["a", 1, 2.5, True], "e": []}
    response = api.post(f"{PREFIX_V2}/campaigns", {"visitorId": "v", "context": context})
    assert response.status_code == 200


@pytest.mark.parametrize("mode", ["Normal", "compact", " "])
def test_unknown_mode_is_400(served, api, mode):
    response = api.post(f"{PREFIX_V2}/campaigns?mode={mode}", {"visitorId": "v"})
    assert response.status_code == 400
    assert "mode" in response.json()["message"]


def test_bad_expose_all_keys_is_400(served, api):
    response = api.post(f"{PREFIX_V2}/campaigns?exposeAllKeys=maybe", {"visitorId": "v"})
    assert response.status_code == 400
    assert "exposeAllKeys" in response.json()["message"]


@pytest.mark.parametrize(
    ("params", "needle"),
    [
        ({"visitor_id": "v", "context": "{"}, "context parameter is not valid JSON"),
        ({"visitor_id": "v", "context": "[1]"}, "context must be a JSON object"),
        ({"visitor_id": "v", "context": '{"a": {"b": 1}}'}, "context value of 'a'"),
        ({"visitor_id": "v", "trigger_hit": "yes"}, "trigger_hit must be true or false"),
        ({"visitor_id": "v", "format_response": "2"}, "format_response must be true or false"),
        ({"context": "{}"}, "visitor_id is required"),
        ({"visitor_id": "v", "default_redirect_url": "ftp://x.example"}, "default_redirect_url"),
    ],
)
def test_invalid_get_query_is_400(served, api, params, needle):
    response = api.get(f"{PREFIX}/campaigns/c-text", params)
    assert response.status_code == 400
    assert needle in response.json()["message"]


def test_body_over_the_limit_is_413(served, api, settings):
    settings.FLAGSHIP_DECISION_API_MAX_BODY = 200
    small = {"visitorId": "v", "context": {"k": "x" * 100}}
    assert api.post(f"{PREFIX_V2}/campaigns", small).status_code == 200
    big = {"visitorId": "v", "context": {"k": "x" * 300}}
    response = api.post(f"{PREFIX_V2}/campaigns", big)
    assert response.status_code == 413
    assert "200 bytes" in response.json()["message"]
    activate = api.post("/decision-api/v2/activate", {"cid": ENV_ID, "vid": "v" * 300})
    assert activate.status_code == 413


def test_body_over_the_limit_without_content_length_is_413(served, settings):
    from django.test import RequestFactory

    from django_flagship.decision_api import views

    settings.FLAGSHIP_DECISION_API_MAX_BODY = 50
    request = RequestFactory().post(
        f"{PREFIX_V2}/campaigns",
        json.dumps({"visitorId": "v" * 100}),
        content_type="application/json",
        HTTP_X_API_KEY=API_KEY,
    )
    del request.META["CONTENT_LENGTH"]
    response = views.v2_campaigns(request, env_id=ENV_ID)
    assert response.status_code == 413


def test_no_bucket_yet_is_503(served, api):
    served.bucket = None
    response = api.post(f"{PREFIX_V2}/campaigns", {"visitorId": "v"})
    assert response.status_code == 503
    assert "bucketing file" in response.json()["message"]
    activate = {"cid": ENV_ID, "vid": "v", "caid": "vg-ab", "vaid": "var-ab-red"}
    assert api.post("/decision-api/v2/activate", activate, key=None).status_code == 503


def test_errors_carry_the_version_header(served, api):
    from django_flagship import __version__

    response = api.post(f"{PREFIX_V2}/campaigns", {}, key="wrong")
    assert response["X-Flagship-Version"] == __version__


def test_visitor_data_is_not_logged_above_debug(served, api, caplog):
    caplog.set_level("INFO")
    api.post(f"{PREFIX_V2}/campaigns", {"visitorId": "secret-visitor", "context": {"e": "pii"}})
    api.post(f"{PREFIX_V2}/campaigns", {"visitorId": "secret-visitor", "x": 1})
    assert "secret-visitor" not in caplog.text
    assert "pii" not in caplog.text
    caplog.clear()
    caplog.set_level("DEBUG", logger="django_flagship.decision_api")
    api.post(f"{PREFIX_V2}/campaigns", {"visitorId": "secret-visitor"})
    assert "secret-visitor" in caplog.text
