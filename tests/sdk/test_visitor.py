import logging

import pytest
import responses

from django_flagship.sdk import Config, Flagship, Mode
from django_flagship.sdk.bucket_source import StaticBucketSource
from django_flagship.sdk.hits import Event, EventCategory, Page, Segment, Transaction
from django_flagship.sdk.tracking import MemoryTracker, TrackedHit
from django_flagship.sdk.visitor import typed_value

from .conftest import RecordingHandler

API_URL = "https://decision.example.test/v2/env/campaigns"


@pytest.fixture
def tracker():
    return MemoryTracker()


@pytest.fixture
def bucketing(bucket_path, handler, tracker):
    client = Flagship(
        Config("env", mode=Mode.BUCKETING, bucket_file=bucket_path, event_handler=handler),
        tracker=tracker,
    )
    yield client
    client.stop()


@pytest.fixture
def api(handler, tracker):
    client = Flagship(
        Config(
            "env",
            "the-secret-key",
            event_handler=handler,
            decision_api_url="https://decision.example.test/v2",
        ),
        tracker=tracker,
    )
    yield client
    client.stop()


def api_body(*campaigns, panic=False):
    body = {"visitorId": "v", "campaigns": list(campaigns)}
    if panic:
        body["panic"] = True
    return body


def api_campaign(cid, flags, vg="vg1", var="var1"):
    return {
        "id": cid,
        "variationGroupId": vg,
        "variation": {"id": var, "modifications": {"type": "FLAG", "value": flags}},
    }


@pytest.mark.parametrize(
    ("value", "default", "expected"),
    [
        (True, False, (True, True)),
        (1, False, (False, False)),
        (True, 0, (0, False)),
        (3, 0, (3, True)),
        (3.0, 0, (3, True)),
        (3.5, 0, (0, False)),
        (3, 0.5, (3.0, True)),
        ("red", "blue", ("red", True)),
        (3, "blue", ("blue", False)),
        (None, "blue", ("blue", False)),
        ({"a": 1}, {}, ({"a": 1}, True)),
        ([1], {}, ({}, False)),
        ("x", None, ("x", True)),
    ],
)
def test_typed_value(value, default, expected):
    assert typed_value(value, default) == expected


def test_create_visitor_needs_a_started_client():
    with pytest.raises(RuntimeError, match="not started"):
        Flagship().create_visitor("v")


def test_start_is_announced_unless_asked_not_to(handler, tracker):
    config = Config("env", mode=Mode.BUCKETING, event_handler=handler, polling_interval=0)
    Flagship(config, bucket_source=StaticBucketSource(None), tracker=tracker)
    assert handler.logs == [(logging.INFO, f"Flagship started: {config!r}")]
    handler.logs.clear()
    Flagship(config, bucket_source=StaticBucketSource(None), tracker=tracker, announce=False)
    assert handler.logs == []


def test_instance_is_a_singleton():
    assert Flagship.instance() is Flagship.instance()


def test_bucketing_flags_and_info(bucketing):
    visitor = bucketing.create_visitor("user_#1234", {"isVip": True})
    assert visitor.get_modification("vip_feature", False) is False  # not synchronized yet
    assert visitor.synchronize_modifications() is True
    assert visitor.get_modification("vip_feature", False) is True
    # c-price comes after c-toggle: the later campaign wins the shared key
    assert visitor.get_modification("discount", 0) == 5
    assert visitor.get_modification("threshold", 0.0) == 50.0
    assert visitor.get_modification("missing", "dflt") == "dflt"
    info = visitor.get_modification_info("vip_feature")
    assert info["campaignId"] == "c-toggle"
    assert info["variationGroupId"] == "vg-vip"
    assert info["variationId"] == "var-vip"
    assert visitor.get_modification_info("missing") is None


