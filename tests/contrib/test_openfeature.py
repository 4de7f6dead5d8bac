"""FlagshipProvider on the SDK core alone, exercised through the OpenFeature API."""

import asyncio
import copy
import datetime
import json
import logging
import threading

import pytest
import responses
from openfeature import api
from openfeature.evaluation_context import EvaluationContext
from openfeature.event import ProviderEvent
from openfeature.exception import ErrorCode, ProviderFatalError
from openfeature.flag_evaluation import Reason
from openfeature.provider import ProviderStatus
from openfeature.track import TrackingEventDetails

from benchmarks.loopback_decision_api import LoopbackDecisionApi, Reply
from django_flagship.contrib.openfeature import FlagshipProvider, changed_flags
from django_flagship.sdk import Config, Flagship, Mode, Status
from django_flagship.sdk.bucketing import Bucket
from django_flagship.sdk.tracking import MemoryTracker
from tests.sdk.conftest import SAMPLE_BUCKET, all_users, variation

API_URL = "https://decision.example.test/v2/env/campaigns"

BUCKET = copy.deepcopy(SAMPLE_BUCKET)
BUCKET["campaigns"].append(
    {
        "id": "c-layout",
        "type": "perso",
        "slug": "layout",
        "variationGroups": [
            {
                "id": "vg-layout",
                "targeting": all_users(),
                "variations": [
                    variation(
                        "var-layout",
                        100,
                        {"layout": {"columns": [1, 2], "dense": True}, "order": ["a", "b"]},
                    )
                ],
            }
        ],
    }
)


class RecordingTracker(MemoryTracker):
    """Remembers the order in which the provider flushed and closed it."""

    def __init__(self):
        super().__init__()
        self.calls = []

    def flush(self, timeout=None):
        self.calls.append("flush")
        return super().flush(timeout)

    def close(self):
        self.calls.append("close")
        super().close()


class SwappableSource:
    """A bucket source whose bucket a test replaces, reporting it like the CDN source."""

    def __init__(self, bucket=None):
        self.bucket = bucket
        self.client = None

    def current(self):
        return self.bucket

    def install(self, data):
        self.bucket = Bucket.parse(data)
        self.client.notify_update(self.bucket)

    def close(self):
        pass


@pytest.fixture
def tracker():
    return RecordingTracker()


@pytest.fixture
def source():
    return SwappableSource(Bucket.parse(BUCKET))


@pytest.fixture
def flagship(source, tracker, handler):
    client = Flagship(
        Config("env", mode=Mode.BUCKETING, event_handler=handler),
        bucket_source=source,
        tracker=tracker,
    )
    source.client = client
    yield client
    client.stop()


@pytest.fixture
def provider(flagship):
    provider = FlagshipProvider(flagship)
    api.set_provider_and_wait(provider)
    yield provider
    api.shutdown()


@pytest.fixture
def of_client(provider):
    return api.get_client()


def ctx(key, **attributes):
    return EvaluationContext(key, attributes)


def visitor_in(client, variation_id):
    """A visitor id the bucket puts in ``variation_id`` (found with the SDK itself)."""
    for n in range(200):
        visitor = client.create_visitor(f"visitor-{n}")
        visitor.synchronize_modifications()
        if any(a.variation_id == variation_id for a in visitor.assignments):
            return f"visitor-{n}"
    raise AssertionError(f"no visitor lands in {variation_id}")


def wait_for(event, timeout=5.0):
    """Register a handler for ``event`` and return the threading.Event it sets."""
    seen = threading.Event()
    details = []

    def handler(event_details):
        details.append(event_details)
        seen.set()

    api.add_handler(event, handler)
    return seen, details


# -- values, variants, reasons, metadata ------------------------------------------


def test_boolean_from_targeting_carries_variant_reason_and_metadata(of_client, tracker):
    details = of_client.get_boolean_details("vip_feature", False, ctx("u1", isVip=True))
    assert details.value is True
    assert details.error_code is None
    assert details.reason == Reason.TARGETING_MATCH
    assert details.variant == "var-vip"
    assert details.flag_metadata == {
        "campaignId": "c-toggle",
        "variationGroupId": "vg-vip",
        "variationId": "var-vip",
        "isReference": False,
        "slug": "vip",
        "campaignType": "toggle",
        "variationName": "var-vip",
    }
    assert [(a.variation_group_id, a.variation_id) for a in tracker.activations] == [
        ("vg-vip", "var-vip")
    ]


