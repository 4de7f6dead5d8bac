"""v2 campaigns and single-campaign endpoints, field by field (protocol 1.3-1.5, 6)."""

from __future__ import annotations

import json

import mmh3
import pytest

from django_flagship import __version__

from .conftest import PREFIX_V2

FORMAT = {"visitorId": "v", "format_response": True}

pytestmark = pytest.mark.django_db(databases=[])


def red(visitor_id: str) -> bool:
    """Independent oracle: the 50/50 split of ``vg-ab`` (murmur3 of vgId + visitorId)."""
    return mmh3.hash(f"vg-ab{visitor_id}", 0, signed=False) % 100 >= 50


def visitor(want_red: bool, start: int = 0) -> str:
    return next(f"v{i}" for i in range(start, 10_000) if red(f"v{i}") is want_red)


def campaign_ids(body):
    return [c["id"] for c in body["campaigns"]]


ALWAYS = ["c-text", "c-html", "c-image", "c-redirect", "c-bad-redirect", "c-number"]


def test_normal_mode_writes_every_field_in_order(served, api):
    vid = visitor(want_red=True)
    response = api.post(f"{PREFIX_V2}/campaigns", {"visitorId": vid, "context": {}})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["X-Flagship-Version"] == __version__
    body = response.json()
    assert list(body) == ["visitorId", "campaigns"]
    assert body["visitorId"] == vid
    assert campaign_ids(body) == ["c-ab", *ALWAYS]
    ab = body["campaigns"][0]
    assert list(ab) == [
        "id",
        "name",
        "slug",
        "type",
        "variationGroupId",
        "variationGroupName",
        "variation",
    ]
    assert list(ab["variation"]) == ["id", "name", "reference", "modifications"]
    assert ab == {
        "id": "c-ab",
        "name": "Checkout test",
        "slug": "checkout",
        "type": "ab",
        "variationGroupId": "vg-ab",
        "variationGroupName": "All users",
        "variation": {
            "id": "var-ab-red",
            "name": "Red",
            "reference": False,
            "modifications": {"type": "FLAG", "value": {"btnColor": "red", "btnSize": 2}},
        },
    }
    text = body["campaigns"][1]
    assert text["slug"] == "hello"
    assert text["variation"]["modifications"] == {
        "type": "TEXT",
        "value": {"greeting": "Hello, ünïcode"},
    }


def test_missing_metadata_is_written_as_null(served, api):
    data = served.data
    del data["campaigns"][0]["name"]
    del data["campaigns"][0]["slug"]
    del data["campaigns"][0]["variationGroups"][0]["name"]
    for variation in data["campaigns"][0]["variationGroups"][0]["variations"]:
        del variation["name"]
    served.replace(data)
    body = api.post(f"{PREFIX_V2}/campaigns", {"visitor_id": visitor(True)}).json()
    ab = body["campaigns"][0]
    assert ab["name"] is None
    assert ab["slug"] is None
    assert ab["variationGroupName"] is None
    assert ab["variation"]["name"] is None


def test_reference_variation_without_expose_all_keys_drops_nulls(served, api):
    vid = visitor(want_red=False)
    body = api.post(f"{PREFIX_V2}/campaigns", {"visitorId": vid}).json()
    ab = body["campaigns"][0]
    assert ab["variation"]["id"] == "var-ab-ref"
    assert ab["variation"]["reference"] is True
    assert ab["variation"]["modifications"]["value"] == {}


def test_expose_all_keys_adds_sibling_keys_as_null(served, api):
    vid = visitor(want_red=False)
    body = api.post(f"{PREFIX_V2}/campaigns?exposeAllKeys=true", {"visitorId": vid}).json()
    value = body["campaigns"][0]["variation"]["modifications"]["value"]
    assert value == {"btnColor": None, "btnSize": None}
    red_body = api.post(
        f"{PREFIX_V2}/campaigns?exposeAllKeys=true", {"visitorId": visitor(True)}
    ).json()
    assert red_body["campaigns"][0]["variation"]["modifications"]["value"] == {
        "btnColor": "red",
        "btnSize": 2,
    }