def test_update_context_tuple_dict_and_synchronize(bucketing):
    visitor = bucketing.create_visitor("v1")
    visitor.synchronize_modifications()
    assert visitor.get_modification("vip_feature", False) is False
    visitor.update_context(("isVip", True), True)
    assert visitor.get_modification("vip_feature", False) is True
    visitor.update_context({"age": 31, "country": "FR"})
    assert visitor.context == {"isVip": True, "age": 31, "country": "FR"}


@pytest.mark.parametrize(
    ("update", "fragment"),
    [
        (("fs_client", "x"), "reserved"),
        (("fs_version", "x"), "reserved"),
        (("bad", None), "'bad'"),
        (("bad", [[1]]), "'bad'"),
        (("bad", ["a", None]), "item 1"),
        (("bad", ["x"] * 101), "at most 100"),
        (("bad", {"a": 1}), "'bad'"),
        (("bad", float("nan")), "'bad'"),
        ((3, "x"), "3"),
        (("", "x"), "''"),
        ("just a string", "tuple or a dict"),
    ],
)
def test_refused_context_is_logged_and_changes_nothing(bucketing, handler, update, fragment):
    visitor = bucketing.create_visitor("v1", {"keep": 1})
    visitor.update_context(update)
    assert visitor.context == {"keep": 1}
    errors = [m for level, m in handler.logs if level == logging.ERROR]
    assert errors
    assert fragment in errors[-1]


def test_a_list_context_value_is_accepted_and_decides_like_the_engine(bucketing, tracker):
    """Protocol 4.2: EQUALS/CONTAINS need one element, NOT_* every element."""
    visitor = bucketing.create_visitor("v1", {"isVip": [False, True]})
    tags = ["beta", "news"]
    visitor.update_context({"tags": tags, "scores": [1, 2.5], "mixed": ("a", 1, True)})
    tags.append("spam")  # the caller's list is not the visitor's
    assert visitor.context == {
        "isVip": (False, True),
        "tags": ("beta", "news"),
        "scores": (1, 2.5),
        "mixed": ("a", 1, True),
    }
    assert visitor.synchronize_modifications()
    assert visitor.get_modification("vip_feature", False) is True  # one element is True
    visitor.update_context(("isVip", [False]))
    visitor.synchronize_modifications()
    assert visitor.get_modification("vip_feature", False) is False
    visitor.update_context(("isVip", []))
    visitor.synchronize_modifications()
    assert visitor.get_modification("vip_feature", False) is False
    segments = [h.payload["s"] for h in tracker.hits if h.hit_type == "SEGMENT"]
    assert [s["isVip"] for s in segments] == ["[false true]", "[false]", "[]"]
    assert segments[0]["tags"] == "[beta news]"


@responses.activate
def test_api_mode_sends_a_list_as_a_json_array(api):
    responses.post(API_URL, json=api_body())
    api.create_visitor("v1", {"tags": ["beta", "news"], "n": (1, 2.5)}).synchronize_modifications()
    import json

    context = json.loads(responses.calls[0].request.body)["context"]
    assert context["tags"] == ["beta", "news"]
    assert context["n"] == [1, 2.5]


def test_valid_pairs_of_a_mixed_update_are_applied(bucketing):
    visitor = bucketing.create_visitor("v1")
    visitor.update_context({"ok": "yes", "bad": None})
    assert visitor.context == {"ok": "yes"}


def test_activation_once_per_variation(bucketing, tracker):
    visitor = bucketing.create_visitor("v1", {"isVip": True})
    visitor.synchronize_modifications()
    for _ in range(3):
        visitor.get_modification("vip_feature", False, activate=True)
    visitor.activate_modification("discount")  # c-price supplies it
    visitor.activate_modification("vip_feature")
    assert visitor.activate_modification("missing") is False
    pairs = sorted((a.variation_group_id, a.variation_id) for a in tracker.activations)
    assert pairs == [("vg-price", "var-price"), ("vg-vip", "var-vip")]
    payload = tracker.activations[0].to_payload("env")
    assert payload["vid"] == "v1"
    assert payload["aid"] is None


