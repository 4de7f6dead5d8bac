"""The OpenFeature provider inside Django: the site's client, visitors and overrides."""

import asyncio
import json
import threading

import mmh3
import pytest
import responses
from django.contrib.auth.models import User
from openfeature import api
from openfeature.evaluation_context import EvaluationContext
from openfeature.event import ProviderEvent
from openfeature.exception import ErrorCode
from openfeature.flag_evaluation import Reason
from openfeature.provider import ProviderStatus
from openfeature.track import TrackingEventDetails

from benchmarks.loopback_decision_api import LoopbackDecisionApi
from django_flagship import client as flagship_client
from django_flagship.contrib.openfeature import django_provider
from django_flagship.identity import ANONYMOUS_ID_SESSION_KEY
from django_flagship.sdk import Status
from django_flagship.testing import override_flags

pytestmark = [pytest.mark.urls("tests.django.urls"), pytest.mark.django_db]


@pytest.fixture
def of_client(configured):
    api.set_provider_and_wait(django_provider())
    yield api.get_client()
    api.shutdown()


def on_site(client, key):
    response = client.get("/read/", {"key": key, "type": "str"})
    return response.json()


def ab_variation(visitor_id):
    return mmh3.hash(f"vg-ab{visitor_id}".encode(), 0, False) % 100 < 50


def wait_for(event):
    seen = threading.Event()
    details = []

    def handler(event_details):
        details.append(event_details)
        seen.set()

    api.add_handler(event, handler)
    return seen, details


def test_openfeature_and_request_flags_agree(client, of_client):
    user = User.objects.create_user("ada")
    anonymous = next(
        f"anon-{n}" for n in range(1000) if ab_variation(f"anon-{n}") != ab_variation(str(user.pk))
    )
    session = client.session
    session[ANONYMOUS_ID_SESSION_KEY] = anonymous
    session.save()
    client.force_login(user)
    site = on_site(client, "ab_color")
    details = of_client.get_string_details("ab_color", "", EvaluationContext(str(user.pk)))
    # The user's stored assignment (copied from their anonymous visit) wins here too.
    assert details.value == site["values"]["ab_color"]
    info = client.get("/all/").json()["info"]
    assert details.variant == info["variationId"]
    assert details.flag_metadata["campaignId"] == info["campaignId"] == "c-ab"
    expected = Reason.TARGETING_MATCH if info["isReference"] else Reason.SPLIT
    assert details.reason == expected


def test_values_reasons_and_activation(of_client, tracker):
    context = EvaluationContext("v1", {"is_staff": True})
    assert of_client.get_boolean_value("staff_tool", False, context) is True
    assert of_client.get_integer_value("whole", 0, context) == 3
    assert of_client.get_float_value("ratio", 0.0, context) == 0.5
    assert of_client.get_string_details("nothing", "x", context).reason == Reason.DEFAULT
    assert of_client.get_boolean_details("mobile_layout", False, context).reason == Reason.DEFAULT
    missing = of_client.get_boolean_details("no_such_flag", False, context)
    assert missing.error_code == ErrorCode.FLAG_NOT_FOUND
    assert {(a.visitor_id, a.variation_id) for a in tracker.activations} == {
        ("v1", "v-staff-on"),
        ("v1", "v-toggles-on"),
    }


def test_auto_activate_setting_is_followed_unless_given(configured, tracker):
    configured.FLAGSHIP_AUTO_ACTIVATE = False
    api.set_provider_and_wait(django_provider())
    try:
        api.get_client().get_boolean_value("vip_feature", False, EvaluationContext("v"))
        assert tracker.activations == []
    finally:
        api.shutdown()
    api.set_provider_and_wait(django_provider(activate=True))
    try:
        api.get_client().get_boolean_value("vip_feature", False, EvaluationContext("v"))
        assert len(tracker.activations) == 1
    finally:
        api.shutdown()


def test_override_flags_wins_over_cached_decisions(of_client):
    context = EvaluationContext("v2")
    assert of_client.get_boolean_value("vip_feature", False, context) is True
    with override_flags({"vip_feature": False, "beta": "on"}) as override:
        details = of_client.get_boolean_details("vip_feature", True, context)
        assert (details.value, details.error_code) == (False, None)
        assert of_client.get_string_value("beta", "", context) == "on"
        of_client.track("clicked", context)
    assert override.activations == ["vip_feature", "beta"]
    assert [hit.to_payload()["ea"] for hit in override.hits] == ["clicked"]


def test_track_sends_through_the_site_tracker(of_client, tracker):
    of_client.track("signup", EvaluationContext("v3"), TrackingEventDetails(value=2))
    events = [h for h in tracker.hits if h.hit_type == "EVENT"]
    assert [(h.visitor_id, h.payload["ea"], h.payload["ev"]) for h in events] == [
        ("v3", "signup", 2)
    ]


def test_shutdown_flushes_but_leaves_the_site_client_running(configured):
    api.set_provider_and_wait(django_provider())
    site_client = flagship_client.get_client()
    flushed = []
    original = site_client.tracker.flush
    site_client.tracker.flush = lambda timeout=None: flushed.append(timeout) or original(timeout)
    api.shutdown()
    assert flushed == [2.0]
    assert site_client.status is Status.READY


