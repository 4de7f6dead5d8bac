"""Hits under faults: a collector that hangs, a replay cut short, a crash mid-write.

Real parts throughout: the tests' collector on loopback (it can hang: read a
request and never answer it), the spool on disk, and separate Python
processes killed with ``SIGKILL`` where a crash is the point. Each test counts
what was sent, received, duplicated and lost.
"""

import collections
import logging
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from django_flagship.sdk import filelock
from django_flagship.sdk.spool import Spool

from .collector import ACTIVATE_PATH, EVENTS_PATH
from .conftest import (
    ENV,
    ROOT,
    activation,
    all_once,
    event,
    labels,
    online_example_env,
    tally,
    wait_until,
)

EXAMPLE = ROOT / "example_project"

needs_fork = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")


def vaids(collector):
    return collections.Counter(item["vaid"] for item in collector.activations())


def spool_names(spool):
    return sorted(os.listdir(spool.directory)) if spool.directory.exists() else []


# -- a collector that never answers, at shutdown ---------------------------------------------


def test_close_returns_by_its_deadline_and_spools_the_batch_left_unanswered(
    make_tracker, collector, spool
):
    tracker = make_tracker(spool=spool, timeout=5.0, shutdown_timeout=0.5, batch_size=100)
    sent = [f"h{n}" for n in range(30)]
    for label in sent:
        tracker.add_hit(event(label))
    for n in range(10):
        tracker.add_activation(activation(f"var-{n}"))
    collector.hang()
    assert not tracker.flush(0.2)  # the batch went out: its activations' POST hangs
    assert collector.wait_for(lambda c: len(c.hung()) == 1, timeout=2)

    started = time.monotonic()
    tracker.close()
    took = time.monotonic() - started
    # Before: the deadline plus one more 5 s HTTP timeout, and a batch makes two POSTs.
    assert took < 0.5 + 0.4, took
    stats = tracker.stats()
    assert stats["spooled"] == 40
    assert stats["dropped_unsent"] == 0

    collector.answer()
    assert make_tracker(spool=Spool(spool.directory, env_id=ENV)).flush(5)
    assert tally(labels(collector), sent) == all_once(30)
    assert vaids(collector) == {f"var-{n}": 1 for n in range(10)}
    assert spool_names(spool) == []


def test_what_was_acknowledged_before_the_deadline_is_not_spooled_again(
    make_tracker, collector, spool
):
    tracker = make_tracker(spool=spool, timeout=5.0, shutdown_timeout=0.5, batch_size=100)
    for n in range(10):
        tracker.add_activation(activation(f"var-{n}"))
    sent = [f"h{n}" for n in range(25)]
    for label in sent:
        tracker.add_hit(event(label))
    collector.hang(after=1)  # the activations are answered, the hits' POST hangs
    assert not tracker.flush(0.2)
    assert collector.wait_for(lambda c: len(c.hung()) == 1, timeout=2)
    started = time.monotonic()
    tracker.close()
    assert time.monotonic() - started < 0.5 + 0.4
    assert tracker.stats()["sent"] == 10
    assert tracker.stats()["spooled"] == 25

    collector.answer()
    assert make_tracker(spool=Spool(spool.directory, env_id=ENV)).flush(5)
    assert vaids(collector) == {f"var-{n}": 1 for n in range(10)}  # not twice
    assert tally(labels(collector), sent)["received"] == 25
    assert tally(labels(collector), sent)["duplicated"] == 0


def test_close_during_a_replay_to_a_hanging_collector_keeps_its_deadline_and_the_file(
    make_tracker, collector, spool
):
    spooled = [f"old{n}" for n in range(100)]
    spool.write([event(label) for label in spooled])
    tracker = make_tracker(spool=spool, timeout=5.0, shutdown_timeout=0.5)
    collector.hang()
    tracker.add_hit(event("live"))  # starts the thread: it replays the spool first
    assert collector.wait_for(lambda c: len(c.hung()) == 1, timeout=2)
    started = time.monotonic()
    tracker.close()
    assert time.monotonic() - started < 0.5 + 0.4
    assert tracker.stats()["spooled"] == 1  # the live hit; the old file stays as it is

    collector.answer()
    successor = make_tracker(spool=Spool(spool.directory, env_id=ENV))
    successor.add_hit(event("next"))
    assert successor.flush(5)
    sent = [*spooled, "live", "next"]
    assert collector.wait_for(lambda c: tally(labels(c), sent)["received"] == len(sent))
    assert tally(labels(collector), sent) == all_once(102)
    assert wait_until(lambda: spool_names(spool) == [])


# -- a write cut short by a crash ------------------------------------------------------------

_CRASH_WHILE_WRITING = """
import os, sys, time
from django_flagship.sdk.hits import Event
from django_flagship.sdk.spool import Spool
from django_flagship.sdk.tracking import TrackedHit

def stuck(fd):
    print("written", flush=True)
    time.sleep(60)  # killed here: the data is in the file, the file not yet in place

os.fsync = stuck
hits = [
    TrackedHit.from_hit(Event("Action Tracking", "click").with_event_label("crash%d" % n), "v1")
    for n in range(40)
]
Spool(sys.argv[1], env_id=sys.argv[2]).write(hits)
"""