def test_trailing_slash_as_the_official_sdk_calls_it(served, api):
    vid = visitor(True)
    plain = api.post(f"{PREFIX_V2}/campaigns?exposeAllKeys=true", {"visitorId": vid})
    slash = api.post(f"{PREFIX_V2}/campaigns/?exposeAllKeys=true", {"visitorId": vid})
    assert slash.status_code == 200
    assert slash.json() == plain.json()


def test_sdk_body_is_accepted_verbatim(served, api):
    body = {
        "visitorId": "v1",
        "anonymousId": None,
        "visitor_consent": True,
        "trigger_hit": False,
        "context": {"fs_client": "python", "fs_version": "3.0.1", "age": 31, "isVip": True},
    }
    response = api.post(f"{PREFIX_V2}/campaigns/?exposeAllKeys=true", body)
    assert response.status_code == 200
    assert "c-vip" in campaign_ids(response.json())
    assert served.activations == []


def test_snake_case_and_camel_case_give_the_same_answer(served, api):
    snake = api.post(f"{PREFIX_V2}/campaigns", {"visitor_id": "v7", "context": {"isVip": True}})
    camel = api.post(f"{PREFIX_V2}/campaigns", {"visitorId": "v7", "context": {"isVip": True}})
    assert snake.json() == camel.json()


def test_simple_mode(served, api):
    vid = visitor(True)
    response = api.post(f"{PREFIX_V2}/campaigns?mode=simple", {"visitorId": vid})
    body = response.json()
    assert list(body) == ["campaignsVariation", "mergedModifications"]
    assert body["campaignsVariation"][0] == {"campaignId": "c-ab", "variationId": "var-ab-red"}
    assert [c["campaignId"] for c in body["campaignsVariation"]] == ["c-ab", *ALWAYS]
    assert body["mergedModifications"] == {
        "btnColor": "red",
        "btnSize": 2,
        "greeting": "Hello, ünïcode",
        "banner": "<b>Sale</b>",
        "hero": "https://cdn.example.com/hero.png",
        "target": "javascript:alert(1)",
        "count": 3,
    }


def test_full_mode_and_later_campaign_wins_the_merge(served, api):
    vid = visitor(True)
    body = api.post(
        f"{PREFIX_V2}/campaigns?mode=full", {"visitorId": vid, "context": {"isVip": True}}
    ).json()
    assert list(body) == ["visitorId", "campaigns", "campaignsVariation", "mergedModifications"]
    assert body["visitorId"] == vid
    assert campaign_ids(body) == ["c-ab", "c-vip", *ALWAYS]
    assert [c["campaignId"] for c in body["campaignsVariation"]] == campaign_ids(body)
    # c-ab says red, the later c-vip says gold
    assert body["mergedModifications"]["btnColor"] == "gold"
    assert body["mergedModifications"]["vip"] is True


def test_panic(served, api):
    data = served.data
    data["panic"] = True
    served.replace(data)
    for mode in ("normal", "simple", "full"):
        response = api.post(f"{PREFIX_V2}/campaigns?mode={mode}", {"visitorId": "v1"})
        assert response.status_code == 200
        assert response.json() == {"visitorId": "v1", "campaigns": [], "panic": True}
    assert served.activations == []


def test_route_without_environment_takes_the_environment_of_the_key(served, api):
    response = api.post("/decision-api/v2/campaigns", {"visitorId": "v3"})
    assert response.status_code == 200
    assert response.json() == api.post(f"{PREFIX_V2}/campaigns", {"visitorId": "v3"}).json()
    slash = api.post("/decision-api/v2/campaigns/", {"visitorId": "v3"})
    assert slash.json() == response.json()
    assert (
        api.post("/decision-api/v2/campaigns", {"visitorId": "v3"}, key="nope").status_code == 403
    )