def test_ab_variation_is_a_split_and_the_reference_serves_the_default(of_client, flagship):
    red, ref = visitor_in(flagship, "var-red"), visitor_in(flagship, "var-ref")
    details = of_client.get_string_details("btn_color", "blue", ctx(red))
    assert (details.value, details.reason, details.variant) == ("red", Reason.SPLIT, "var-red")
    details = of_client.get_string_details("btn_color", "blue", ctx(ref))
    assert (details.value, details.reason, details.variant) == ("blue", Reason.DEFAULT, "var-ref")
    assert details.flag_metadata["isReference"] is True
    assert details.error_code is None


def test_the_reference_variation_is_activated_too(of_client, flagship, tracker):
    ref = visitor_in(flagship, "var-ref")
    of_client.get_string_value("btn_color", "blue", ctx(ref))
    assert [a.variation_id for a in tracker.activations] == ["var-ref"]


def test_integer_and_float_follow_json_numbers(of_client):
    # threshold is 50.0 in the file, discount 5 (the later campaign wins over 10).
    context = ctx("u2", isVip=True)
    assert of_client.get_integer_details("threshold", 0, context).value == 50
    assert type(of_client.get_integer_value("threshold", 0, context)) is int
    assert of_client.get_integer_value("discount", 0, context) == 5
    value = of_client.get_float_value("discount", 0.0, context)
    assert value == 5.0
    assert type(value) is float
    assert of_client.get_float_details("threshold", 0.0, context).reason == Reason.TARGETING_MATCH


def test_objects_and_lists_are_copies(of_client):
    context = ctx("u3")
    layout = of_client.get_object_value("layout", {}, context)
    assert layout == {"columns": [1, 2], "dense": True}
    layout["columns"].append(3)
    assert of_client.get_object_value("layout", {}, context) == {"columns": [1, 2], "dense": True}
    assert of_client.get_object_value("order", [], context) == ["a", "b"]


# -- errors ---------------------------------------------------------------------------


def test_type_mismatch_serves_the_default_without_activation(of_client, flagship, tracker):
    red = visitor_in(flagship, "var-red")
    tracker.clear()
    details = of_client.get_boolean_details("btn_color", False, ctx(red))
    assert details.value is False
    assert details.error_code == ErrorCode.TYPE_MISMATCH
    assert details.reason == Reason.ERROR
    assert details.variant == "var-red"
    assert tracker.activations == []
    # A bool is never an integer, a string never a float.
    assert (
        of_client.get_integer_details("vip_feature", 7, ctx("u", isVip=True)).error_code
        == ErrorCode.TYPE_MISMATCH
    )
    assert of_client.get_float_details("btn_color", 1.5, ctx(red)).value == 1.5


def test_unknown_flag_is_not_found(of_client):
    details = of_client.get_boolean_details("no_such_flag", True, ctx("u4"))
    assert details.value is True
    assert details.error_code == ErrorCode.FLAG_NOT_FOUND
    assert details.reason == Reason.ERROR


def test_a_flag_of_the_bucket_that_does_not_target_the_visitor_is_a_default(of_client):
    details = of_client.get_boolean_details("vip_feature", False, ctx("u5", isVip=False))
    assert details.value is False
    assert details.reason == Reason.DEFAULT
    assert details.error_code is None


def test_missing_targeting_key(of_client):
    details = of_client.get_boolean_details("vip_feature", False, EvaluationContext())
    assert details.error_code == ErrorCode.TARGETING_KEY_MISSING
    assert details.value is False


def test_panic_serves_defaults_as_disabled(of_client, source):
    source.install({"panic": True})
    details = of_client.get_boolean_details("vip_feature", False, ctx("u6", isVip=True))
    assert (details.value, details.reason, details.error_code) == (False, Reason.DISABLED, None)


# -- readiness, lifecycle ----------------------------------------------------------------


def test_not_ready_until_the_first_bucket_then_ready_event(tracker, handler):
    source = SwappableSource(None)
    flagship = Flagship(
        Config("env", mode=Mode.BUCKETING, event_handler=handler),
        bucket_source=source,
        tracker=tracker,
    )
    source.client = flagship
    errored, _ = wait_for(ProviderEvent.PROVIDER_ERROR)
    ready, _ = wait_for(ProviderEvent.PROVIDER_READY)
    provider = FlagshipProvider(flagship)
    try:
        api.set_provider(provider)
        assert errored.wait(5)
        client = api.get_client()
        details = client.get_boolean_details("vip_feature", False, ctx("u", isVip=True))
        assert details.error_code == ErrorCode.PROVIDER_NOT_READY
        assert details.value is False
        source.install(BUCKET)
        assert ready.wait(5)
        assert client.get_provider_status() == ProviderStatus.READY
        assert client.get_boolean_value("vip_feature", False, ctx("u", isVip=True)) is True
    finally:
        api.shutdown()