def test_a_write_a_crash_interrupted_is_recovered_by_the_next_start(
    make_tracker, collector, spool, caplog
):
    writer = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(_CRASH_WHILE_WRITING), str(spool.directory), ENV],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        assert writer.stdout.readline() == "written\n"
    finally:
        writer.kill()
        writer.wait()
    [left] = spool_names(spool)
    assert left.startswith(".writing-")
    assert left.endswith(".tmp")

    with caplog.at_level(logging.WARNING, logger="django_flagship"):
        assert make_tracker(spool=Spool(spool.directory, env_id=ENV)).flush(5)
    sent = [f"crash{n}" for n in range(40)]
    assert tally(labels(collector), sent) == all_once(40)
    assert "Recovered .writing-" in caplog.text
    assert spool_names(spool) == []


def test_a_torn_temporary_file_is_set_aside_with_an_error(spool, caplog):
    spool.write([event("whole")])
    [whole] = spool.pending()
    torn = spool.directory / ".writing-torn.tmp"
    torn.write_bytes(whole.read_bytes()[:50])  # the disk kept only the beginning
    with caplog.at_level(logging.WARNING, logger="django_flagship"):
        found = [item.payload["el"] for claimed in spool.claim() for item in claimed.items]
    assert found == ["whole"]
    assert [name for name in spool_names(spool) if name.endswith(".bad")] != []
    assert "Recovered .writing-torn.tmp" in caplog.text
    assert "Set aside" in caplog.text


def test_a_temporary_file_being_written_is_left_alone(tmp_path):
    fcntl = pytest.importorskip("fcntl", reason="file locks are POSIX")
    clock = [time.time()]
    spool = Spool(tmp_path, env_id=ENV, clock=lambda: clock[0])
    spool.write([event("placed")])
    [placed] = spool.pending()
    writing = tmp_path / ".writing-live.tmp"
    writing.write_bytes(placed.read_bytes())
    empty = tmp_path / ".writing-new.tmp"
    empty.write_bytes(b"")  # a writer has just created it
    held = os.open(writing, os.O_RDONLY)
    fcntl.flock(held, fcntl.LOCK_EX)  # its writer is alive
    try:
        assert [len(claimed.items) for claimed in spool.claim()] == [1]
        assert writing.exists()
        assert empty.exists()
        clock[0] += 3600  # an hour later: the empty file is nobody's
        assert list(spool.claim()) == []
        assert writing.exists()
        assert not empty.exists()
    finally:
        os.close(held)


# -- a replay that stops half-way, and an idle process -------------------------------------


def test_a_replay_that_fails_half_way_is_resumed_by_the_next_success(
    make_tracker, collector, spool
):
    spooled = [f"old{f}-{n}" for f in range(3) for n in range(100)]
    for f in range(3):
        spool.write([event(f"old{f}-{n}") for n in range(100)])
    collector.stop()
    # A long backoff for the spool: only a success may bring it back in time.
    tracker = make_tracker(spool=spool, batch_size=100, backoff_base=30.0, backoff_max=60.0)
    assert tracker.flush(1)  # the start-up replay finds the collector down
    collector.start()
    collector.answer_next(200, 503)  # one request goes, the next is refused
    live = [f"live{n}" for n in range(5)]
    for label in live:
        tracker.add_hit(event(label))
        assert tracker.flush(5)
    assert collector.wait_for(lambda c: tally(labels(c), spooled)["received"] == 300, timeout=5), (
        tally(labels(collector), spooled)
    )
    assert tally(labels(collector), spooled + live) == all_once(305)
    assert spool_names(spool) == []


def test_an_idle_process_sends_its_spool_once_the_collector_is_back(make_tracker, collector, spool):
    collector.stop()
    tracker = make_tracker(spool=spool, max_retries=1)
    sent = [f"idle{n}" for n in range(20)]
    for label in sent:
        tracker.add_hit(event(label))
    assert tracker.flush(5)  # settled: spooled
    assert tracker.stats()["spooled"] == 20
    assert tracker.stats()["pending"] == 0
    collector.start()
    # Nothing new is queued and nobody flushes: the thread probes on its own.
    assert collector.wait_for(lambda c: tally(labels(c), sent)["received"] == 20, timeout=5)
    assert tally(labels(collector), sent)["duplicated"] == 0
    assert wait_until(lambda: spool_names(spool) == [])  # deleted once acknowledged


