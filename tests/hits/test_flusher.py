"""BackgroundTracker against a real HTTP collector on the loopback interface."""

import collections
import logging
import os
import textwrap
import threading
import time
import tracemalloc

import pytest

from django_flagship.sdk import Config, Flagship, Mode
from django_flagship.sdk.flusher import COUNTERS, THREAD_NAME, BackgroundTracker
from django_flagship.sdk.hits import HIT_EXPIRATION_SECONDS, Screen
from django_flagship.sdk.spool import Spool
from django_flagship.sdk.tracking import LogTracker, TrackedHit

from .collector import ACTIVATE_PATH, EVENTS_PATH
from .conftest import ENV, activation, event, labels, make_client, run_python


def flusher_threads():
    return [t for t in threading.enumerate() if t.name == THREAD_NAME and t.is_alive()]


def test_the_thread_starts_with_the_first_hit_not_before(make_tracker):
    before = len(flusher_threads())
    tracker = make_tracker()
    assert len(flusher_threads()) == before
    tracker.add_hit(event("a"))
    tracker.add_hit(event("b"))
    threads = flusher_threads()
    assert len(threads) == before + 1
    assert all(thread.daemon for thread in threads)


def test_hits_are_sent_in_batches_each_exactly_once(make_tracker, collector):
    tracker = make_tracker(batch_size=100)
    for n in range(250):
        tracker.add_hit(event(f"h{n}"))
    assert tracker.flush(5)
    assert labels(collector) == {f"h{n}": 1 for n in range(250)}
    sizes = [len(r.body["h"]) for r in collector.accepted(EVENTS_PATH)]
    assert sum(sizes) == 250
    assert max(sizes) <= 100
    # Batched: the thread may wake while hits are still being added and send a
    # short batch then, but never anything like one request per hit.
    assert len(sizes) <= 25
    stats = tracker.stats()
    assert stats["queued"] == stats["sent"] == 250
    assert stats["pending"] == 0


def test_a_full_batch_wakes_the_thread_without_a_flush(make_tracker, collector):
    tracker = make_tracker(batch_size=10, flush_interval=60.0)
    for n in range(10):
        tracker.add_hit(event(f"b{n}"))
    assert collector.wait_for(lambda c: len(c.hits()) == 10, timeout=5)


def test_the_interval_sends_without_a_flush(make_tracker, collector):
    tracker = make_tracker(batch_size=1000, flush_interval=0.05)
    tracker.add_hit(event("lonely"))
    assert collector.wait_for(lambda c: len(c.hits()) == 1, timeout=5)


def test_hits_and_activations_go_to_their_endpoints(make_tracker, collector):
    tracker = make_tracker()
    tracker.add_activation(activation("var-1"))
    tracker.add_hit(event("x"))
    tracker.add_activation(activation("var-2"))
    assert tracker.flush(5)
    assert [a["vaid"] for a in collector.activations()] == ["var-1", "var-2"]
    assert list(labels(collector)) == ["x"]
    assert tracker.stats()["sent"] == 3


def test_collector_down_then_up_every_hit_arrives_exactly_once(make_tracker, collector):
    tracker = make_tracker(max_retries=1000)
    for n in range(20):
        tracker.add_hit(event(f"early{n}"))
    assert tracker.flush(5)
    collector.stop()
    for n in range(30):
        tracker.add_hit(event(f"down{n}", visitor=f"v{n % 3}"))
    tracker.add_activation(activation("var-down"))
    assert not tracker.flush(0.3)
    deadline = time.monotonic() + 5
    while tracker.stats()["retried"] == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    stats = tracker.stats()
    assert stats["retried"] > 0
    assert stats["pending"] == 31
    collector.start()
    assert tracker.flush(5)
    expected = {f"early{n}": 1 for n in range(20)} | {f"down{n}": 1 for n in range(30)}
    assert labels(collector) == expected
    assert [a["vaid"] for a in collector.activations()] == ["var-down"]
    assert tracker.stats()["sent"] == 51


