"""The Tracker protocol: what callers know of a tracker, and the hooks of a HookedTracker."""

import logging

import pytest

from django_flagship.sdk import Config, Flagship, Mode
from django_flagship.sdk.events import (
    COLLECTOR,
    CUSTOM,
    LOG,
    MEMORY,
    CustomTracker,
    HookedTracker,
    Route,
    Tracker,
    as_tracker,
)
from django_flagship.sdk.flusher import BackgroundTracker
from django_flagship.sdk.hits import Activation, Page
from django_flagship.sdk.tracking import (
    CollectorClient,
    LogTracker,
    MemoryTracker,
    SyncTracker,
    TrackedHit,
)


class Minimal:
    """A custom tracker with only the four documented methods."""

    def __init__(self):
        self.hits, self.activations, self.extra = [], [], "reachable"

    def add_hit(self, item):
        self.hits.append(item)

    def add_activation(self, item):
        self.activations.append(item)

    def flush(self, timeout=None):
        return True

    def close(self):
        pass


class Recording(MemoryTracker):
    """A memory tracker that notes which way activations came in."""

    def __init__(self):
        super().__init__()
        self.recorded = []

    def record_activation(self, *args):
        self.recorded.append(args)
        super().record_activation(*args)


class Hooks:
    def __init__(self, route, deliver):
        self.route, self.deliver, self.heard = route, deliver, []

    def hit_route(self):
        return self.route

    def activation_route(self):
        return self.route

    def on_hit(self, tracker, item):
        self.heard.append(item)
        return self.deliver

    def on_activation(self, tracker, item):
        self.heard.append(item)
        return self.deliver


def hit():
    return TrackedHit.from_hit(Page("https://shop.example/"), "v1")


@pytest.fixture
def client():
    collector = CollectorClient(
        "env", events_url="http://127.0.0.1:9/", activate_url="http://127.0.0.1:9/"
    )
    yield collector
    collector.close()


def test_each_built_in_tracker_says_what_it_is(client):
    background = BackgroundTracker(client)
    log = logging.getLogger("tests.events.written")
    log.setLevel(logging.INFO)
    try:
        cases = [
            (SyncTracker(client), COLLECTOR, True),
            (background, COLLECTOR, False),
            (LogTracker(log), LOG, False),
            (MemoryTracker(), MEMORY, False),
        ]
        for tracker, kind, blocking in cases:
            assert isinstance(tracker, Tracker)
            assert (tracker.kind, tracker.blocking, tracker.discards) == (kind, blocking, False)
    finally:
        background.close()


def test_a_log_tracker_discards_while_its_logger_does_not_write_info():
    logger = logging.getLogger("tests.events.log")
    logger.setLevel(logging.WARNING)
    assert LogTracker(logger).discards
    logger.setLevel(logging.INFO)
    assert not LogTracker(logger).discards


def test_a_minimal_tracker_is_seen_as_a_custom_one():
    minimal = Minimal()
    assert not isinstance(minimal, Tracker)
    tracker = as_tracker(minimal)
    assert isinstance(tracker, CustomTracker)
    assert isinstance(tracker, Tracker)
    assert (tracker.kind, tracker.blocking, tracker.discards) == (CUSTOM, False, False)
    assert tracker.extra == "reachable"
    tracker.record_activation("v1", "vg", "var", None, 1.0)
    [item] = minimal.activations
    assert (item.visitor_id, item.variation_id, item.created_at) == ("v1", "var", 1.0)
    memory = MemoryTracker()
    assert as_tracker(memory) is memory


def test_the_sdk_client_sees_any_tracker_through_the_protocol(tmp_path):
    bucket = tmp_path / "bucketing.json"
    bucket.write_text('{"panic": false, "campaigns": []}')
    minimal = Minimal()
    flagship = Flagship(Config("env", mode=Mode.BUCKETING, bucket_file=bucket), tracker=minimal)
    try:
        assert flagship.tracker.kind == CUSTOM
        flagship.record_activation("v1", "vg", "var")
        assert [a.variation_id for a in minimal.activations] == ["var"]
        flagship.tracker = None
        flagship.record_activation("v1", "vg", "var")  # nowhere to go: nothing happens
        assert len(minimal.activations) == 1
    finally:
        flagship.stop()


def test_a_hooked_tracker_is_its_sinks_kind(client):
    sync = SyncTracker(client)
    tracker = HookedTracker(sync)
    assert isinstance(tracker, Tracker)
    assert (tracker.kind, tracker.blocking) == (COLLECTOR, True)
    assert HookedTracker(Minimal()).kind == CUSTOM
    assert HookedTracker(Minimal()).extra == "reachable"  # other attributes: the sink's


def test_without_listeners_an_activation_reaches_the_sink_unbuilt():
    sink = Recording()
    for hooks in (None, Hooks(Route.SINK, deliver=False)):
        sink.recorded.clear()
        HookedTracker(sink, hooks).record_activation("v1", "vg", "var", "a1", 2.0)
        assert sink.recorded == [("v1", "vg", "var", "a1", 2.0)]
    assert len(sink.activations) == 2


@pytest.mark.parametrize("deliver", [True, False])
def test_listeners_get_the_built_item_and_say_whether_the_sink_does(deliver):
    sink = Recording()
    hooks = Hooks(Route.LISTENERS, deliver)
    tracker = HookedTracker(sink, hooks)
    tracker.record_activation("v1", "vg", "var", None, 2.0)
    item = hit()
    tracker.add_hit(item)
    activation, heard_hit = hooks.heard
    assert isinstance(activation, Activation)
    assert heard_hit is item
    assert sink.recorded == []  # built for the listeners, handed over whole
    assert (sink.activations, sink.hits) == (([activation], [item]) if deliver else ([], []))


def test_nowhere_drops_every_item_unheard():
    sink = Recording()
    hooks = Hooks(Route.NOWHERE, deliver=True)
    tracker = HookedTracker(sink, hooks)
    tracker.add_hit(hit())
    tracker.add_activation(Activation("v1", "vg", "var"))
    tracker.record_activation("v1", "vg", "var", None, 2.0)
    assert (hooks.heard, sink.hits, sink.activations, sink.recorded) == ([], [], [], [])


def test_a_forwarding_wrapper_of_a_whole_tracker_is_taken_as_it_is(client):
    class Forwarding:
        """Members reached only through __getattr__ (invisible to isinstance from 3.12)."""

        def __init__(self, inner):
            self.inner = inner

        def __getattr__(self, name):
            return getattr(self.inner, name)

    wrapper = Forwarding(SyncTracker(client))
    assert as_tracker(wrapper) is wrapper
    assert as_tracker(wrapper).blocking
    assert isinstance(as_tracker(Forwarding(Minimal())), CustomTracker)
