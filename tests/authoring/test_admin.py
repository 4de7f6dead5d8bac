"""The admin: a variation group's page is checked whole, and nothing is half-saved."""

import json

import pytest
from django.test import TestCase

from django_flagship.authoring.models import Campaign, Targeting, Variation, VariationGroup
from django_flagship.authoring.transfer import export_document, import_document
from django_flagship.flags import Flags

from .conftest import REPO_FILES, read

pytestmark = pytest.mark.django_db
ADD = "/admin/flagship_authoring/variationgroup/add/"


@pytest.fixture
def site(local):
    local.ROOT_URLCONF = "tests.authoring.urls"
    return local


def management(prefix, total, initial=0):
    return {
        f"{prefix}-TOTAL_FORMS": str(total),
        f"{prefix}-INITIAL_FORMS": str(initial),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }


def group_page(campaign, targetings, variations, **fields):
    data = {
        "campaign": str(campaign.pk),
        "group_id": fields.get("group_id", "g-new"),
        "name": "Everyone",
        "position": "0",
        **management("targetings", len(targetings)),
        **management("variations", len(variations)),
    }
    for index, (key, operator, value) in enumerate(targetings):
        data.update(
            {
                f"targetings-{index}-group": "1",
                f"targetings-{index}-key": key,
                f"targetings-{index}-operator": operator,
                f"targetings-{index}-value": value,
                f"targetings-{index}-position": str(index),
            }
        )
    for index, (var_id, allocation, flags) in enumerate(variations):
        data.update(
            {
                f"variations-{index}-variation_id": var_id,
                f"variations-{index}-name": var_id,
                f"variations-{index}-allocation": str(allocation),
                f"variations-{index}-modification_type": "FLAG",
                f"variations-{index}-flags": flags,
                f"variations-{index}-position": str(index),
            }
        )
    return data


def counts():
    return tuple(m.objects.count() for m in (Campaign, VariationGroup, Variation, Targeting))


def post(admin_client, url, data):
    with TestCase.captureOnCommitCallbacks(execute=True):
        return admin_client.post(url, data)


