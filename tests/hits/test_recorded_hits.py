"""Hits recorded on the request path (the SEGMENT hit): built off it, or not at all."""

import logging
import time

import pytest

from django_flagship.sdk import Config, Flagship, Mode
from django_flagship.sdk.events import CustomTracker, HookedTracker, Route
from django_flagship.sdk.spool import Spool
from django_flagship.sdk.tracking import HitRecord, LogTracker, MemoryTracker, TrackedHit

from .conftest import ENV

T0 = 1_700_000_000.0
SEGMENT = {"t": "SEGMENT", "ds": "APP", "s": {"plan": "gold"}}


@pytest.fixture
def bucket_file(tmp_path):
    path = tmp_path / "bucketing.json"
    path.write_text('{"panic": false, "campaigns": []}')
    return path


def test_a_record_is_what_identifies_a_hit():
    record = HitRecord(SEGMENT, "v1", "anon", T0)
    built = record.build()
    assert isinstance(built, TrackedHit)
    assert (built.visitor_id, built.anonymous_id, built.created_at) == ("v1", "anon", T0)
    assert dict(built.payload) == SEGMENT
    assert built.payload is not SEGMENT  # a read-only copy
    assert built.id != record.build().id  # a new random id each time


def test_a_segment_record_writes_its_values_from_the_context_when_built(monkeypatch):
    from django_flagship.sdk import tracking

    written = []
    real = tracking.segment_values
    monkeypatch.setattr(tracking, "segment_values", lambda c: written.append(c) or real(c))
    context = {"age": 31.0, "beta": True, "groups": ("a", "b")}
    record = HitRecord({"t": "SEGMENT", "ds": "APP"}, "v1", None, T0, segment=context)
    assert written == []
    built = record.build()
    assert written == [context]
    assert dict(built.payload) == {
        "t": "SEGMENT",
        "ds": "APP",
        "s": {"age": "31", "beta": "true", "groups": "[a b]"},
    }


def test_a_visitor_segment_is_queued_unbuilt_and_sent_by_the_thread(
    make_tracker, collector, urandom_calls, bucket_file, monkeypatch
):
    from django_flagship.sdk import tracking

    written = []
    real = tracking.segment_values
    monkeypatch.setattr(tracking, "segment_values", lambda c: written.append(c) or real(c))
    tracker = make_tracker(batch_size=1000)
    client = Flagship(Config(ENV, mode=Mode.BUCKETING, bucket_file=bucket_file), tracker=tracker)
    try:
        visitor = client.create_visitor("v1", {"plan": "gold"})
        assert visitor.synchronize_modifications()
        assert urandom_calls == []  # no id, no item on the request path
        assert written == []  # nor its values
        assert tracker.stats()["pending"] == 1
        assert tracker.flush(5)
        [sent] = collector.hits()
        assert (sent["t"], sent["vid"], sent["s"]["plan"]) == ("SEGMENT", "v1", "gold")
        assert urandom_calls == [16]  # the id, built on the way out
    finally:
        client.stop()


def test_recorded_hits_are_built_when_spooled(make_tracker, collector, spool):
    collector.stop()
    tracker = make_tracker(spool=spool, shutdown_timeout=0.3, max_retries=100)
    tracker.record_hit(HitRecord(SEGMENT, "v1", None, time.time()))
    tracker.close()
    assert tracker.stats()["spooled"] == 1
    [item] = [item for claim in Spool(spool.directory, env_id=ENV).claim() for item in claim.items]
    assert isinstance(item, TrackedHit)
    assert (item.visitor_id, item.hit_type, len(item.id)) == ("v1", "SEGMENT", 32)


def test_a_log_nobody_reads_discards_a_segment_without_building_it(
    urandom_calls, caplog, bucket_file
):
    logger = logging.getLogger("tests.recorded_hits.quiet")
    logger.setLevel(logging.WARNING)
    tracker = LogTracker(logger)
    client = Flagship(Config(ENV, mode=Mode.BUCKETING, bucket_file=bucket_file), tracker=tracker)
    try:
        client.create_visitor("v1", {"plan": "gold"}).synchronize_modifications()
        assert urandom_calls == []
        logger.setLevel(logging.INFO)
        with caplog.at_level(logging.INFO, logger=logger.name):
            client.create_visitor("v2", {"plan": "gold"}).synchronize_modifications()
        assert '"t": "SEGMENT"' in caplog.text
        assert '"vid": "v2"' in caplog.text
        assert urandom_calls == [16]
    finally:
        client.stop()


def test_a_memory_tracker_builds_a_recorded_hit_once_when_read(urandom_calls):
    tracker = MemoryTracker(maxlen=2)
    tracker.record_hit(HitRecord(SEGMENT, "v1", None, T0))
    assert urandom_calls == []
    [first] = tracker.hits
    [again] = tracker.hits
    assert first is again  # built once: the same id on every read
    assert (first.visitor_id, first.created_at, urandom_calls) == ("v1", T0, [16])
    tracker.record_hit(HitRecord(SEGMENT, "v2", None, T0))
    tracker.record_hit(HitRecord(SEGMENT, "v3", None, T0))
    assert [hit.visitor_id for hit in tracker.hits] == ["v2", "v3"]
    assert tracker.dropped == 1


class Hooks:
    def __init__(self, route):
        self.route, self.heard = route, []

    def hit_route(self):
        return self.route

    def on_hit(self, tracker, item):
        self.heard.append(item)
        return True


def test_without_listeners_a_hit_reaches_the_sink_unbuilt_and_listeners_get_it_built():
    class Recording(MemoryTracker):
        def __init__(self):
            super().__init__()
            self.recorded = []

        def record_hit(self, record):
            self.recorded.append(record)

    record = HitRecord(SEGMENT, "v1", None, T0)
    quiet = Recording()
    HookedTracker(quiet, Hooks(Route.SINK)).record_hit(record)
    assert quiet.recorded == [record]
    hooks, sink = Hooks(Route.LISTENERS), MemoryTracker()
    HookedTracker(sink, hooks).record_hit(record)
    [heard] = hooks.heard
    assert isinstance(heard, TrackedHit)
    assert sink.hits == [heard]
    nowhere = MemoryTracker()
    HookedTracker(nowhere, Hooks(Route.NOWHERE)).record_hit(record)
    assert nowhere.hits == []


def test_a_custom_tracker_gets_the_built_hit():
    class Minimal:
        def __init__(self):
            self.hits = []

        def add_hit(self, item):
            self.hits.append(item)

        def add_activation(self, item):
            pass

        def flush(self, timeout=None):
            return True

        def close(self):
            pass

    minimal = Minimal()
    CustomTracker(minimal).record_hit(HitRecord(SEGMENT, "v1", None, T0))
    [item] = minimal.hits
    assert isinstance(item, TrackedHit)
    assert item.hit_type == "SEGMENT"