def test_activation_even_when_the_default_is_served(bucketing, tracker):
    visitor = bucketing.create_visitor("v1")
    visitor.synchronize_modifications()
    # the reference variation holds null: the visitor sees the default, which is
    # the reference experience, and that exposure must be counted
    if visitor.get_modification_info("btn_color")["variationId"] == "var-ref":
        assert visitor.get_modification("btn_color", "blue", activate=True) == "blue"
    else:
        assert visitor.get_modification("btn_color", "blue", activate=True) == "red"
    assert len(tracker.activations) == 1


def test_wrong_type_serves_default_with_a_warning(bucketing, handler):
    visitor = bucketing.create_visitor("v1", {"isVip": True})
    visitor.synchronize_modifications()
    assert visitor.get_modification("vip_feature", 0) == 0
    assert any("vip_feature" in m and level == logging.WARNING for level, m in handler.logs)


def test_wrong_type_is_not_activated(bucketing, tracker):
    visitor = bucketing.create_visitor("v1", {"isVip": True})
    visitor.synchronize_modifications()
    assert visitor.get_modification("vip_feature", 0, activate=True) == 0
    assert tracker.activations == []
    assert visitor.get_modification("vip_feature", False, activate=True) is True
    assert len(tracker.activations) == 1


def test_segment_hit_once_per_context(bucketing, tracker):
    visitor = bucketing.create_visitor("v1", {"age": 3})
    visitor.synchronize_modifications()
    visitor.synchronize_modifications()
    segments = [h for h in tracker.hits if h.payload["t"] == "SEGMENT"]
    assert len(segments) == 1
    visitor.update_context(("age", 4), True)
    segments = [h for h in tracker.hits if h.payload["t"] == "SEGMENT"]
    assert len(segments) == 2


def test_send_hit_valid_and_invalid(bucketing, tracker, handler):
    visitor = bucketing.create_visitor("v1")
    assert visitor.send_hit(Transaction("#1", "purchases").with_total_revenue(42.5))
    assert visitor.send_hit(Event(EventCategory.ACTION_TRACKING, "click"))
    assert not visitor.send_hit(Page(""))
    assert not visitor.send_hit("a string")
    assert [h.payload["t"] for h in tracker.hits] == ["TRANSACTION", "EVENT"]
    assert sum(1 for level, _ in handler.logs if level == logging.ERROR) == 2


def test_authenticated_ids_on_hits_and_activations(bucketing, tracker):
    visitor = bucketing.create_visitor("anon-1", {"isVip": True})
    visitor.authenticate("user-9")
    assert (visitor.visitor_id, visitor.anonymous_id) == ("user-9", "anon-1")
    visitor.synchronize_modifications()
    visitor.activate_modification("vip_feature")
    visitor.send_hit(Event(EventCategory.USER_ENGAGEMENT, "login"))
    activation = tracker.activations[0].to_payload("env")
    assert (activation["vid"], activation["aid"]) == ("user-9", "anon-1")
    hit = tracker.hits[-1].to_payload()
    assert (hit["vid"], hit["cuid"]) == ("anon-1", "user-9")
    visitor.unauthenticate()
    assert (visitor.visitor_id, visitor.anonymous_id) == ("anon-1", None)


def test_no_consent_blocks_hits_and_activations_but_not_the_consent_hit(bucketing, tracker):
    visitor = bucketing.create_visitor("v1", {"isVip": True})
    visitor.synchronize_modifications()
    tracker.clear()
    visitor.set_consent(False)
    assert not visitor.send_hit(Event(EventCategory.ACTION_TRACKING, "click"))
    assert not visitor.activate_modification("vip_feature")
    assert [h.payload.get("ea") for h in tracker.hits] == ["fs_consent"]
    assert tracker.hits[0].payload["el"] == "python:false"
    assert tracker.activations == []