def test_the_provider_starts_and_closes_its_client_flushing_first(bucket_path, tracker):
    config = Config("env", mode=Mode.BUCKETING, bucket_file=bucket_path, tracker=tracker)
    provider = FlagshipProvider(config=config)
    assert provider.client is None
    api.set_provider_and_wait(provider)
    try:
        assert provider.client.status is Status.READY
        client = api.get_client()
        assert client.get_boolean_value("vip_feature", False, ctx("u", isVip=True)) is True
    finally:
        api.shutdown()
    assert provider.client.status is Status.STOPPED
    assert tracker.calls[:2] == ["flush", "close"]
    assert len(tracker.activations) == 1


def test_an_unstarted_client_is_started_with_the_config(bucket_path, tracker):
    flagship = Flagship()
    config = Config("env", mode=Mode.BUCKETING, bucket_file=bucket_path, tracker=tracker)
    api.set_provider_and_wait(FlagshipProvider(flagship, config=config))
    try:
        assert flagship.status is Status.READY
    finally:
        api.shutdown()
    assert flagship.status is Status.STOPPED


def test_close_client_false_only_flushes(flagship, tracker):
    api.set_provider_and_wait(FlagshipProvider(flagship, close_client=False))
    api.shutdown()
    assert flagship.status is Status.READY
    assert tracker.calls == ["flush"]


def test_an_unstarted_client_without_config_is_fatal():
    with pytest.raises(ProviderFatalError):
        api.set_provider_and_wait(FlagshipProvider(Flagship()))
    try:
        details = api.get_client().get_boolean_details("f", False, ctx("u"))
        assert details.error_code == ErrorCode.PROVIDER_FATAL
    finally:
        api.shutdown()


def test_constructor_needs_a_client_or_a_config():
    with pytest.raises(TypeError):
        FlagshipProvider()
    with pytest.raises(ValueError, match="cache_ttl"):
        FlagshipProvider(Flagship(), cache_ttl=-1)


# -- evaluation context ----------------------------------------------------------------


def test_attributes_become_the_visitor_context_with_types_kept(of_client):
    assert of_client.get_boolean_value("vip_feature", False, ctx("u7", isVip=True)) is True
    # 1 is not True to targeting, even though 1 == True in Python (and in a cache key).
    assert of_client.get_boolean_value("vip_feature", False, ctx("u7", isVip=1)) is False


def test_refused_attributes_are_dropped_and_logged_once(of_client, caplog):
    when = datetime.datetime(2030, 1, 1, tzinfo=datetime.timezone.utc)
    with caplog.at_level(logging.WARNING, logger="django_flagship"):
        for _ in range(3):
            value = of_client.get_boolean_value(
                "vip_feature", False, ctx("u8", isVip=True, signup=when, tags=[{"a": 1}])
            )
            assert value is True
    dropped = [r.getMessage() for r in caplog.records if "dropped" in r.getMessage()]
    assert len(dropped) == 2
    assert any("'signup'" in message for message in dropped)
    assert any("'tags'" in message for message in dropped)


def test_list_attributes_decide_like_the_engine_and_are_cached_with_their_types(of_client):
    """A list matches EQUALS when one element does; [True] and [1] are two contexts."""
    for _ in range(2):  # the second round is answered from the decision cache
        assert of_client.get_boolean_value("vip_feature", False, ctx("u10", isVip=[False, True]))
        assert not of_client.get_boolean_value("vip_feature", False, ctx("u10", isVip=[False]))
        # a first element of another kind than the targeting value: the engine's error
        assert not of_client.get_boolean_value("vip_feature", False, ctx("u10", isVip=[1]))
        assert of_client.get_boolean_value("vip_feature", False, ctx("u10", isVip=[True]))


def test_reserved_context_keys_are_refused(of_client, caplog):
    with caplog.at_level(logging.WARNING, logger="django_flagship"):
        of_client.get_boolean_value("vip_feature", False, ctx("u9", fs_client="evil"))
    assert "reserved" in caplog.text


# -- the decision cache ----------------------------------------------------------------


