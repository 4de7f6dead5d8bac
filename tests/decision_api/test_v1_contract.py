"""v1 endpoints, field by field, as the v1 reference shapes them."""

from __future__ import annotations

import json

import pytest

from .conftest import ENV_ID, PREFIX
from .test_v2_contract import ALWAYS, visitor

pytestmark = pytest.mark.django_db(databases=[])


def test_campaigns_normal_has_the_reference_fields_only(served, api):
    vid = visitor(True)
    response = api.post(f"{PREFIX}/campaigns", {"visitor_id": vid, "context": {"isVip": True}})
    assert response.status_code == 200
    body = response.json()
    assert list(body) == ["visitorId", "campaigns"]
    assert body["visitorId"] == vid
    assert [c["id"] for c in body["campaigns"]] == ["c-ab", "c-vip", *ALWAYS]
    assert body["campaigns"][0] == {
        "id": "c-ab",
        "variationGroupId": "vg-ab",
        "variation": {
            "id": "var-ab-red",
            "modifications": {"type": "FLAG", "value": {"btnColor": "red", "btnSize": 2}},
        },
    }
    assert body["campaigns"][1] == {
        "id": "c-vip",
        "variationGroupId": "vg-c-vip",
        "variation": {
            "id": "var-c-vip",
            "modifications": {"type": "JSON", "value": {"vip": True, "btnColor": "gold"}},
        },
    }


def test_campaigns_decision_group_null_is_accepted(served, api):
    response = api.post(f"{PREFIX}/campaigns", {"visitor_id": "v", "decision_group": None})
    assert response.status_code == 200


def test_campaigns_simple(served, api):
    vid = visitor(False)
    body = api.post(f"{PREFIX}/campaigns?mode=simple", {"visitor_id": vid}).json()
    assert list(body) == ["campaignsVariation", "mergedModifications"]
    assert body["campaignsVariation"][0] == {"campaignId": "c-ab", "variationId": "var-ab-ref"}
    assert "btnColor" not in body["mergedModifications"]  # null, and exposeAllKeys is off
    assert body["mergedModifications"]["greeting"] == "Hello, ünïcode"


def test_campaigns_full(served, api):
    vid = visitor(True)
    body = api.post(
        f"{PREFIX}/campaigns?mode=full", {"visitor_id": vid, "context": {"isVip": True}}
    ).json()
    assert list(body) == ["visitorId", "campaigns", "campaignsVariation", "mergedModifications"]
    assert body["campaignsVariation"] == [
        {"campaignId": c["id"], "variationId": c["variation"]["id"]} for c in body["campaigns"]
    ]
    assert body["mergedModifications"]["btnColor"] == "gold"
    assert body["mergedModifications"]["btnSize"] == 2


def test_trailing_slash_of_sdk_1(served, api):
    response = api.post(f"{PREFIX}/campaigns/?exposeAllKeys=true", {"visitorId": "v"})
    assert response.status_code == 200
    assert "campaigns" in response.json()


# -- one campaign ------------------------------------------------------------------


def test_single_campaign_post(served, api):
    response = api.post(f"{PREFIX}/campaigns/c-text", {"visitor_id": "v"})
    assert response.status_code == 200
    assert response.json() == {
        "id": "c-text",
        "variationGroupId": "vg-c-text",
        "variation": {
            "id": "var-c-text",
            "modifications": {"type": "TEXT", "value": {"greeting": "Hello, ünïcode"}},
        },
    }


def test_single_campaign_get_with_query_parameters(served, api):
    params = {"visitor_id": "v", "context": json.dumps({"isVip": True}), "trigger_hit": "false"}
    response = api.get(f"{PREFIX}/campaigns/c-vip", params)
    assert response.status_code == 200
    assert response.json()["variation"]["id"] == "var-c-vip"
    assert served.activations == []
    untargeted = api.get(f"{PREFIX}/campaigns/c-vip", {"visitor_id": "v", "trigger_hit": "false"})
    assert untargeted.status_code == 204


def test_single_campaign_get_ignores_foreign_parameters(served, api):
    response = api.get(f"{PREFIX}/campaigns/c-text", {"visitor_id": "v", "utm_source": "mail"})
    assert response.status_code == 200


