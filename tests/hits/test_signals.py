"""The hit and activation signals, their arguments, and the app's receivers."""

import logging

import pytest

from django_flagship.sdk.events import Route
from django_flagship.sdk.hits import Activation, Page
from django_flagship.sdk.tracking import MemoryTracker, TrackedHit
from django_flagship.signals import (
    SignalTracker,
    TrackingSignal,
    activation_tracked,
    deliver_activation,
    deliver_hit,
    hit_tracked,
)


@pytest.fixture
def sink():
    return MemoryTracker()


@pytest.fixture
def tracker(sink):
    return SignalTracker(sink)


@pytest.fixture
def heard():
    calls = []

    def listen(**kwargs):
        calls.append(kwargs)

    hit_tracked.connect(listen)
    activation_tracked.connect(listen)
    yield calls
    hit_tracked.disconnect(listen)
    activation_tracked.disconnect(listen)


def test_a_hit_signal_carries_the_documented_arguments(tracker, sink, heard):
    item = TrackedHit.from_hit(Page("https://shop.example/"), "user-1", "anon-1")
    tracker.add_hit(item)
    [call] = heard
    assert call["signal"] is hit_tracked
    assert call["sender"] is SignalTracker
    assert call["item"] is item
    assert dict(call["payload"]) == {"t": "PAGEVIEW", "ds": "APP", "dl": "https://shop.example/"}
    assert call["hit_type"] == "PAGEVIEW"
    assert (call["visitor_id"], call["anonymous_id"]) == ("user-1", "anon-1")
    assert call["tracker"] is tracker
    with pytest.raises(TypeError):
        call["payload"]["dl"] = "changed"  # read-only for receivers
    assert sink.hits == [item]


def test_an_activation_signal_carries_the_documented_arguments(tracker, sink, heard):
    item = Activation("user-1", "vg-1", "var-1", "anon-1")
    tracker.add_activation(item)
    [call] = heard
    assert call["signal"] is activation_tracked
    assert call["item"] is item
    assert dict(call["payload"]) == {
        "vid": "user-1",
        "aid": "anon-1",
        "caid": "vg-1",
        "vaid": "var-1",
    }
    assert (call["visitor_id"], call["anonymous_id"]) == ("user-1", "anon-1")
    assert sink.activations == [item]


def test_without_other_receivers_items_still_reach_the_sink(tracker, sink):
    item = TrackedHit.from_hit(Page("https://shop.example/"), "v1")
    tracker.add_hit(item)
    tracker.add_activation(Activation("v1", "vg", "var"))
    assert sink.hits == [item]
    assert len(sink.activations) == 1


def test_disconnecting_the_apps_receiver_stops_delivery(tracker, sink, heard):
    hit_tracked.disconnect(dispatch_uid="django_flagship.deliver_hit")
    try:
        tracker.add_hit(TrackedHit.from_hit(Page("https://shop.example/"), "v1"))
    finally:
        hit_tracked.connect(deliver_hit, dispatch_uid="django_flagship.deliver_hit")
    assert len(heard) == 1
    assert sink.hits == []


def test_disconnected_activation_receiver_without_other_receivers(tracker, sink):
    activation_tracked.disconnect(dispatch_uid="django_flagship.deliver_activation")
    try:
        tracker.add_activation(Activation("v1", "vg", "var"))
    finally:
        activation_tracked.connect(
            deliver_activation, dispatch_uid="django_flagship.deliver_activation"
        )
    assert sink.activations == []


def test_a_failing_receiver_neither_breaks_the_view_nor_the_delivery(tracker, sink, caplog):
    def broken(**kwargs):
        raise RuntimeError("analytics is down")

    hit_tracked.connect(broken)
    try:
        with caplog.at_level(logging.ERROR):
            tracker.add_hit(TrackedHit.from_hit(Page("https://shop.example/"), "v1"))
    finally:
        hit_tracked.disconnect(broken)
    assert len(sink.hits) == 1
    assert "analytics is down" in caplog.text


def test_flush_and_close_are_passed_to_the_sink():
    calls = []

    class Sink(MemoryTracker):
        def flush(self, timeout=None):
            calls.append(("flush", timeout))
            return False

        def close(self):
            calls.append(("close",))

    tracker = SignalTracker(Sink())
    assert tracker.flush(1.5) is False
    tracker.close()
    assert calls == [("flush", 1.5), ("close",)]


def test_the_sinks_attributes_are_reachable_through_the_tracker(tracker, sink):
    item = TrackedHit.from_hit(Page("https://shop.example/"), "v1")
    tracker.add_hit(item)
    assert tracker.hits == [item]
    assert tracker.maxlen == sink.maxlen
    with pytest.raises(AttributeError):
        tracker.no_such_attribute  # noqa: B018


# -- who listens: counted from connect and disconnect -----------------------------


def own_receiver(**kwargs):
    pass


def other_receiver(**kwargs):
    pass


def test_the_route_follows_connect_and_disconnect():
    signal = TrackingSignal("own")
    assert signal.route is Route.NOWHERE
    signal.connect(own_receiver, dispatch_uid="own")
    assert signal.route is Route.SINK
    signal.connect(other_receiver)
    assert signal.route is Route.LISTENERS
    signal.connect(other_receiver, sender=SignalTracker)
    assert signal.disconnect(other_receiver)
    assert signal.route is Route.LISTENERS  # the sender's one is still there
    assert signal.disconnect(other_receiver, sender=SignalTracker)
    assert signal.route is Route.SINK
    assert not signal.disconnect(other_receiver)  # not connected: nothing counted
    assert signal.route is Route.SINK
    assert signal.disconnect(dispatch_uid="own")
    assert signal.route is Route.NOWHERE


def test_the_apps_own_signals_start_with_their_receiver_alone():
    assert hit_tracked.route is Route.SINK
    assert activation_tracked.route is Route.SINK


class Untouchable(list):
    """Django's receiver list, which the tracker must not read."""

    def __len__(self):
        raise AssertionError("Signal.receivers was read")

    __iter__ = __getitem__ = __bool__ = __len__


def test_with_the_apps_receiver_alone_nothing_reads_djangos_receivers(tracker, sink, monkeypatch):
    monkeypatch.setattr(hit_tracked, "receivers", Untouchable(hit_tracked.receivers))
    monkeypatch.setattr(activation_tracked, "receivers", Untouchable(activation_tracked.receivers))
    item = TrackedHit.from_hit(Page("https://shop.example/"), "v1")
    tracker.add_hit(item)
    tracker.record_activation("v1", "vg", "var", None, 1.0)
    assert sink.hits == [item]
    assert [a.variation_id for a in sink.activations] == ["var"]


def test_a_recorded_activation_is_built_only_when_someone_else_listens(sink):
    recorded = []

    class Recording(type(sink)):
        def record_activation(self, *args):
            recorded.append(args)
            super().record_activation(*args)

    tracker = SignalTracker(Recording())
    tracker.record_activation("v1", "vg", "var", None, 1.0)
    assert recorded == [("v1", "vg", "var", None, 1.0)]  # straight to the sink, unbuilt
    calls = []

    def listen(item, **kwargs):
        calls.append(item)

    activation_tracked.connect(listen)
    try:
        tracker.record_activation("v2", "vg", "var", None, 1.0)
    finally:
        activation_tracked.disconnect(listen)
    assert len(recorded) == 1
    assert [a.visitor_id for a in calls] == ["v2"]
    assert [a.visitor_id for a in tracker.sink.activations] == ["v1", "v2"]