@responses.activate
def test_api_mode_failure_keeps_previous_modifications(api, handler):
    responses.post(API_URL, json=api_body(api_campaign("c1", {"color": "red"})))
    responses.post(API_URL, status=500)
    visitor = api.create_visitor("v1")
    assert visitor.synchronize_modifications() is True
    assert visitor.get_modification("color", "blue") == "red"
    assert visitor.synchronize_modifications() is False
    assert visitor.get_modification("color", "blue") == "red"
    assert "500" in visitor.last_error
    assert "the-secret-key" not in handler.text()


@responses.activate
def test_api_mode_first_failure_serves_defaults(api):
    responses.post(API_URL, body="<html>bad gateway</html>", status=502)
    visitor = api.create_visitor("v1")
    assert visitor.synchronize_modifications() is False
    assert visitor.get_modification("color", "blue") == "blue"


@responses.activate
def test_api_mode_sends_sdk_context_keys(api):
    responses.post(API_URL, json=api_body())
    api.create_visitor("v1", {"age": 3}).synchronize_modifications()
    import json

    context = json.loads(responses.calls[0].request.body)["context"]
    assert context["age"] == 3
    assert context["fs_client"] == "python"


@responses.activate
def test_panic_serves_defaults_and_blocks_hits(api, tracker):
    responses.post(API_URL, json=api_body(api_campaign("c1", {"color": "red"})))
    responses.post(API_URL, json=api_body(panic=True))
    responses.post(API_URL, json=api_body(api_campaign("c1", {"color": "red"})))
    visitor = api.create_visitor("v1")
    visitor.synchronize_modifications()
    visitor.synchronize_modifications()
    assert visitor.panic
    assert visitor.get_modification("color", "blue", activate=True) == "blue"
    assert visitor.get_modification_info("color") is None
    assert not visitor.send_hit(Event(EventCategory.ACTION_TRACKING, "click"))
    assert tracker.activations == []
    assert tracker.hits == []
    visitor.synchronize_modifications()
    assert not visitor.panic
    assert visitor.get_modification("color", "blue") == "red"


def test_broken_event_handler_does_not_break_reads(bucket_path, tracker):
    from django_flagship.sdk import FlagshipEventHandler

    class Broken(FlagshipEventHandler):
        def on_log(self, level, message):
            raise RuntimeError("handler down")

    client = Flagship(
        Config("env", mode="BUCKETING", bucket_file=bucket_path, event_handler=Broken()),
        tracker=tracker,
    )
    visitor = client.create_visitor("v1", {"bad": None})
    visitor.synchronize_modifications()
    assert visitor.get_modification("threshold", 0.0) == 50.0


def test_bad_bucket_file_is_reported_and_defaults_served(tmp_path, handler, tracker):
    path = tmp_path / "b.json"
    path.write_text("{not json")
    client = Flagship(
        Config("env", mode="BUCKETING", bucket_file=path, event_handler=handler), tracker=tracker
    )
    visitor = client.create_visitor("v1")
    assert visitor.synchronize_modifications() is False
    assert visitor.get_modification("threshold", 1.0) == 1.0
    assert "not valid JSON" in handler.text()


def test_stop_is_idempotent_and_closes_tracker(bucketing, tracker, monkeypatch):
    closed = []
    monkeypatch.setattr(tracker, "close", lambda: closed.append("tracker"), raising=False)
    monkeypatch.setattr(
        bucketing.decision_manager, "close", lambda: closed.append("decisions"), raising=False
    )
    bucketing.stop()
    bucketing.stop()
    assert closed == ["decisions", "tracker"]  # once each
    with pytest.raises(RuntimeError, match="not started"):
        bucketing.create_visitor("v1")


def test_the_segment_hit_is_what_a_segment_builds(bucketing, tracker):
    context = {"age": 3, "isVip": True, "ratio": 1.5, "city": "Lyon"}
    visitor = bucketing.create_visitor("v1", context)
    visitor.synchronize_modifications()
    (sent,) = [h for h in tracker.hits if h.hit_type == "SEGMENT"]
    built = TrackedHit.from_hit(Segment(visitor.decision_context), "v1")
    assert dict(sent.payload) == dict(built.payload)
    assert sent.payload["s"]["isVip"] == "true"
    assert len(sent.id) == 32