class CountingDecisions:
    def __init__(self, client):
        self.count = 0
        manager = client.decision_manager
        original = manager.decide

        def decide(*args, **kwargs):
            self.count += 1
            return original(*args, **kwargs)

        manager.decide = decide


def test_one_decision_serves_several_flags_of_a_visitor(of_client, flagship):
    counter = CountingDecisions(flagship)
    context = ctx("u10", isVip=True)
    of_client.get_boolean_value("vip_feature", False, context)
    of_client.get_integer_value("discount", 0, context)
    of_client.get_float_value("threshold", 0.0, ctx("u10", isVip=True))
    assert counter.count == 1
    of_client.get_boolean_value("vip_feature", False, ctx("u10", isVip=False))
    of_client.get_boolean_value("vip_feature", False, ctx("u11", isVip=True))
    assert counter.count == 3


def test_cache_ttl_zero_decides_every_time(flagship):
    api.set_provider_and_wait(FlagshipProvider(flagship, cache_ttl=0))
    try:
        counter = CountingDecisions(flagship)
        client = api.get_client()
        for _ in range(3):
            client.get_boolean_value("vip_feature", False, ctx("u", isVip=True))
        assert counter.count == 3
    finally:
        api.shutdown()


def test_cached_decisions_expire(flagship, monkeypatch):
    import django_flagship.contrib.openfeature as module

    now = [1000.0]
    monkeypatch.setattr(module.time, "monotonic", lambda: now[0])
    api.set_provider_and_wait(FlagshipProvider(flagship, cache_ttl=5.0))
    try:
        counter = CountingDecisions(flagship)
        client = api.get_client()
        client.get_boolean_value("vip_feature", False, ctx("u"))
        now[0] += 4.9
        client.get_boolean_value("vip_feature", False, ctx("u"))
        assert counter.count == 1
        now[0] += 0.2
        client.get_boolean_value("vip_feature", False, ctx("u"))
        assert counter.count == 2
    finally:
        api.shutdown()


def test_the_cache_is_bounded(flagship):
    provider = FlagshipProvider(flagship, cache_size=2)
    api.set_provider_and_wait(provider)
    try:
        counter = CountingDecisions(flagship)
        client = api.get_client()
        for key in ("a", "b", "c", "a"):
            client.get_boolean_value("vip_feature", False, ctx(key))
        assert counter.count == 4  # "a" was evicted by "c"
        assert len(provider._cache) == 2
    finally:
        api.shutdown()


def test_a_new_bucket_empties_the_cache_and_emits_configuration_changed(of_client, source):
    changed, details = wait_for(ProviderEvent.PROVIDER_CONFIGURATION_CHANGED)
    context = ctx("u12", isVip=True)
    assert of_client.get_boolean_value("vip_feature", False, context) is True
    data = copy.deepcopy(BUCKET)
    data["campaigns"][0]["variationGroups"][0]["variations"][0]["modifications"]["value"] = {
        "vip_feature": False,
        "discount": 10,
    }
    source.install(data)
    assert changed.wait(5)
    assert details[0].flags_changed == ["discount", "vip_feature"]
    assert details[0].provider_name == "Flagship"
    assert of_client.get_boolean_value("vip_feature", True, context) is False


def test_changed_flags_sees_values_allocation_targeting_and_panic():
    before = Bucket.parse(BUCKET)
    same = Bucket.parse(copy.deepcopy(BUCKET))
    assert changed_flags(before, same) == []
    data = copy.deepcopy(BUCKET)
    data["campaigns"][1]["variationGroups"][0]["variations"][0]["allocation"] = 30
    data["campaigns"][1]["variationGroups"][0]["variations"][1]["allocation"] = 70
    assert changed_flags(before, Bucket.parse(data)) == ["btn_color"]
    data = copy.deepcopy(BUCKET)
    data["campaigns"][2]["variationGroups"][0]["targeting"] = {
        "targetingGroups": [{"targetings": [{"key": "plan", "operator": "EQUALS", "value": "pro"}]}]
    }
    assert changed_flags(before, Bucket.parse(data)) == ["discount", "threshold"]
    assert changed_flags(before, Bucket.parse({"panic": True})) == [
        "btn_color",
        "discount",
        "layout",
        "order",
        "threshold",
        "vip_feature",
    ]


# -- DECISION_API mode --------------------------------------------------------------


@pytest.fixture
def api_provider(handler, tracker):
    flagship = Flagship(
        Config(
            "env",
            "the-secret-key",
            event_handler=handler,
            decision_api_url="https://decision.example.test/v2",
        ),
        tracker=tracker,
    )
    provider = FlagshipProvider(flagship)
    api.set_provider_and_wait(provider)
    yield provider
    api.shutdown()