def test_a_group_saved_whole_is_served(site, admin_client):
    campaign = Campaign.objects.create(campaign_id="c-admin", slug="banner")
    response = post(
        admin_client,
        ADD,
        group_page(
            campaign,
            [("plan", "EQUALS", "gold"), ("age", "GREATER_THAN_OR_EQUALS", "18")],
            [("v-a", 50, '{"banner": "A"}'), ("v-b", 50, '{"banner": "B"}')],
        ),
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    group = VariationGroup.objects.get(group_id="g-new")
    assert [(t.key, t.value) for t in group.targetings.all()] == [("plan", "gold"), ("age", 18)]
    values = {Flags(f"v{n}", {"plan": "gold", "age": 30}).get("banner", "") for n in range(60)}
    assert values == {"A", "B"}
    assert Flags("v1", {"plan": "gold", "age": 12}).get("banner", "") == ""


@pytest.mark.parametrize(
    ("targetings", "variations", "message"),
    [
        ([("plan", "EQUALS", "gold")], [("v-a", 60, "{}"), ("v-b", 60, "{}")], "add up to 120"),
        ([("age", "CONTAINS", "18")], [("v-a", 100, "{}")], "CONTAINS compares strings"),
        ([("plan", "SEMVER_EQUALS", "gold")], [("v-a", 100, "{}")], "semantic version"),
        ([], [("v-a", 100, "{}")], "needs at least one targeting"),
        ([("plan", "EQUALS", "gold")], [], "needs at least one variation"),
        ([("plan", "EQUALS", "gold")], [("v-a", 100, '{"k": 1, "k": 2}')], "appears twice"),
        ([("plan", "EQUALS", "gold")], [("v-a", 100, "[1]")], "must be a JSON object"),
        ([("plan", "EQUALS", "gold")], [("v-a", 100, "{oops")], "not JSON"),
        ([("plan", "EQUALS", "gold")], [("v a", 100, "{}")], "must be 1 to 64 letters"),
        ([("plan", "EQUALS", "gold")], [("v-a", 101, "{}")], "from 0 to 100"),
    ],
)
def test_bad_input_is_shown_and_nothing_is_saved(
    site, admin_client, targetings, variations, message
):
    campaign = Campaign.objects.create(campaign_id="c-admin")
    before, exported = counts(), export_document()
    response = post(admin_client, ADD, group_page(campaign, targetings, variations))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert counts() == before
    assert export_document() == exported


def test_an_edit_that_breaks_a_rule_leaves_the_group_as_it_was(site, admin_client):
    import_document(read(REPO_FILES[0]))
    group = VariationGroup.objects.get(group_id="cp3h8v2jq7a0004ka3m0")
    url = f"/admin/flagship_authoring/variationgroup/{group.pk}/change/"
    page = admin_client.get(url)
    assert page.status_code == 200
    data = {
        key: value
        for key, value in _form_values(page).items()
        if not key.startswith(("_", "csrfmiddlewaretoken"))
    }
    before = export_document()
    data["variations-1-allocation"] = "80"  # 34 + 80 + 33
    response = post(admin_client, url, data)
    assert response.status_code == 200
    assert "the allocations add up to 147, more than 100" in response.content.decode()
    assert export_document() == before
    data["variations-1-allocation"] = "33"
    data["variations-1-flags"] = json.dumps({"btnColor": "#000000", "btnText": "Go"})
    data["variations-0-allocation"] = "34"
    assert post(admin_client, url, data).status_code == 302
    after = export_document()
    assert after["campaigns"][0]["variationGroups"][0]["variations"][1]["modifications"][
        "value"
    ] == {"btnColor": "#000000", "btnText": "Go"}


def _form_values(response):
    """The values of a rendered admin form, as a browser would post them."""
    from html.parser import HTMLParser

    values = {}

    class Form(HTMLParser):
        textarea = None
        select = None

        def handle_starttag(self, tag, attrs):
            attrs = dict(attrs)
            name = attrs.get("name")
            if tag == "input" and name:
                if attrs.get("type") == "checkbox":
                    if "checked" in attrs:
                        values[name] = "on"
                elif attrs.get("type") not in ("submit", "button"):
                    values[name] = attrs.get("value", "")
            elif tag == "textarea" and name:
                self.textarea = name
                values[name] = ""
            elif tag == "select" and name:
                self.select = name
            elif tag == "option" and self.select and "selected" in attrs:
                values[self.select] = attrs.get("value", "")

        def handle_endtag(self, tag):
            if tag == "textarea":
                self.textarea = None
            elif tag == "select":
                self.select = None

        def handle_data(self, data):
            if self.textarea:
                values[self.textarea] += data

    Form().feed(response.content.decode())
    return {k: v.strip("\n") if k.endswith("flags") else v for k, v in values.items()}


def test_the_campaign_list_and_actions(site, admin_client):
    import_document(read(REPO_FILES[0]))
    page = admin_client.get("/admin/flagship_authoring/campaign/")
    assert page.status_code == 200
    assert "btnColor, btnText" in page.content.decode()
    ids = list(Campaign.objects.filter(slug="vip-welcome").values_list("pk", flat=True))
    response = post(
        admin_client,
        "/admin/flagship_authoring/campaign/",
        {"action": "disable", "_selected_action": [str(pk) for pk in ids]},
    )
    assert response.status_code == 302
    assert not Campaign.objects.get(slug="vip-welcome").enabled
    assert Flags("v", {"isVip": True}).get("vipBanner", False) is False


def test_the_campaign_page_links_to_a_new_group(site, admin_client):
    import_document(read(REPO_FILES[0]))
    campaign = Campaign.objects.get(slug="buy-button")
    page = admin_client.get(f"/admin/flagship_authoring/campaign/{campaign.pk}/change/")
    assert f"{ADD}?campaign={campaign.pk}" in page.content.decode()
    assert "fs_all_users EQUALS" in page.content.decode()


def test_bucket_ranges_are_checked_on_the_campaign_page(site, admin_client):
    response = post(
        admin_client,
        "/admin/flagship_authoring/campaign/add/",
        {
            "campaign_id": "c-x",
            "type": "toggle",
            "enabled": "on",
            "position": "0",
            "bucket_ranges": '[{"r": [50, 10]}]',
            **management("variation_groups", 0),
        },
    )
    assert response.status_code == 200
    assert "is not 0 &lt;= start &lt; end &lt;= 100" in response.content.decode()
    assert not Campaign.objects.exists()