def test_5xx_is_retried_with_backoff_and_order_is_kept(make_tracker, collector, caplog):
    collector.fail_next(3, 500)
    tracker = make_tracker()
    for n in range(12):
        tracker.add_hit(event(f"{n}", visitor=f"v{n % 2}"))
    with caplog.at_level(logging.WARNING, logger="django_flagship"):
        assert tracker.flush(5)
    statuses = [r.status for r in collector.requests]
    assert statuses == [500, 500, 500, 200]
    tried = [[h["el"] for h in r.body["h"]] for r in collector.requests]
    assert tried[0] == tried[1] == tried[2] == tried[3]  # the same batch, same order
    for visitor in ("v0", "v1"):
        sent = [int(h["el"]) for h in collector.hits() if h["vid"] == visitor]
        assert sent == sorted(sent)
        assert len(sent) == 6
    assert tracker.stats()["retried"] == 36
    assert "attempt 3" in caplog.text
    assert "HTTP 500" in caplog.text


def test_4xx_is_dropped_with_the_reason_and_not_retried(make_tracker, collector, caplog):
    collector.fail_next(1, 400)
    tracker = make_tracker()
    for n in range(3):
        tracker.add_hit(event(f"bad{n}"))
    with caplog.at_level(logging.ERROR, logger="django_flagship"):
        assert tracker.flush(5)
    assert [r.status for r in collector.requests] == [400]
    assert collector.hits() == []
    stats = tracker.stats()
    assert stats["dropped_permanent"] == 3
    assert stats["retried"] == 0
    assert "refused 3 hits" in caplog.text
    assert "HTTP 400" in caplog.text
    assert "Invalid cid." in caplog.text
    tracker.add_hit(event("good"))
    assert tracker.flush(5)
    assert list(labels(collector)) == ["good"]


def test_a_refused_request_does_not_take_the_next_one_with_it(make_tracker, collector):
    collector.fail_next(1, 400)
    tracker = make_tracker(client=make_client(collector, max_batch_items=2), batch_size=5)
    for n in range(5):
        tracker.add_hit(event(f"r{n}"))
    assert tracker.flush(5)
    assert labels(collector) == {"r2": 1, "r3": 1, "r4": 1}
    assert tracker.stats()["dropped_permanent"] == 2


def test_a_full_queue_drops_counts_and_warns_once_per_burst(make_tracker, collector, caplog):
    collector.stop()
    tracker = make_tracker(max_queue=100, batch_size=1000)
    with caplog.at_level(logging.WARNING, logger="django_flagship"):
        for n in range(1000):
            tracker.add_hit(event(f"q{n}"))
    stats = tracker.stats()
    assert stats["dropped_full"] == 900
    assert stats["queued"] == stats["pending"] == 100
    full = [r for r in caplog.records if "queue is full" in r.getMessage()]
    assert len(full) == 1
    collector.start()
    with caplog.at_level(logging.WARNING, logger="django_flagship"):
        assert tracker.flush(5)
    assert labels(collector) == {f"q{n}": 1 for n in range(100)}
    assert "Dropped 900 hits while the Flagship hit queue was full" in caplog.text


def test_memory_stays_bounded_by_the_queue_when_the_collector_is_down(make_tracker, collector):
    collector.stop()
    tracker = make_tracker(max_queue=1000, batch_size=10_000)
    payload = event("m").payload

    def offer(start, stop):
        for n in range(start, stop):
            # Each hit a new object with its own id, as on a real request path.
            tracker.add_hit(TrackedHit(payload, "v1", id=f"m{n}"))

    offer(0, 5_000)  # warm-up: the queue is full from here on
    tracemalloc.start()
    try:
        offer(5_000, 10_000)
        after_10k, _ = tracemalloc.get_traced_memory()
        offer(10_000, 100_000)
        after_100k, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert tracker.stats()["dropped_full"] == 99_000
    assert tracker.stats()["pending"] == 1000
    # 90 000 more hits offered, and nothing more held.
    assert after_100k - after_10k < 16 * 1024