def test_a_stored_segment_digest_spares_the_next_visitor_its_segment(bucketing, tracker):
    first = bucketing.create_visitor("v1", {"age": 3})
    first.synchronize_modifications()
    digest = first.segment_digest
    assert digest is not None
    again = bucketing.create_visitor("v1", {"age": 3})
    again.segment_digest = digest  # what the assignment history hands back
    again.synchronize_modifications()
    assert again.segment_digest == digest
    changed = bucketing.create_visitor("v1", {"age": 4})
    changed.segment_digest = digest
    changed.synchronize_modifications()
    assert changed.segment_digest != digest
    segments = [h.payload["s"]["age"] for h in tracker.hits if h.hit_type == "SEGMENT"]
    assert segments == ["3", "4"]


@pytest.mark.parametrize(("before", "after"), [(1, True), (True, 1), (0.0, -0.0)])
def test_a_value_of_another_type_is_a_changed_segment(bucketing, tracker, before, after):
    # 1 and True, 0.0 and -0.0 are equal in Python but not on the wire ("1", "true"; "0", "-0").
    first = bucketing.create_visitor("v1", {"x": before})
    first.synchronize_modifications()
    second = bucketing.create_visitor("v1", {"x": after})
    second.segment_digest = first.segment_digest
    second.synchronize_modifications()
    segments = [h.payload["s"]["x"] for h in tracker.hits if h.hit_type == "SEGMENT"]
    assert len(segments) == 2
    assert segments[0] != segments[1]


def test_an_int_and_the_same_float_are_one_segment(bucketing, tracker):
    # Flagship's context numbers are float64: 1 and 1.0 are both written "1".
    first = bucketing.create_visitor("v1", {"x": 1.0})
    first.synchronize_modifications()
    second = bucketing.create_visitor("v1", {"x": 1})
    second.segment_digest = first.segment_digest
    second.synchronize_modifications()
    segments = [h.payload["s"]["x"] for h in tracker.hits if h.hit_type == "SEGMENT"]
    assert segments == ["1"]


def test_the_same_visitor_changing_a_value_to_one_written_alike_sends_no_segment(
    bucketing, tracker
):
    visitor = bucketing.create_visitor("v1", {"x": 1.0, "plan": "gold"})
    visitor.synchronize_modifications()
    digest = visitor.segment_digest
    visitor.update_context(("x", 1), synchronize=True)  # another context, the same SEGMENT
    assert visitor.segment_digest == digest
    visitor.update_context(("plan", "silver"), synchronize=True)
    assert visitor.segment_digest != digest
    segments = [h.payload["s"] for h in tracker.hits if h.hit_type == "SEGMENT"]
    assert [(s["x"], s["plan"]) for s in segments] == [("1", "gold"), ("1", "silver")]


def test_history_changed_says_whether_a_synchronization_added_assignments(bucketing):
    first = bucketing.create_visitor("v1", {"isVip": True})
    first.synchronize_modifications()
    assert first.history_changed
    again = bucketing.create_visitor(
        "v1", {"isVip": True}, assignment_history=first.assignment_history
    )
    again.synchronize_modifications()
    assert not again.history_changed
    again.update_context({"isVip": False})
    again.synchronize_modifications()
    assert not again.history_changed  # fewer campaigns: nothing new to remember
    fresh = bucketing.create_visitor("v1", {"isVip": True}, assignment_history={"vg-ab": "x"})
    fresh.synchronize_modifications()
    assert fresh.history_changed