def test_single_campaign_get_triggers_hit_by_default(served, api):
    api.get(f"{PREFIX}/campaigns/c-text", {"visitor_id": "v"})
    assert [(a.visitor_id, a.variation_group_id, a.variation_id) for a in served.activations] == [
        ("v", "vg-c-text", "var-c-text")
    ]


@pytest.mark.parametrize(
    ("campaign", "content_type", "content"),
    [
        ("c-text", "text/plain; charset=utf-8", "Hello, ünïcode".encode()),
        ("c-html", "text/html; charset=utf-8", b"<b>Sale</b>"),
        ("c-vip", "application/json", b'{"vip":true,"btnColor":"gold"}'),
    ],
)
def test_format_response_table(served, api, campaign, content_type, content):
    body = {"visitor_id": "v", "format_response": True, "context": {"isVip": True}}
    response = api.post(f"{PREFIX}/campaigns/{campaign}", body)
    assert response.status_code == 200
    assert response["Content-Type"] == content_type
    assert response.content == content


def test_format_response_flag_is_the_key_value_object(served, api):
    vid = visitor(True)
    body = {"visitor_id": vid, "format_response": True}
    response = api.post(f"{PREFIX}/campaigns/c-ab", body)
    assert response.json() == {"btnColor": "red", "btnSize": 2}


def test_format_response_redirect_is_302_with_the_flags(served, api):
    body = {"visitor_id": "v", "format_response": True}
    response = api.post(f"{PREFIX}/campaigns/c-redirect", body)
    assert response.status_code == 302
    assert response["Location"] == "https://example.com/new"
    assert response["Content-Type"] == "application/json"
    assert json.loads(response.content) == {"target": "https://example.com/new"}


def test_format_response_image_redirects_to_the_image(served, api):
    response = api.get(
        f"{PREFIX}/campaigns/c-image", {"visitor_id": "v", "format_response": "true"}
    )
    assert response.status_code == 302
    assert response["Location"] == "https://cdn.example.com/hero.png"


def test_format_response_when_not_assigned_is_204(served, api):
    body = {"visitor_id": "v", "format_response": True}
    assert api.post(f"{PREFIX}/campaigns/c-never", body).status_code == 204


# -- default_redirect_url: always a 302 ------------------------------------------------

DEFAULT = "https://example.org/landing?from=mail"


@pytest.mark.parametrize(
    ("campaign", "location"),
    [
        ("c-redirect", "https://example.com/new"),  # the modification's redirection
        ("c-text", DEFAULT),  # not a redirection
        ("c-never", DEFAULT),  # not assigned
        ("c-bad-redirect", DEFAULT),  # a redirection that is not http(s)
        ("no-such-campaign", DEFAULT),  # unknown
    ],
)
def test_default_redirect_url_always_redirects(served, api, campaign, location):
    response = api.get(
        f"{PREFIX}/campaigns/{campaign}", {"visitor_id": "v", "default_redirect_url": DEFAULT}
    )
    assert response.status_code == 302
    assert response["Location"] == location


def test_default_redirect_url_in_panic(served, api):
    data = served.data
    data["panic"] = True
    served.replace(data)
    response = api.post(
        f"{PREFIX}/campaigns/c-text", {"visitor_id": "v", "default_redirect_url": DEFAULT}
    )
    assert response.status_code == 302
    assert response["Location"] == DEFAULT
    plain = api.post(f"{PREFIX}/campaigns/c-text", {"visitor_id": "v"})
    assert plain.json() == {"visitorId": "v", "campaigns": [], "panic": True}


# -- activation --------------------------------------------------------------------


def test_activate(served, api):
    body = {"vid": "visitor-1", "cid": ENV_ID, "caid": "vg-ab", "vaid": "var-ab-red"}
    response = api.post("/decision-api/v1/activate", body, key=None)
    assert response.status_code == 204
    assert response.content == b""
    (activation,) = served.activations
    assert activation.visitor_id == "visitor-1"
    assert activation.variation_group_id == "vg-ab"
    assert activation.variation_id == "var-ab-red"
    assert activation.anonymous_id is None
    assert activation.to_payload(ENV_ID)["cid"] == ENV_ID