def test_retries_that_run_out_spool_then_the_spool_is_sent_on_recovery(
    make_tracker, collector, spool
):
    collector.stop()
    tracker = make_tracker(spool=spool, max_retries=2)
    tracker.flush(1)  # the (empty) start-up replay
    for n in range(20):
        tracker.add_hit(event(f"s{n}"))
    tracker.add_activation(activation("var-s"))
    assert tracker.flush(5)  # settled: spooled
    stats = tracker.stats()
    assert stats["spooled"] == 21
    assert stats["pending"] == 0
    # One file (the idle thread may be trying it right now: claimed).
    assert len([n for n in os.listdir(spool.directory) if n.endswith((".json", ".claimed"))]) == 1
    collector.start()
    tracker.add_hit(event("after"))
    assert tracker.flush(5)
    assert labels(collector) == {f"s{n}": 1 for n in range(20)} | {"after": 1}
    # The spooled hits are older: they arrive before the one queued after the outage.
    assert [hit["el"] for hit in collector.hits()] == [f"s{n}" for n in range(20)] + ["after"]
    assert [a["vaid"] for a in collector.activations()] == ["var-s"]
    assert spool.pending() == []
    assert tracker.stats()["sent"] == 22


def test_a_hit_queued_during_an_outage_waits_behind_the_spool(make_tracker, collector, spool):
    collector.stop()
    tracker = make_tracker(spool=spool, max_retries=1)
    tracker.flush(1)
    for n in range(5):
        tracker.add_hit(event(f"s{n}"))
    assert tracker.flush(5)
    assert tracker.stats()["spooled"] == 5
    # Still down: a new hit is not sent ahead of the spool; it joins it.
    tracker.add_hit(event("later"))
    assert tracker.flush(5)
    assert tracker.stats()["spooled"] == 6
    assert collector.hits() == []
    collector.start()
    tracker.add_hit(event("last"))
    assert tracker.flush(5)
    assert [hit["el"] for hit in collector.hits()] == [
        *(f"s{n}" for n in range(5)),
        "later",
        "last",
    ]


def test_a_spool_file_the_collector_refuses_does_not_hold_live_hits_back(
    make_tracker, collector, spool
):
    tracker = make_tracker(spool=spool, max_retries=5, backoff_base=0.5, backoff_max=1.0)
    assert tracker.flush(5)  # the start-up replay: nothing yet
    spool.write([event("stuck")])  # left by another process
    tracker._failures = 1  # after one timeout, say
    collector.fail_next(1, 503)  # the collector refuses the spool file, once
    tracker.add_hit(event("live"))
    assert tracker.flush(5)
    # The live hit went first; its success resumed the spool: the file follows, once.
    assert collector.wait_for(lambda c: len(c.hits()) == 2, timeout=5)
    assert [hit["el"] for hit in collector.hits()] == ["live", "stuck"]


def test_backoff_stays_finite_after_very_many_failures(make_tracker):
    tracker = make_tracker(backoff_base=0.5, backoff_max=30.0)
    tracker._failures = 5_000
    delay = tracker._note_failure(None)
    assert 15.0 <= delay <= 30.0
    assert tracker._retry_at > time.monotonic()


def test_close_spools_what_it_cannot_send_and_the_next_start_sends_it(
    make_tracker, collector, spool
):
    collector.stop()
    tracker = make_tracker(spool=spool, shutdown_timeout=0.3, max_retries=100)
    for n in range(15):
        tracker.add_hit(event(f"c{n}"))
    started = time.monotonic()
    tracker.close()
    assert time.monotonic() - started < 0.3 + 2.0 + 1.0
    assert tracker.stats()["spooled"] == 15
    collector.start()
    successor = make_tracker(spool=Spool(spool.directory, env_id=ENV))
    assert successor.flush(5)  # the first flush sends the spool
    assert labels(collector) == {f"c{n}": 1 for n in range(15)}
    assert spool.pending() == []