def test_decision_context_is_a_copy(bucketing):
    visitor = bucketing.create_visitor("v1", {"age": 3})
    visitor.decision_context["age"] = 99
    assert visitor.decision_context["age"] == 3
    visitor.update_context({"age": 4})
    assert visitor.decision_context["age"] == 4


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("", "x"),
        ("fs_client", "x"),
        (3, "x"),
        ("k", float("nan")),
        ("k", [float("inf")]),
        ("k", [{"a": 1}]),
        ("k", None),
    ],
)
def test_update_context_still_refuses_bad_pairs(bucketing, handler, key, value):
    visitor = bucketing.create_visitor("v1", {"ok": 1})
    visitor.update_context({key: value})
    assert visitor.context == {"ok": 1}
    assert "refused" in handler.text()


@responses.activate
def test_a_log_handler_may_use_a_visitor_while_a_decision_is_applied(bucket_path, tracker):
    import threading

    others = []

    class Handler(RecordingHandler):
        def on_log(self, level, message):
            super().on_log(level, message)
            if "panic" in message:  # logged while the decision is being applied
                others.append(others[0].activate_modification("btn_color"))

    responses.post(API_URL, json=api_body(panic=True))
    api = Flagship(
        Config(
            "env",
            "the-secret-key",
            event_handler=Handler(),
            decision_api_url="https://decision.example.test/v2",
        ),
        tracker=tracker,
    )
    bucketing = Flagship(Config("env", mode=Mode.BUCKETING, bucket_file=bucket_path))
    try:
        other = bucketing.create_visitor("v2", {"isVip": True})
        other.synchronize_modifications()
        others.append(other)
        visitor = api.create_visitor("v1")
        done = threading.Thread(target=visitor.synchronize_modifications, daemon=True)
        done.start()
        done.join(5)
        assert not done.is_alive()  # no deadlock on the visitors' lock
        assert visitor.panic
        assert others[1:] == [True]
    finally:
        api.stop()
        bucketing.stop()


# -- a context shared by many visitors ----------------------------------------------


def test_a_shared_context_is_checked_once_and_read_only():
    from django_flagship.sdk.context import ContextError, SharedContext
    from django_flagship.sdk.memo import context_key

    groups = ["beta"]
    shared = SharedContext({"isVip": True, "groups": groups, "age": 3.5})
    groups.append("spam")  # the caller's list is not the context's
    assert dict(shared) == {"isVip": True, "groups": ("beta",), "age": 3.5}
    assert len(shared) == 3
    assert shared["age"] == 3.5
    assert shared.decision["fs_client"] == "python"
    assert shared.key == context_key(shared.decision)
    with pytest.raises(TypeError):
        shared["isVip"] = False  # type: ignore[index]
    for refused in ({"fs_client": "x"}, {"k": float("nan")}, {"k": [None]}, {"": 1}):
        with pytest.raises(ContextError):
            SharedContext(refused)


def test_visitors_of_a_shared_context_decide_like_a_dict_and_change_only_their_own(
    bucketing, tracker
):
    from django_flagship.sdk.context import SharedContext

    shared = SharedContext({"isVip": True, "age": 3})
    first = bucketing.create_visitor("v1", shared)
    plain = bucketing.create_visitor("v1", {"isVip": True, "age": 3})
    assert first.decision_context == plain.decision_context
    assert first._context_key() == plain._context_key()
    first.synchronize_modifications()
    plain.synchronize_modifications()
    assert first.flags == plain.flags
    assert first.get_modification("vip_feature", False) is True
    first.update_context({"isVip": False}, True)  # a copy of its own, the shared one unchanged
    assert first.get_flag("vip_feature") is None
    assert dict(shared) == {"isVip": True, "age": 3}
    assert shared.decision["isVip"] is True
    second = bucketing.create_visitor("v2", shared)
    second.synchronize_modifications()
    assert second.context == {"isVip": True, "age": 3}
    assert second.get_modification("vip_feature", False) is True
    segments = [h for h in tracker.hits if h.payload["t"] == "SEGMENT"]
    assert [h.visitor_id for h in segments] == ["v1", "v1", "v1", "v2"]
    assert segments[0].payload["s"] == segments[-1].payload["s"]