def test_second_key_of_the_environment_works(served, api):
    from .conftest import OTHER_KEY

    assert api.post(f"{PREFIX_V2}/campaigns", {"visitorId": "v"}, key=OTHER_KEY).status_code == 200


def test_no_store_header(served, api):
    response = api.post(f"{PREFIX_V2}/campaigns", {"visitorId": "v"})
    assert response["Cache-Control"] == "no-store"


# -- one campaign ------------------------------------------------------------------


@pytest.mark.parametrize("ident", ["c-ab", "checkout"])
def test_single_campaign_by_id_or_slug(served, api, ident):
    vid = visitor(True)
    response = api.post(f"{PREFIX_V2}/campaigns/{ident}", {"visitorId": vid})
    assert response.status_code == 200
    full = api.post(f"{PREFIX_V2}/campaigns", {"visitorId": vid}).json()
    assert response.json() == full["campaigns"][0]


def test_single_campaign_by_key_route(served, api):
    response = api.post("/decision-api/v2/campaigns/c-text", {"visitorId": "v"})
    assert response.status_code == 200
    assert response.json()["id"] == "c-text"


def test_single_campaign_not_assigned_is_204(served, api):
    response = api.post(f"{PREFIX_V2}/campaigns/c-never", {"visitorId": "v"})
    assert response.status_code == 204
    assert response.content == b""
    untargeted = api.post(f"{PREFIX_V2}/campaigns/c-vip", {"visitorId": "v"})
    assert untargeted.status_code == 204


def test_single_campaign_unknown_is_404(served, api):
    response = api.post(f"{PREFIX_V2}/campaigns/nope", {"visitorId": "v"})
    assert response.status_code == 404
    assert "nope" in response.json()["message"]


def test_single_campaign_format_text_and_html(served, api):
    text = api.post(f"{PREFIX_V2}/campaigns/c-text", FORMAT)
    assert text.status_code == 200
    assert text["Content-Type"] == "text/plain; charset=utf-8"
    assert text.content.decode() == "Hello, ünïcode"
    html = api.post(f"{PREFIX_V2}/campaigns/c-html", {"visitorId": "v", "formatResponse": True})
    assert html["Content-Type"] == "text/html; charset=utf-8"
    assert html.content == b"<b>Sale</b>"
    number = api.post(
        f"{PREFIX_V2}/campaigns/c-number", {"visitorId": "v", "format_response": True}
    )
    assert number.content == b"3"


def test_single_campaign_format_image_redirects_and_never_fetches(served, api):
    response = api.post(
        f"{PREFIX_V2}/campaigns/c-image", {"visitorId": "v", "format_response": True}
    )
    assert response.status_code == 302
    assert response["Location"] == "https://cdn.example.com/hero.png"


def test_single_campaign_format_flag_in_v2_is_the_campaign(served, api):
    vid = visitor(True)
    response = api.post(f"{PREFIX_V2}/campaigns/c-ab", {"visitorId": vid, "format_response": True})
    assert response.status_code == 200
    assert response.json()["variation"]["id"] == "var-ab-red"


def test_single_campaign_format_redirect(served, api):
    response = api.post(
        f"{PREFIX_V2}/campaigns/c-redirect", {"visitorId": "v", "format_response": True}
    )
    assert response.status_code == 302
    assert response["Location"] == "https://example.com/new"
    assert json.loads(response.content) == {"target": "https://example.com/new"}


def test_single_campaign_unsafe_redirect_value_is_not_followed(served, api):
    response = api.post(
        f"{PREFIX_V2}/campaigns/c-bad-redirect", {"visitorId": "v", "format_response": True}
    )
    assert response.status_code == 200
    assert response.json()["id"] == "c-bad-redirect"
    assert "Location" not in response
