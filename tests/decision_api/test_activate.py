"""Activation endpoints: no key, but only for a served environment and a real variation."""

from __future__ import annotations

import json
import time

import pytest

from .conftest import ENV_ID

pytestmark = pytest.mark.django_db(databases=[])

V1 = "/decision-api/v1/activate"
V2 = "/decision-api/v2/activate"
GOOD = {"caid": "vg-ab", "vaid": "var-ab-red"}


def errors_of(response) -> dict[str, str]:
    """GO's validation body: ``message`` is JSON text holding ``status`` and ``errors``."""
    assert response.status_code == 400
    body = response.json()
    assert list(body) == ["message"]
    inner = json.loads(body["message"])
    assert inner["status"] == "error"
    return inner["errors"]


def triples(served):
    return [
        (a.visitor_id, a.anonymous_id, a.variation_group_id, a.variation_id)
        for a in served.activations
    ]


def test_v2_single_object(served, api):
    body = {"cid": ENV_ID, "vid": "logged", "aid": "anon", **GOOD, "qt": 1500}
    before = time.time()
    response = api.post(V2, body, key=None)
    assert response.status_code == 204
    assert triples(served) == [("logged", "anon", "vg-ab", "var-ab-red")]
    # the queue time dates the exposure back
    created = served.activations[0].created_at
    assert before - 1.6 < created < time.time() - 1.4


def test_v2_batch_as_the_official_sdk_sends_it(served, api):
    body = {
        "cid": ENV_ID,
        "batch": [
            {"caid": "vg-ab", "vaid": "var-ab-red", "vid": "v1", "aid": None, "qt": 748},
            {"caid": "vg-c-text", "vaid": "var-c-text", "vid": "v2", "aid": None, "qt": 0},
        ],
    }
    response = api.post(V2, body, key=None)
    assert response.status_code == 204
    assert triples(served) == [
        ("v1", None, "vg-ab", "var-ab-red"),
        ("v2", None, "vg-c-text", "var-c-text"),
    ]


def test_v1_needs_every_field(served, api):
    errors = errors_of(api.post(V1, {"vid": "v"}, key=None))
    assert errors == {
        "cid": "Field is mandatory.",
        "caid": "Field is mandatory.",
        "vaid": "Field is mandatory.",
    }
    assert served.activations == []


def test_v1_refuses_v2_only_fields(served, api):
    body = {"vid": "v", "cid": ENV_ID, **GOOD, "qt": 3}
    assert errors_of(api.post(V1, body, key=None)) == {"qt": "Unknown field."}


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"vid": "v", **GOOD}, {"cid": "Field is mandatory."}),
        ({"cid": "not-served", "vid": "v", **GOOD}, {"cid": "Invalid cid."}),
        ({"cid": ENV_ID, "vid": "", **GOOD}, {"vid": "Field is mandatory."}),
        ({"cid": ENV_ID, "vid": 5, **GOOD}, {"vid": "Must be a string."}),
        ({"cid": ENV_ID, "vid": "v", **GOOD, "qt": -1}, {"qt": "Must be a non-negative integer."}),
        ({"cid": ENV_ID, "vid": "v", **GOOD, "qt": "1"}, {"qt": "Must be a non-negative integer."}),
        ({"cid": ENV_ID, "vid": "v", **GOOD, "qt": 1.5}, {"qt": "Must be a non-negative integer."}),
        ({"cid": ENV_ID, "vid": "v", **GOOD, "qa": "yes"}, {"qa": "Must be a boolean."}),
        ({"cid": ENV_ID, "vid": "v", **GOOD, "extra": 1}, {"extra": "Unknown field."}),
        (
            {"cid": ENV_ID, "vid": "v", "caid": "vg-x", "vaid": "x"},
            {"caid": "Unknown variation group."},
        ),
        ({"cid": ENV_ID, "vid": "v", "caid": "vg-ab", "vaid": "x"}, {"vaid": "Unknown variation."}),
    ],
)
def test_v2_single_validation(served, api, body, expected):
    assert errors_of(api.post(V2, body, key=None)) == expected
    assert served.activations == []


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"batch": [{"vid": "v", **GOOD}]}, {"cid": "Field is mandatory."}),
        ({"cid": "nope", "batch": [{"vid": "v", **GOOD}]}, {"cid": "Invalid cid."}),
        (
            {"cid": ENV_ID, "batch": [{"vid": "v", **GOOD, "cid": "nope"}]},
            {"batch[0].cid": "Invalid cid."},
        ),
        ({"cid": ENV_ID, "batch": []}, {"batch": "Must be a non-empty list."}),
        ({"cid": ENV_ID, "batch": {}}, {"batch": "Must be a non-empty list."}),
        ({"cid": ENV_ID, "batch": [{"vid": "v", **GOOD}], "x": 1}, {"x": "Unknown field."}),
        (
            {"cid": ENV_ID, "batch": [{"vid": "v", **GOOD}, {"vid": "w", "caid": "vg-ab"}]},
            {"batch[1].vaid": "Field is mandatory."},
        ),
        ({"cid": ENV_ID, "batch": ["x"]}, {"batch[0]": "Must be an object."}),
        (
            {"cid": ENV_ID, "batch": [{"vid": "v", "caid": "vg-ab", "vaid": "var-c-text"}]},
            {"batch[0].vaid": "Unknown variation."},
        ),
    ],
)
def test_v2_batch_validation_refuses_the_whole_batch(served, api, body, expected):
    assert errors_of(api.post(V2, body, key=None)) == expected
    assert served.activations == []


