"""An environment served without a key, as the seed's v1 reference describes.

``FLAGSHIP_DECISION_API_ENVIRONMENTS = {"my-env": None}``: the environment id in
the URL is the whole authentication, and check W008 says what that exposes.
Keys stay required for every other environment, and an empty list of keys
still refuses everything.
"""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command

from django_flagship.checks import check_settings

from .conftest import API_KEY, ENV_ID, PREFIX, PREFIX_V2

OTHER = "env-keyed"

#: The seed's own example body (Decision API v1, "Run all campaign assignments").
SEED_BODY = {
    "visitor_id": "YOUR_VISITOR_ID",
    "context": {"YOUR KEY": "YOUR VALUE"},
    "decision_group": None,
}


@pytest.fixture
def public(served, settings):
    settings.FLAGSHIP_DECISION_API_ENVIRONMENTS = {ENV_ID: None, OTHER: [API_KEY]}
    return served


def post(client, path, body, **headers):
    return client.post(path, json.dumps(body), content_type="application/json", **headers)


def test_the_seeds_v1_example_works_without_a_key(public, client):
    response = post(client, f"{PREFIX}/campaigns", SEED_BODY)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["visitorId"] == "YOUR_VISITOR_ID"
    assert {c["id"] for c in body["campaigns"]} >= {"c-ab", "c-text"}


def test_every_campaigns_route_of_a_public_environment_takes_no_key(public, client):
    assert post(client, f"{PREFIX}/campaigns/c-text", SEED_BODY).status_code == 200
    got = client.get(f"{PREFIX}/campaigns/hello", {"visitor_id": "v"})
    assert got.status_code == 200
    assert got.json()["id"] == "c-text"
    assert post(client, f"{PREFIX_V2}/campaigns", {"visitorId": "v"}).status_code == 200
    assert post(client, f"{PREFIX_V2}/campaigns/c-text", {"visitorId": "v"}).status_code == 200
    # a key, even a wrong one, changes nothing for a public environment
    wrong_key = post(client, f"{PREFIX_V2}/campaigns", {"visitorId": "v"}, HTTP_X_API_KEY="x")
    assert wrong_key.status_code == 200


def test_activations_of_a_public_environment_are_taken(public, client):
    one = {"cid": ENV_ID, "vid": "v", "caid": "vg-ab", "vaid": "var-ab-red"}
    assert post(client, "/decision-api/v1/activate", one).status_code == 204
    assert post(client, "/decision-api/v2/activate", one).status_code == 204
    assert [a.env_id for a in public.activations] == [ENV_ID, ENV_ID]


def test_other_environments_still_need_their_keys(public, client):
    path = f"/decision-api/v2/{OTHER}/campaigns"
    assert post(client, path, {"visitorId": "v"}).status_code == 403
    assert post(client, path, {"visitorId": "v"}, HTTP_X_API_KEY="wrong").status_code == 403
    assert post(client, path, {"visitorId": "v"}, HTTP_X_API_KEY=API_KEY).status_code == 200
    # the routes without an environment pick it by its key: never a public one
    assert post(client, "/decision-api/v2/campaigns", {"visitorId": "v"}).status_code == 403
    assert (
        post(
            client, "/decision-api/v2/campaigns", {"visitorId": "v"}, HTTP_X_API_KEY=""
        ).status_code
        == 403
    )


def test_an_empty_list_of_keys_still_refuses_everything(served, client, settings):
    settings.FLAGSHIP_DECISION_API_ENVIRONMENTS = {ENV_ID: []}
    assert post(client, f"{PREFIX}/campaigns", SEED_BODY).status_code == 403
    assert post(client, f"{PREFIX}/campaigns", SEED_BODY, HTTP_X_API_KEY="").status_code == 403
    assert post(client, f"{PREFIX}/campaigns", SEED_BODY, HTTP_X_API_KEY=API_KEY).status_code == 403


def test_keys_stay_required_by_default(served, client, settings):
    settings.FLAGSHIP_DECISION_API_ENVIRONMENTS = None
    settings.FLAGSHIP_ENV_ID = ENV_ID
    settings.FLAGSHIP_API_KEY = API_KEY
    assert post(client, f"{PREFIX}/campaigns", SEED_BODY).status_code == 403
    keyed = post(client, f"{PREFIX}/campaigns", SEED_BODY, HTTP_X_API_KEY=API_KEY)
    assert keyed.status_code == 200


def test_w008_says_what_a_public_environment_exposes(settings):
    settings.FLAGSHIP_DECISION_API_ENVIRONMENTS = {"my-env": None, "private": ["k"], "off": []}
    messages = check_settings()
    assert [m.id for m in messages if m.id.startswith("django_flagship.E")] == []
    (warning,) = [m for m in messages if m.id == "django_flagship.W008"]
    assert "'my-env' without an API key" in warning.msg
    for exposed in ("any visitor id", "flag value", "SEGMENT", "activations"):
        assert exposed in warning.hint
    assert "SILENCED_SYSTEM_CHECKS" in warning.hint


def test_no_w008_when_every_environment_has_keys(settings):
    settings.FLAGSHIP_DECISION_API_ENVIRONMENTS = {"env": ["k"], "off": []}
    assert [m for m in check_settings() if m.id == "django_flagship.W008"] == []


def test_the_check_command_shows_w008(settings, capsys):
    settings.FLAGSHIP_DECISION_API_ENVIRONMENTS = {"my-env": None}
    call_command("check")
    assert "django_flagship.W008" in capsys.readouterr().err