def test_a_bucket_refresh_emits_configuration_changed(of_client, tmp_path, bucket_path):
    changed, details = wait_for(ProviderEvent.PROVIDER_CONFIGURATION_CHANGED)
    context = EvaluationContext("v4")
    assert of_client.get_boolean_value("vip_feature", False, context) is True
    data = json.loads(bucket_path.read_text())
    data["campaigns"][0]["variationGroups"][0]["variations"][0]["modifications"]["value"][
        "vip_feature"
    ] = False
    new_file = tmp_path / "v2.json"
    new_file.write_text(json.dumps(data))
    flagship_client.get_store().load_file(str(new_file))
    assert changed.wait(5)
    assert details[0].flags_changed == sorted(
        data["campaigns"][0]["variationGroups"][0]["variations"][0]["modifications"]["value"]
    )
    assert of_client.get_boolean_value("vip_feature", True, context) is False


def test_a_client_rebuilt_by_a_settings_change_still_reaches_the_provider(
    of_client, configured, tmp_path, bucket_path
):
    before = flagship_client.get_client()
    configured.FLAGSHIP_BUCKET_CHECK_INTERVAL = 0.5  # rebuilds the client and its poller
    assert flagship_client.get_client() is not before
    changed, _details = wait_for(ProviderEvent.PROVIDER_CONFIGURATION_CHANGED)
    data = json.loads(bucket_path.read_text())
    data["campaigns"].pop()
    new_file = tmp_path / "v2.json"
    new_file.write_text(json.dumps(data))
    flagship_client.get_store().load_file(str(new_file))
    assert changed.wait(5)


def test_unconfigured_is_not_ready(settings):
    errored, _ = wait_for(ProviderEvent.PROVIDER_ERROR)
    api.set_provider(django_provider())
    try:
        assert errored.wait(5)
        client = api.get_client()
        assert client.get_provider_status() == ProviderStatus.ERROR
        details = client.get_boolean_details("vip_feature", False, EvaluationContext("v"))
        assert details.error_code == ErrorCode.PROVIDER_NOT_READY
    finally:
        api.shutdown()


def test_decision_api_mode_one_call_for_several_flags(settings):
    settings.FLAGSHIP_MODE = "DECISION_API"
    settings.FLAGSHIP_ENV_ID = "env"
    settings.FLAGSHIP_API_KEY = "key"
    settings.FLAGSHIP_DECISION_API_URL = "https://decision.example.test/v2"
    settings.FLAGSHIP_TRACKER = "tests.django.support.memory_tracker"
    campaign = {
        "id": "c1",
        "type": "ab",
        "variationGroupId": "vg1",
        "variation": {
            "id": "var1",
            "modifications": {"type": "FLAG", "value": {"beta": True, "limit": 4}},
        },
    }
    api.set_provider_and_wait(django_provider())
    try:
        with responses.RequestsMock() as mocked:
            mocked.post(
                "https://decision.example.test/v2/env/campaigns",
                json={"visitorId": "v", "campaigns": [campaign]},
            )
            client = api.get_client()
            context = EvaluationContext("v", {"plan": "pro"})
            beta = client.get_boolean_details("beta", False, context)
            assert (beta.value, beta.reason) == (True, Reason.SPLIT)
            assert client.get_integer_value("limit", 0, context) == 4
            posts = [call for call in mocked.calls if call.request.method == "POST"]
            assert len(posts) == 1
    finally:
        api.shutdown()


@pytest.mark.asyncio
async def test_async_resolution_runs_the_decision_off_the_loop(of_client):
    loop_thread = threading.get_ident()
    threads = []
    site_client = flagship_client.get_client()
    original = site_client.create_visitor

    def create_visitor(*args, **kwargs):
        threads.append(threading.get_ident())
        return original(*args, **kwargs)

    site_client.create_visitor = create_visitor
    value = await of_client.get_boolean_value_async("vip_feature", False, EvaluationContext("v5"))
    assert value is True
    assert threads
    assert loop_thread not in threads


@pytest.fixture
def slow_site_api(settings):
    """The site in DECISION_API mode on a loopback API answering after 0.3 s."""
    with LoopbackDecisionApi(0.3) as server:
        settings.FLAGSHIP_MODE = "DECISION_API"
        settings.FLAGSHIP_ENV_ID = "env"
        settings.FLAGSHIP_API_KEY = "key"
        settings.FLAGSHIP_DECISION_API_URL = server.url
        settings.FLAGSHIP_TRACKER = "tests.django.support.memory_tracker"
        api.set_provider_and_wait(django_provider())
        yield server
        api.shutdown()


@pytest.mark.asyncio
async def test_async_resolution_awaits_the_decision_api_on_the_loop(slow_site_api):
    client = api.get_client()
    values = await asyncio.gather(
        *(
            client.get_string_value_async("btn_color", "blue", EvaluationContext(f"v{i}"))
            for i in range(12)
        ),
        *(
            client.get_boolean_value_async("vip_feature", False, EvaluationContext("same"))
            for _ in range(4)
        ),
    )
    assert values == ["red"] * 12 + [True] * 4
    assert slow_site_api.calls == 13  # the four reads of "same" share one decision
    assert slow_site_api.max_in_flight == 13
    assert flagship_client.get_client().decision_manager.client.async_pool.loops == 1
