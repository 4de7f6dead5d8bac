import pytest
import responses
from django.test import TestCase

from django_flagship.flags import Flags
from django_flagship.sdk.hits import Event, EventCategory
from django_flagship.testing import FlagOverride, override_flags

pytestmark = [pytest.mark.urls("tests.django.urls"), pytest.mark.django_db]


def test_context_manager_serves_only_the_overrides(configured):
    with override_flags({"vip_feature": False, "btn_color": "purple"}) as override:
        flags = Flags("v")
        assert flags.get("vip_feature", True) is False
        assert flags.get("btn_color", "blue") == "purple"
        assert flags.get("max_items", 1) == 1  # in the bucket, but not overridden
        assert flags.all() == {"vip_feature": False, "btn_color": "purple"}
        assert "max_items" not in flags
        assert flags.info("btn_color")["campaignId"] == "override"
    assert isinstance(override, FlagOverride)
    assert Flags("v").get("btn_color", "blue") == "red"  # back to the bucket


def test_typing_rules_still_apply():
    with override_flags({"vip_feature": 1}):
        assert Flags("v").get("vip_feature", False) is False


def test_activations_and_hits_are_recorded_not_sent(client, configured, tracker):
    with override_flags(btn_color="red") as override:
        client.get("/page/")
        client.get("/event/")
    assert override.activations == ["btn_color"]
    assert [hit.to_payload()["ea"] for hit in override.hits] == ["click"]
    assert tracker.activations == []
    assert tracker.hits == []


@responses.activate
def test_no_network_even_in_decision_api_mode(settings):
    settings.FLAGSHIP_MODE = "DECISION_API"
    settings.FLAGSHIP_ENV_ID = "env"
    settings.FLAGSHIP_API_KEY = "key"
    with override_flags({"vip_feature": True}):
        assert Flags("v").get("vip_feature", False) is True
    assert len(responses.calls) == 0  # responses would also refuse any call


@override_flags({"vip_feature": True})
def test_function_decorator():
    assert Flags("v").get("vip_feature", False) is True


@override_flags({"btn_color": "teal"})
@pytest.mark.asyncio
async def test_async_function_decorator():
    assert await Flags("v").aget("btn_color", "blue") == "teal"


@override_flags({"btn_color": "teal"})
class TestPlainClass:
    def test_method(self):
        assert Flags("v").get("btn_color", "blue") == "teal"

    def test_other_method(self, configured):
        # The bucket gives everyone vip_feature=True: under the override, only the
        # overridden flags exist.
        assert Flags("v").get("vip_feature", False) is False
        assert Flags("v").get("btn_color", "blue") == "teal"


def test_without_the_override_the_bucket_decides(configured):
    assert Flags("v").get("vip_feature", False) is True
    assert Flags("v").get("btn_color", "blue") == "red"


@override_flags({"btn_color": "navy"})
class OverrideTestCase(TestCase):
    def test_method(self):
        assert Flags("v").get("btn_color", "blue") == "navy"


def test_nested_overrides_add_up():
    with override_flags({"a": 1, "b": 2}), override_flags({"b": 3}):
        flags = Flags("v")
        assert (flags.get("a", 0), flags.get("b", 0)) == (1, 3)
    assert Flags("v").get("a", 0) == 0


def test_fixture(flagship_flags, client, configured):
    flagship_flags["vip_feature"] = False
    assert client.get("/vip/").status_code == 404
    flagship_flags.update({"vip_feature": True})
    assert client.get("/vip/").status_code == 200
    assert "vip_feature" in flagship_flags
    del flagship_flags["vip_feature"]
    assert list(flagship_flags) == []


def test_hits_are_validated_under_override():
    with override_flags() as override:
        assert Flags("v").send_hit(Event(EventCategory.ACTION_TRACKING, "")) is False
    assert override.hits == []