@pytest.mark.parametrize("raw", ["{", "[]", '"x"'])
def test_not_an_object(served, api, raw):
    response = api.post(V2, raw=raw, key=None)
    assert response.status_code == 400
    assert "message" in response.json()


def test_an_api_key_is_not_needed_but_does_no_harm(served, api):
    body = {"cid": ENV_ID, "vid": "v", **GOOD}
    assert api.post(V2, body, key="anything").status_code == 204


def test_an_unserved_environment_is_404_on_campaigns_but_400_invalid_cid_on_activate(served, api):
    """As Flagship's server: the campaigns URL names the env (404), an activation's body (400)."""
    campaigns = api.post("/decision-api/v2/not-served/campaigns", {"visitorId": "v"})
    assert campaigns.status_code == 404
    assert campaigns.json() == {"message": "environment not-served is not served here"}
    for path, body in (
        (V1, {"cid": "not-served", "vid": "v", **GOOD}),
        (V2, {"cid": "not-served", "vid": "v", **GOOD}),
        (V2, {"cid": "not-served", "batch": [{"vid": "v", **GOOD}]}),
    ):
        assert errors_of(api.post(path, body, key=None)) == {"cid": "Invalid cid."}
    assert served.activations == []


def test_an_environment_without_keys_refuses_activations_too(served, api, settings):
    """An empty list of keys means "refuse everything": campaigns (403) and activations (403)."""
    settings.FLAGSHIP_DECISION_API_ENVIRONMENTS = {ENV_ID: []}
    assert api.post(f"/decision-api/v2/{ENV_ID}/campaigns", {"visitorId": "v"}).status_code == 403
    for path, body in (
        (V1, {"cid": ENV_ID, "vid": "v", **GOOD}),
        (V2, {"cid": ENV_ID, "vid": "v", **GOOD}),
        (V2, {"cid": ENV_ID, "batch": [{"vid": "v", **GOOD}]}),
    ):
        response = api.post(path, body, key=None)
        assert response.status_code == 403
        assert response.json() == {"message": f"environment {ENV_ID} accepts no requests"}
    assert served.activations == []


def test_the_app_environment_without_an_api_key_refuses_activations(served, api, settings):
    """By default the app's FLAGSHIP_ENV_ID is served with FLAGSHIP_API_KEY: none, none accepted."""
    settings.FLAGSHIP_DECISION_API_ENVIRONMENTS = None
    settings.FLAGSHIP_ENV_ID = ENV_ID
    settings.FLAGSHIP_API_KEY = ""
    response = api.post(V2, {"cid": ENV_ID, "vid": "v", **GOOD}, key=None)
    assert response.status_code == 403
    settings.FLAGSHIP_API_KEY = "a-key"
    assert api.post(V2, {"cid": ENV_ID, "vid": "v", **GOOD}, key=None).status_code == 204
    assert len(served.activations) == 1
