"""``manage.py flagship_flag``: one command per change, a clear error and no change otherwise."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import TestCase

from django_flagship.authoring.compiler import campaign_document
from django_flagship.authoring.models import Campaign, Targeting, Variation, VariationGroup
from django_flagship.authoring.transfer import export_document, import_document
from django_flagship.flags import Flags

from .conftest import REPO_FILES, read

pytestmark = pytest.mark.django_db


def run(*args):
    """The command, with what it publishes when its transaction commits."""
    out = StringIO()
    with TestCase.captureOnCommitCallbacks(execute=True):
        call_command("flagship_flag", *args, stdout=out)
    return out.getvalue()


def state():
    return export_document(include_disabled=True), tuple(
        m.objects.count() for m in (Campaign, VariationGroup, Variation, Targeting)
    )


def test_create_with_a_percent_and_a_target(local):
    out = run("create", "vip_feature", "--type", "bool", "--value", "true", "--percent", "50",
              "--target", "plan=gold")  # fmt: skip
    assert out == "Created 'vip_feature': true for 50% of visitors with plan EQUALS \"gold\".\n"
    item = campaign_document(Campaign.objects.get(slug="vip_feature"))
    group = item["variationGroups"][0]
    assert group["targeting"] == {
        "targetingGroups": [
            {"targetings": [{"key": "plan", "operator": "EQUALS", "value": "gold"}]}
        ]
    }
    assert [(v["allocation"], v["modifications"]["value"]) for v in group["variations"]] == [
        (50, {"vip_feature": True})
    ]
    got = [Flags(f"v{n}", {"plan": "gold"}).get("vip_feature", False) for n in range(400)]
    assert 150 < sum(got) < 250
    assert not any(Flags(f"v{n}", {"plan": "free"}).get("vip_feature", False) for n in range(50))


def test_create_defaults_to_true_for_everyone(local):
    run("create", "new_checkout")
    assert Flags("anyone", {}).get("new_checkout", False) is True


def test_create_a_split(local):
    out = run("create", "btn_color", "--split", "red=50", "--split", "blue=50")
    assert out == 'Created \'btn_color\': "red" 50%, "blue" 50% of everyone.\n'
    item = campaign_document(Campaign.objects.get(slug="btn_color"))
    assert item["type"] == "ab"
    variations = item["variationGroups"][0]["variations"]
    assert [v["reference"] for v in variations] == [True, False]
    assert {Flags(f"v{n}", {}).get("btn_color", "") for n in range(100)} == {"red", "blue"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--percent", "150"], "--percent 150 is not from 0 to 100"),
        (["--percent", "half"], "--percent 'half' is not a whole number"),
        (["--target", "age>=true"], "GREATER_THAN_OR_EQUALS compares numbers or strings"),
        (["--target", "plan"], "cannot read the target 'plan'"),
        (["--target", "plan LIKE gold"], "cannot read the target"),
        (["--split", "red=60", "--split", "blue=60"], "the allocations add up to 120"),
        (["--split", "red"], "--split 'red' is not VALUE=PERCENT"),
        (["--split", "red=50", "--value", "x"], "no --value or --percent"),
        (["--type", "int", "--value", "ten"], "'ten' is not a whole number"),
        (["--type", "bool", "--value", "maybe"], "'maybe' is not a boolean"),
        (["--type", "json", "--value", '{"a": 1, "a": 2}'], "the key 'a' appears twice"),
        (["--type", "str"], "--type str needs --value"),
    ],
)
def test_bad_input_is_a_clear_error_and_changes_nothing(local, args, message):
    import_document(read(REPO_FILES[1]))
    before = state()
    with pytest.raises(CommandError, match=message.replace("(", r"\(")):
        run("create", "vip_feature", *args)
    assert state() == before


def test_a_key_in_use_is_refused(local):
    run("create", "vip_feature")
    with pytest.raises(CommandError, match="The flag 'vip_feature' exists; change it with"):
        run("create", "vip_feature", "--value", "false")


def test_update_keeps_the_ids_so_visitors_keep_their_buckets(local):
    run("create", "rollout", "--percent", "20")
    before = campaign_document(Campaign.objects.get(slug="rollout"))
    had = {n for n in range(300) if Flags(f"v{n}", {}).get("rollout", False)}
    out = run("update", "rollout", "--percent", "60")
    assert out == "Updated 'rollout': true for 60% of everyone.\n"
    after = campaign_document(Campaign.objects.get(slug="rollout"))
    assert after["id"] == before["id"]
    assert after["variationGroups"][0]["id"] == before["variationGroups"][0]["id"]
    assert [v["id"] for v in after["variationGroups"][0]["variations"]] == [
        v["id"] for v in before["variationGroups"][0]["variations"]
    ]
    now = {n for n in range(300) if Flags(f"v{n}", {}).get("rollout", False)}
    assert had < now


def test_update_targets_and_value(local):
    run("create", "banner", "--value", "summer", "--target", "country=fr")
    run("update", "banner", "--value", "winter", "--target", "country CONTAINS e")
    assert Flags("v", {"country": "de"}).get("banner", "") == "winter"
    run("update", "banner", "--everyone")
    assert Flags("v", {}).get("banner", "") == "winter"


def test_update_a_split_needs_its_values(local):
    run("create", "btn", "--split", "red=50", "--split", "blue=50")
    with pytest.raises(CommandError, match="'btn' is a split"):
        run("update", "btn", "--percent", "10")
    run("update", "btn", "--split", "red=10", "--split", "blue=10")
    (campaign,) = export_document()["campaigns"]
    shares = [v["allocation"] for v in campaign["variationGroups"][0]["variations"]]
    assert shares == [10, 10]


def test_update_refuses_a_campaign_authored_otherwise(local):
    import_document(read(REPO_FILES[0]))
    with pytest.raises(CommandError, match="change it in the admin"):
        run("update", "free-shipping", "--percent", "10")


def test_list_show_enable_disable_delete(local):
    run("create", "vip_feature")
    run("create", "btn_color", "--split", "red=50", "--split", "blue=50")
    assert run("list").splitlines() == [
        "on  vip_feature                    toggle   flags: vip_feature",
        "on  btn_color                      ab       flags: btn_color",
    ]
    shown = json.loads(run("show", "vip_feature"))
    assert shown["slug"] == "vip_feature"
    assert run("disable", "vip_feature") == "Disabled 'vip_feature'.\n"
    assert run("disable", "vip_feature") == "'vip_feature' is already disabled.\n"
    assert Flags("v", {}).get("vip_feature", False) is False
    assert run("list").startswith("off vip_feature")
    assert run("show", "vip_feature").endswith("(disabled: not in the bucketing file)\n")
    assert run("enable", "vip_feature") == "Enabled 'vip_feature'.\n"
    assert Flags("v", {}).get("vip_feature", False) is True
    assert run("delete", "vip_feature") == "Deleted 'vip_feature'.\n"
    assert not Campaign.objects.filter(slug="vip_feature").exists()
    assert Flags("v", {}).get("vip_feature", False) is False


def test_unknown_keys_name_the_campaigns_that_set_them(local):
    import_document(read(REPO_FILES[0]))
    with pytest.raises(CommandError, match="No flag 'btnColor'; campaigns that set it: buy-button"):
        run("show", "btnColor")
    with pytest.raises(CommandError, match=r"No flag 'nothing'\. 'flagship_flag list'"):
        run("delete", "nothing")


def test_list_without_campaigns(local):
    assert run("list") == "No authored campaign. Create one: flagship_flag create KEY\n"


def test_an_unmigrated_database_is_named(local, monkeypatch):
    from django.db import DatabaseError

    def broken(*args, **kwargs):
        raise DatabaseError("no such table: flagship_authoring_campaign")

    monkeypatch.setattr(Campaign.objects, "filter", broken)
    with pytest.raises(CommandError, match=r"Has 'manage\.py migrate' run"):
        run("create", "x")


def test_a_change_says_when_the_site_does_not_decide_from_it(settings):
    settings.FLAGSHIP_BUCKET_SOURCE = "cdn"
    err = StringIO()
    call_command("flagship_flag", "create", "x", stdout=StringIO(), stderr=err)
    assert 'FLAGSHIP_BUCKET_SOURCE is not "local"' in err.getvalue()
    assert Campaign.objects.filter(slug="x").exists()
