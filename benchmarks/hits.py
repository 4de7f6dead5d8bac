"""What hit delivery costs: the request path, batching, and memory during an outage.

Run with ``python benchmarks/hits.py`` (or ``make bench``); under a minute.
Every figure is measured against a baseline taken in the same run:

1. **Request path.** Handing one hit over for delivery, as a view does it
   (``request.flags.send_hit`` → ``hit_tracked`` signal → the app's receiver →
   ``BackgroundTracker.add_hit``), against a bare ``queue.Queue.put`` of the
   same object. Target: under 3 times the bare put. Building and validating
   the hit (``Visitor.send_hit`` as a whole) is shown too, for context.
2. **Throughput** to a collector on the loopback interface (a threaded
   ``http.server`` in this process): batches of 100 from the background
   thread against one POST per hit. Target: at least 20 times the rate.
3. **Memory** with the collector down and 1,000,000 hits offered to a queue
   of 10,000 (the default ``FLAGSHIP_HIT_QUEUE_SIZE``), with ``tracemalloc``.
   Target: what is held stays what 10,000 queued hits need.
"""

from __future__ import annotations

import gc
import json
import os
import queue
import socket
import sys
import tempfile
import threading
import time
import tracemalloc
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from django_flagship.sdk import Config, Flagship, Mode
from django_flagship.sdk.flusher import BackgroundTracker
from django_flagship.sdk.hits import Event, EventCategory
from django_flagship.sdk.tracking import CollectorClient, SyncTracker, TrackedHit
from django_flagship.signals import SignalTracker, hit_tracked

ENV = "bench-env"
REPEATS = 5


# -- a loopback collector -------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        items = body.get("h") or body.get("batch") or []
        with self.server.lock:  # type: ignore[attr-defined]
            self.server.received += len(items)  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