def test_close_is_idempotent_and_late_hits_go_to_the_spool(make_tracker, collector, spool):
    tracker = make_tracker(spool=spool)
    tracker.add_hit(event("before"))
    tracker.close()
    tracker.close()
    assert list(labels(collector)) == ["before"]
    tracker.add_hit(event("late"))
    assert tracker.stats()["spooled"] == 1
    assert tracker.flush(0.1)
    loaded = [item.payload["el"] for claim in spool.claim() for item in claim.items]
    assert loaded == ["late"]


def test_without_a_spool_what_cannot_be_sent_at_close_is_counted_and_logged(
    make_tracker, collector, caplog
):
    collector.stop()
    tracker = make_tracker(shutdown_timeout=0.2, max_retries=100)
    tracker.add_hit(event("lost"))
    with caplog.at_level(logging.ERROR, logger="django_flagship"):
        tracker.close()
    assert tracker.stats()["dropped_unsent"] == 1
    assert "no spool is configured" in caplog.text


def test_expired_hits_are_dropped_and_counted(make_tracker, collector):
    tracker = make_tracker()
    tracker.add_hit(event("old", created_at=time.time() - HIT_EXPIRATION_SECONDS - 1))
    tracker.add_hit(event("fresh"))
    assert tracker.flush(5)
    assert list(labels(collector)) == ["fresh"]
    assert tracker.stats()["expired"] == 1


def test_an_unexpected_client_error_is_retried_not_lost(make_tracker, collector, monkeypatch):
    tracker = make_tracker()
    real = tracker.client.send_hits
    calls = []

    def flaky(items):
        calls.append(len(items))
        if len(calls) == 1:
            raise RuntimeError("boom")
        real(items)

    monkeypatch.setattr(tracker.client, "send_hits", flaky)
    tracker.add_hit(event("survivor"))
    assert tracker.flush(5)
    assert list(labels(collector)) == ["survivor"]
    assert calls == [1, 1]


def test_on_event_reports_counter_changes(make_tracker, collector):
    seen = collections.Counter()
    tracker = make_tracker(on_event=lambda name, count: seen.update({name: count}))
    collector.fail_next(1, 503)
    for n in range(4):
        tracker.add_hit(event(f"e{n}"))
    assert tracker.flush(5)
    assert seen == {"queued": 4, "retried": 4, "sent": 4}
    assert set(seen) <= set(COUNTERS)


def test_stats_names_every_counter(make_tracker):
    assert set(make_tracker().stats()) == {*COUNTERS, "pending"}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_queue": 0}, "max_queue"),
        ({"batch_size": 0}, "batch_size"),
        ({"flush_interval": 0}, "flush_interval"),
        ({"shutdown_timeout": -1}, "shutdown_timeout"),
        ({"max_retries": -1}, "max_retries"),
    ],
)
def test_bad_arguments_are_refused(collector, kwargs, message):
    with pytest.raises(ValueError, match=message):
        BackgroundTracker(make_client(collector), **kwargs)


# -- real processes ------------------------------------------------------------

_SCRIPT = """
import logging
logging.basicConfig(level=logging.INFO)
from django_flagship.sdk.flusher import BackgroundTracker
from django_flagship.sdk.hits import Event
from django_flagship.sdk.spool import Spool
from django_flagship.sdk.tracking import LogTracker, TrackedHit
from django_flagship.sdk.tracking import CollectorClient, TrackedHit

client = CollectorClient("{env}", events_url="{events}", activate_url="{activate}", timeout=1.0)
spool = Spool({spool!r}, env_id="{env}") if {spool!r} else None
tracker = BackgroundTracker(
    client, flush_interval=60.0, shutdown_timeout={shutdown}, spool=spool, max_retries=100,
    backoff_base=0.01, backoff_max=0.05,
)
for n in range(40):
    hit = Event("Action Tracking", "click").with_event_label("exit%d" % n)
    tracker.add_hit(TrackedHit.from_hit(hit, "v1"))
print("queued", tracker.stats()["pending"])
# No flush, no close: the interpreter exits with the hits still queued.
"""