def campaigns_body(*campaigns, panic=False):
    body = {"visitorId": "v", "campaigns": list(campaigns)}
    if panic:
        body["panic"] = True
    return body


AB_CAMPAIGN = {
    "id": "c1",
    "type": "ab",
    "slug": "checkout",
    "variationGroupId": "vg1",
    "variation": {
        "id": "var1",
        "reference": False,
        "modifications": {"type": "FLAG", "value": {"btn_color": "green", "limit": 3}},
    },
}


@responses.activate
def test_decision_api_one_call_per_visitor_and_context(api_provider):
    responses.post(API_URL, json=campaigns_body(AB_CAMPAIGN))
    client = api.get_client()
    details = client.get_string_details("btn_color", "blue", ctx("u", plan="pro"))
    assert (details.value, details.reason, details.variant) == ("green", Reason.SPLIT, "var1")
    assert details.flag_metadata["slug"] == "checkout"
    assert client.get_integer_value("limit", 0, ctx("u", plan="pro")) == 3
    # Without a bucket, a flag the visitor did not get cannot be told from a typo.
    missing = client.get_boolean_details("other", False, ctx("u", plan="pro"))
    assert missing.error_code == ErrorCode.FLAG_NOT_FOUND
    assert len(responses.calls) == 1
    sent = json.loads(responses.calls[0].request.body)
    assert sent["visitorId"] == "u"
    assert sent["context"]["plan"] == "pro"


@responses.activate
def test_decision_api_failure_is_a_general_error_and_is_not_cached(api_provider):
    responses.post(API_URL, status=500, body="down")
    responses.post(API_URL, json=campaigns_body(AB_CAMPAIGN))
    client = api.get_client()
    details = client.get_string_details("btn_color", "blue", ctx("u"))
    assert (details.value, details.reason) == ("blue", Reason.ERROR)
    assert details.error_code == ErrorCode.GENERAL
    assert "500" in details.error_message
    assert client.get_string_value("btn_color", "blue", ctx("u")) == "green"
    assert len(responses.calls) == 2


@responses.activate
def test_decision_api_panic_is_disabled(api_provider):
    responses.post(API_URL, json=campaigns_body(panic=True))
    details = api.get_client().get_string_details("btn_color", "blue", ctx("u"))
    assert (details.value, details.reason, details.error_code) == ("blue", Reason.DISABLED, None)


# -- async ------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_async_resolution_in_bucketing_mode(of_client, tracker):
    details = await of_client.get_boolean_details_async("vip_feature", False, ctx("ua", isVip=True))
    assert (details.value, details.reason) == (True, Reason.TARGETING_MATCH)
    assert await of_client.get_object_value_async("order", [], ctx("ua")) == ["a", "b"]
    assert len(tracker.activations) == 2


@pytest.fixture
def slow_api(handler, tracker):
    """A provider in DECISION_API mode on a loopback API answering after 0.3 s."""
    with LoopbackDecisionApi(0.3) as server:
        flagship = Flagship(
            Config("env", "the-secret-key", event_handler=handler, decision_api_url=server.url),
            tracker=tracker,
        )
        api.set_provider_and_wait(FlagshipProvider(flagship))
        yield server
        api.shutdown()


@pytest.mark.asyncio
async def test_async_resolution_awaits_the_decision_api_on_the_loop(slow_api):
    client = api.get_client()
    values = await asyncio.gather(
        *(client.get_string_value_async("btn_color", "blue", ctx(f"u{i}")) for i in range(20))
    )
    assert values == ["red"] * 20
    assert slow_api.calls == 20
    assert slow_api.max_in_flight == 20  # a thread pool would have let a few through at a time
    slow_api.reply = lambda request: Reply(503, b"unavailable")
    details = await client.get_boolean_details_async("vip_feature", False, ctx("u-failed"))
    assert (details.value, details.error_code) == (False, ErrorCode.GENERAL)
    assert "answered 503" in details.error_message


@pytest.mark.asyncio
async def test_concurrent_async_evaluations_of_one_visitor_share_one_call(slow_api, tracker):
    client = api.get_client()
    values = await asyncio.gather(
        *(
            client.get_boolean_value_async("vip_feature", False, ctx("u", plan="pro"))
            for _ in range(5)
        ),
        client.get_string_value_async("btn_color", "blue", ctx("u", plan="pro")),
    )
    assert values == [True] * 5 + ["red"]
    assert slow_api.calls == 1
    assert len(tracker.activations) == 1  # one variation, activated once
    assert await client.get_boolean_value_async("vip_feature", False, ctx("u", plan="free"))
    assert slow_api.calls == 2  # another context, another decision