def test_an_idle_process_probes_with_backoff_not_in_a_loop(make_tracker, collector, spool):
    spool.write([event(f"p{n}") for n in range(5)])
    collector.status = 503
    tracker = make_tracker(spool=spool, backoff_base=0.05, backoff_max=0.2)
    assert tracker.flush(1)
    time.sleep(1.5)
    tries = len(collector.requests)
    # Backoff from 0.05 s doubling to 0.2 s: about ten in 1.5 s; a loop would make thousands.
    assert 3 <= tries <= 25, tries
    collector.status = 200
    assert collector.wait_for(lambda c: len(labels(c)) == 5, timeout=2)
    assert labels(collector) == {f"p{n}": 1 for n in range(5)}
    assert wait_until(lambda: spool_names(spool) == [])


# -- a replay killed half-way ------------------------------------------------------------------


def flush_hits_command(collector, tmp_path, spool_dir):
    """``manage.py flagship_flush_hits`` of the example project, as a process of its own."""
    env = online_example_env(
        tmp_path, collector, FLAGSHIP_HIT_SPOOL_DIR=str(spool_dir), FLAGSHIP_TIMEOUT="10"
    )
    return subprocess.Popen(
        [sys.executable, str(EXAMPLE / "manage.py"), "flagship_flush_hits"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_sigkill_during_a_replay_the_next_reader_takes_over_at_once_and_resends_nothing(
    collector, spool, tmp_path
):
    activated = [activation(f"var-{n}") for n in range(200)]
    sent = [f"k{n}" for n in range(1800)]
    spool.write([*activated, *(event(label) for label in sent)])
    # 20 requests of 100: the first 6 (200 activations, 400 hits) are answered,
    # the 7th hangs, and the command is killed while it waits.
    collector.hang(after=6)
    first = flush_hits_command(collector, tmp_path, spool.directory)
    try:
        assert collector.wait_for(lambda c: len(c.hung()) == 1, timeout=20), first.stderr
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    assert len(collector.accepted(ACTIVATE_PATH)) == 2
    assert len(collector.accepted(EVENTS_PATH)) == 4
    assert [name.rsplit(".", 1)[-1] for name in spool_names(spool)] == ["ack", "claimed"]

    collector.answer()
    started = time.monotonic()
    second = flush_hits_command(collector, tmp_path, spool.directory)
    out, err = second.communicate(timeout=60)
    assert second.returncode == 0, err
    assert time.monotonic() - started < 20  # not the five minutes of a stale claim
    assert "Sent 1400 spooled items from 1 file" in out
    assert "Skipped 600 items an interrupted earlier run had already sent" in out
    assert tally(labels(collector), sent) == all_once(1800)
    assert vaids(collector) == {f"var-{n}": 1 for n in range(200)}
    assert spool_names(spool) == []


_CLAIM_AND_FORK = """
import os, sys, time
from django_flagship.sdk.spool import Spool

claimed = next(Spool(sys.argv[1], env_id=sys.argv[2]).claim())
child = os.fork()
if child == 0:
    os.write(1, b"child\\n")  # a worker forked while its parent was sending the file
    time.sleep(60)
    os._exit(0)
os.write(1, b"%d\\n" % child)
time.sleep(60)
"""


@needs_fork
def test_a_claim_is_its_readers_alone_not_a_forked_childs(spool):
    spool.write([event("forked")])
    reader = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(_CLAIM_AND_FORK), str(spool.directory), ENV],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    lines = {reader.stdout.readline().strip(), reader.stdout.readline().strip()}
    assert "child" in lines  # the child runs: past the fork and its hooks
    child = int((lines - {"child"}).pop())
    try:
        assert list(spool.claim()) == []  # the reader is alive: its claim holds
        assert len(spool.busy()) == 1
        reader.kill()
        reader.wait()
        # The reader is gone, its child lives on: the claim is free at once.
        [again] = list(spool.claim())
        assert [item.payload["el"] for item in again.items] == ["forked"]
        again.done()
    finally:
        reader.kill()
        os.kill(child, signal.SIGKILL)


def test_a_claim_held_by_a_live_reader_is_not_taken_however_old(tmp_path):
    clock = [time.time()]
    spool = Spool(tmp_path, env_id=ENV, stale_claim_after=60, clock=lambda: clock[0])
    spool.write([event("held")])
    held = next(spool.claim())
    clock[0] += 3600
    other = Spool(tmp_path, env_id=ENV, stale_claim_after=60, clock=lambda: clock[0])
    assert list(other.claim()) == []
    assert other.busy() == [held.path]
    held.release(held.items)
    [again] = list(other.claim())
    assert [item.payload["el"] for item in again.items] == ["held"]


def test_without_file_locks_a_claim_is_taken_over_once_stale(tmp_path, monkeypatch):
    monkeypatch.setattr(filelock, "fcntl", None)
    clock = [time.time()]
    spool = Spool(tmp_path, env_id=ENV, stale_claim_after=60, clock=lambda: clock[0])
    spool.write([event("orphan")])
    abandoned = next(spool.claim())  # claimed, then never finished
    assert spool.pending() == []
    assert list(spool.claim()) == []  # too recent to take over
    assert spool.busy() == [abandoned.path]
    clock[0] += 61
    [again] = list(spool.claim())
    assert [item.payload["el"] for item in again.items] == ["orphan"]
    assert again.path == abandoned.path