def start_collector() -> tuple[ThreadingHTTPServer, str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    server.lock = threading.Lock()  # type: ignore[attr-defined]
    server.received = 0  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def closed_port_url() -> str:
    """A loopback URL nobody listens on: the collector is down."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def client_for(base: str) -> CollectorClient:
    return CollectorClient(ENV, events_url=base + "/events/", activate_url=base + "/activate")


def tracked_hits(count: int) -> list[TrackedHit]:
    payload = Event(EventCategory.ACTION_TRACKING, "click").with_event_label("bench").to_payload()
    return [TrackedHit(payload, f"visitor-{n % 1000}") for n in range(count)]


def best_per_op(run: Callable[[], float], count: int) -> float:
    """The fastest of REPEATS runs, in nanoseconds per operation."""
    return min(run() for _ in range(REPEATS)) / count * 1e9


# -- 1. request path -------------------------------------------------------------


def request_path(count: int = 100_000) -> dict[str, float]:
    items = tracked_hits(count)
    down = closed_port_url()

    def bare_put() -> float:
        target: queue.Queue[TrackedHit] = queue.Queue()
        put = target.put
        start = time.perf_counter()
        for item in items:
            put(item)
        return time.perf_counter() - start

    def fresh_tracker() -> BackgroundTracker:
        # Nothing is sent while measuring (long interval, batch larger than
        # the run), but the thread is running, as in a live process.
        tracker = BackgroundTracker(
            client_for(down),
            max_queue=count + 10,
            batch_size=count + 10,
            flush_interval=3600.0,
            shutdown_timeout=0.1,
        )
        tracker.add_hit(items[0])
        return tracker

    def add_hit() -> float:
        tracker = fresh_tracker()
        add = tracker.add_hit
        start = time.perf_counter()
        for item in items:
            add(item)
        elapsed = time.perf_counter() - start
        _discard(tracker)
        return elapsed

    def signal_path() -> float:
        tracker = SignalTracker(fresh_tracker())
        add = tracker.add_hit
        start = time.perf_counter()
        for item in items:
            add(item)
        elapsed = time.perf_counter() - start
        _discard(tracker.sink)
        return elapsed

    def another_receiver(sender: object, **kwargs: object) -> None:
        pass

    def signal_path_with_a_receiver() -> float:
        hit_tracked.connect(another_receiver)
        try:
            return signal_path()
        finally:
            hit_tracked.disconnect(another_receiver)

    with tempfile.TemporaryDirectory() as directory:
        bucket = Path(directory) / "bucketing.json"
        bucket.write_text(json.dumps({"panic": False, "campaigns": []}))
        sdk_count = count // 5

        def visitor_send_hit() -> float:
            sink = fresh_tracker()
            sink.max_queue = sink.batch_size = sdk_count + 10
            client = Flagship(
                Config(ENV, mode=Mode.BUCKETING, bucket_file=bucket),
                tracker=SignalTracker(sink),
            )
            visitor = client.create_visitor("visitor-1")
            start = time.perf_counter()
            for _ in range(sdk_count):
                visitor.send_hit(
                    Event(EventCategory.ACTION_TRACKING, "click").with_event_label("bench")
                )
            elapsed = time.perf_counter() - start
            _discard(sink)
            return elapsed

        full = best_per_op(visitor_send_hit, sdk_count)
    return {
        "queue.put": best_per_op(bare_put, count),
        "BackgroundTracker.add_hit": best_per_op(add_hit, count),
        "signal + receiver + add_hit": best_per_op(signal_path, count),
        "... with one more receiver connected": best_per_op(signal_path_with_a_receiver, count),
        "Visitor.send_hit (build, validate, hand over)": full,
    }


def _discard(tracker: BackgroundTracker) -> None:
    """Close a benchmark tracker without spending its shutdown on an outage."""
    with tracker._lock:
        tracker._queue.clear()
    tracker.close()


# -- 2. throughput ---------------------------------------------------------------


def throughput(batched_count: int = 20_000, single_count: int = 1_000) -> dict[str, float]:
    server, base = start_collector()
    try:
        items = tracked_hits(batched_count)
        tracker = BackgroundTracker(
            client_for(base), max_queue=batched_count, batch_size=100, flush_interval=3600.0
        )
        start = time.perf_counter()
        for item in items:
            tracker.add_hit(item)
        if not tracker.flush(120):
            raise RuntimeError("the batched run did not finish")
        batched = batched_count / (time.perf_counter() - start)
        tracker.close()

        one_by_one = SyncTracker(client_for(base))
        start = time.perf_counter()
        for item in items[:single_count]:
            one_by_one.add_hit(item)
        single = single_count / (time.perf_counter() - start)
        one_by_one.close()
        expected = batched_count + single_count
        if server.received != expected:  # type: ignore[attr-defined]
            raise RuntimeError(f"collector got {server.received} hits, not {expected}")  # type: ignore[attr-defined]
    finally:
        server.shutdown()
        server.server_close()
    return {"batched (hits/s)": batched, "one request per hit (hits/s)": single}


# -- 3. memory -------------------------------------------------------------------


def memory(offered: int = 1_000_000, max_queue: int = 10_000) -> dict[str, float]:
    tracker = BackgroundTracker(
        client_for(closed_port_url()),
        max_queue=max_queue,
        batch_size=max_queue * 10,  # no wake-ups: nothing is sent while measuring
        flush_interval=3600.0,
        shutdown_timeout=0.1,
    )
    payload = Event(EventCategory.ACTION_TRACKING, "click").with_event_label("down").to_payload()
    gc.collect()
    tracemalloc.start()
    base, _ = tracemalloc.get_traced_memory()
    for n in range(offered):
        # A fresh hit each time; the id has a uuid4 hex's length, without its cost.
        tracker.add_hit(TrackedHit(payload, "visitor-1", id=f"{n:032x}"))
        if n == max_queue * 2:
            full, _ = tracemalloc.get_traced_memory()
    end, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    stats = tracker.stats()
    _discard(tracker)
    return {
        "held when the queue filled (MiB)": (full - base) / 2**20,
        "held after all offered (MiB)": (end - base) / 2**20,
        "growth after the queue filled (KiB)": (end - full) / 2**10,
        "peak (MiB)": (peak - base) / 2**20,
        "per queued hit (bytes)": (full - base) / max_queue,
        "queued": stats["queued"],
        "dropped_full": stats["dropped_full"],
    }


# -- report ------------------------------------------------------------------------


def main() -> None:
    os.environ.setdefault("PYTHONHASHSEED", "0")
    started = time.perf_counter()
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs\n")

    print(f"1. Request path (ns per hit, best of {REPEATS})")
    path = request_path()
    base = path["queue.put"]
    for name, value in path.items():
        print(f"   {name:<48} {value:8.0f} ns   {value / base:5.2f}x queue.put")
    ratio = path["signal + receiver + add_hit"] / base
    verdict = "met" if ratio < 3 else "MISSED"
    print(f"   hand-off on the request path: {ratio:.2f}x a bare put (target < 3x: {verdict})")

    print("\n2. Throughput to the loopback collector")
    rates = throughput()
    for name, value in rates.items():
        print(f"   {name:<48} {value:10.0f}")
    speedup = rates["batched (hits/s)"] / rates["one request per hit (hits/s)"]
    verdict = "met" if speedup >= 20 else "MISSED"
    print(f"   batched / one per hit: {speedup:.1f}x (target >= 20x: {verdict})")

    print("\n3. Memory, collector down, 1,000,000 hits offered, queue of 10,000")
    held = memory()
    for name, value in held.items():
        print(f"   {name:<48} {value:12.2f}")
    bounded = held["growth after the queue filled (KiB)"] < 256
    verdict = "met" if bounded else "MISSED"
    print(
        f"   bounded by the queue setting: {verdict} "
        f"({held['queued']:.0f} kept, {held['dropped_full']:.0f} dropped and counted)"
    )
    print(f"\nTotal time: {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