# -- tracking ------------------------------------------------------------------------------


def test_track_sends_an_event_hit(of_client, tracker):
    of_client.track(
        "signup",
        ctx("u13", plan="pro"),
        TrackingEventDetails(value=3.0, attributes={"label": "hero banner"}),
    )
    (hit,) = tracker.hits
    assert hit.visitor_id == "u13"
    assert dict(hit.payload) == {
        "t": "EVENT",
        "ds": "APP",
        "ec": "Action Tracking",
        "ea": "signup",
        "el": "hero banner",
        "ev": 3,
    }


def test_track_user_engagement_and_a_value_flagship_cannot_take(of_client, tracker, caplog):
    with caplog.at_level(logging.WARNING, logger="django_flagship"):
        of_client.track(
            "scroll",
            ctx("u14"),
            TrackingEventDetails(value=2.5, attributes={"category": "User Engagement"}),
        )
    (hit,) = tracker.hits
    assert hit.payload["ec"] == "User Engagement"
    assert "ev" not in hit.payload
    assert "without its value 2.5" in caplog.text


def test_track_without_targeting_key_sends_nothing(of_client, tracker, caplog):
    with caplog.at_level(logging.ERROR, logger="django_flagship"):
        of_client.track("signup")
    assert tracker.hits == []
    assert "targeting_key" in caplog.text


def test_a_decision_taken_while_the_bucket_changed_is_not_cached(flagship, source):
    class RacingProvider(FlagshipProvider):
        def decide(self, targeting_key, context):
            decision = super().decide(targeting_key, context)
            if source.bucket.campaign_count == len(BUCKET["campaigns"]):
                source.install(SAMPLE_BUCKET)  # lands between the decision and its caching
            return decision

    provider = RacingProvider(flagship)
    api.set_provider_and_wait(provider)
    try:
        api.get_client().get_boolean_value("vip_feature", False, ctx("u"))
        assert len(provider._cache) == 0
        api.get_client().get_boolean_value("vip_feature", False, ctx("u"))
        assert len(provider._cache) == 1
    finally:
        api.shutdown()


def test_the_context_goes_out_as_one_segment_hit_per_change(flagship, tracker):
    api.set_provider_and_wait(FlagshipProvider(flagship, cache_ttl=0))
    try:
        client = api.get_client()
        for _ in range(3):
            client.get_boolean_value("vip_feature", False, ctx("u", isVip=True))
        client.get_boolean_value("vip_feature", False, ctx("u", isVip=False))
        client.get_boolean_value("vip_feature", False, ctx("other", isVip=False))
        segments = [hit for hit in tracker.hits if hit.hit_type == "SEGMENT"]
        assert [(hit.visitor_id, hit.payload["s"]["isVip"]) for hit in segments] == [
            ("u", "true"),
            ("u", "false"),
            ("other", "false"),
        ]
    finally:
        api.shutdown()


@pytest.mark.asyncio
async def test_async_goes_to_a_thread_when_activations_are_posted_in_place(flagship, tracker):
    from django_flagship.sdk.tracking import SyncTracker

    class Forwarding:
        """A tracker that hands items to a sink, as the Django app's does."""

        def __init__(self, sink):
            self.sink = sink

        def __getattr__(self, name):
            return getattr(self.sink, name)

    threads = []

    class PostingTracker(SyncTracker):
        def __init__(self):
            pass

        def add_activation(self, item):
            threads.append(threading.get_ident())

    flagship.tracker = Forwarding(PostingTracker())
    api.set_provider_and_wait(FlagshipProvider(flagship))
    try:
        client = api.get_client()
        assert await client.get_boolean_value_async("vip_feature", False, ctx("u", isVip=True))
        assert threads
        assert threading.get_ident() not in threads
    finally:
        api.shutdown()


def test_track_ignores_attributes_flagship_has_no_place_for(of_client, tracker):
    of_client.track(
        "export",
        ctx("u15"),
        TrackingEventDetails(attributes={"category": "Marketing", "label": 42, "rows": 10}),
    )
    (hit,) = tracker.hits
    assert dict(hit.payload) == {"t": "EVENT", "ds": "APP", "ec": "Action Tracking", "ea": "export"}