def _script(collector, spool_dir="", shutdown=2.0):
    return textwrap.dedent(_SCRIPT).format(
        env=ENV,
        events=collector.events_url,
        activate=collector.activate_url,
        spool=str(spool_dir),
        shutdown=shutdown,
    )


def test_pending_hits_are_flushed_at_interpreter_exit(collector):
    result = run_python(_script(collector))
    assert result.returncode == 0, result.stderr
    assert "queued 40" in result.stdout
    assert labels(collector) == {f"exit{n}": 1 for n in range(40)}


def test_at_exit_with_the_collector_down_hits_are_spooled_then_sent(collector, spool, make_tracker):
    collector.stop()
    started = time.monotonic()
    result = run_python(_script(collector, spool.directory, shutdown=0.5))
    assert result.returncode == 0, result.stderr
    assert time.monotonic() - started < 15
    assert "Spooled 40 Flagship items at shutdown" in result.stderr
    assert len(spool.pending()) == 1
    collector.start()
    assert make_tracker(spool=spool).flush(5)
    assert labels(collector) == {f"exit{n}": 1 for n in range(40)}


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
# A pre-forking server forks a process that runs threads, as here; Python 3.12+ warns.
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
@pytest.mark.parametrize("thread_started_in_parent", [True, False])
def test_a_forked_child_sends_its_own_hits_once_and_none_of_the_parents(
    make_tracker, collector, thread_started_in_parent
):
    tracker = make_tracker()
    if thread_started_in_parent:
        for n in range(5):
            tracker.add_hit(event(f"parent{n}"))
        assert tracker.stats()["pending"] == 5
    pid = os.fork()
    if pid == 0:  # the child: report through the exit status only
        code = 1
        try:
            if tracker.stats()["pending"] == 0:
                for n in range(7):
                    tracker.add_hit(event(f"child{n}"))
                ok = tracker.flush(5)
                code = 0 if ok and tracker.stats()["sent"] == 7 else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert tracker.flush(5)
    expected = {f"child{n}": 1 for n in range(7)}
    if thread_started_in_parent:
        expected |= {f"parent{n}": 1 for n in range(5)}
    assert labels(collector) == expected
    assert tracker.stats()["sent"] == (5 if thread_started_in_parent else 0)


def test_every_request_goes_to_the_configured_paths(make_tracker, collector):
    tracker = make_tracker()
    tracker.add_hit(event("p"))
    tracker.add_activation(activation("var-p"))
    assert tracker.flush(5)
    assert sorted(r.path for r in collector.requests) == sorted([EVENTS_PATH, ACTIVATE_PATH])


@pytest.mark.parametrize("api_key", ["a-key", ""])
def test_the_sdk_client_sends_through_a_background_tracker_with_or_without_a_key(
    collector, api_key
):
    """``Config(env_id)`` alone is enough: the collector and activate endpoint take no key."""
    config = Config(
        ENV,
        api_key,
        mode=Mode.BUCKETING,
        bucket_file=__file__,  # unusable as a bucket: flags serve defaults, hits still go
        events_url=collector.events_url,
        activate_url=collector.activate_url,
    )
    flagship = Flagship(config)
    try:
        assert isinstance(flagship.tracker, BackgroundTracker)
        visitor = flagship.create_visitor("v1")
        assert visitor.send_hit(Screen("sdk-screen"))
        flagship.track_activation(activation("var-1"), None)
        assert flagship.tracker.flush(5)
        assert [h["dl"] for h in collector.hits()] == ["sdk-screen"]
        assert [(a["vid"], a["caid"], a["vaid"]) for a in collector.activations()] == [
            ("v1", "vg-1", "var-1")
        ]
        assert all("x-api-key" not in r.headers for r in collector.requests)
        assert {r.body["cid"] for r in collector.requests} == {ENV}
    finally:
        flagship.stop()


def test_the_sdk_client_keeps_hits_local_only_when_told(collector):
    flagship = Flagship(
        Config(ENV, mode=Mode.BUCKETING, bucket_file=__file__), tracker=LogTracker()
    )
    try:
        assert isinstance(flagship.tracker, LogTracker)
    finally:
        flagship.stop()
