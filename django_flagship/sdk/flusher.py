"""A tracker that hands hits to a background thread and never blocks the caller.

:class:`BackgroundTracker` puts each hit and activation on a bounded in-memory
queue (a full queue drops the item, counts it and warns once per burst) and a
daemon thread of its own sends them in batches through a
:class:`~django_flagship.sdk.tracking.CollectorClient`.

* The thread starts with the first item, never before, and is named
  ``django-flagship-hits``. It wakes every ``flush_interval`` seconds (plus a
  little jitter, so workers started together do not post together), as soon
  as ``batch_size`` items are waiting, and on :meth:`~BackgroundTracker.flush`.
* Timeouts, connection errors and 5xx/408/429 answers are retried with
  exponential backoff and jitter (``Retry-After`` is honoured). The failed
  items go back to the front of the queue, so each visitor's hits keep their
  order; the queue bound applies to them too. Any other 4xx is final: the
  refused request's items are dropped and the reason logged.
* After ``max_retries`` failed attempts in a row the collector counts as down:
  everything pending is written to the :class:`~django_flagship.sdk.spool.Spool`
  (when there is one).
* The spool is sent when the thread starts, before the next batch once it is
  due, and on its own while the queue is empty: an idle process probes with
  the same backoff (up to ``backoff_max``) until the spool is empty. Any
  success resumes a replay that stopped half-way. Each file records its
  progress, so a replay cut short resends nothing that was acknowledged.
* At interpreter exit (``atexit``) each tracker flushes for at most
  ``shutdown_timeout`` seconds and spools what is left. Every request is
  bounded by what is left of that deadline; if one is still unanswered at the
  deadline (a server that trickles), its items are spooled by ``close()``
  itself, so nothing that was not acknowledged is lost, and the rare answer
  that arrives after that makes a duplicate rather than a loss.
* An activation recorded with :meth:`~BackgroundTracker.record_activation`
  waits in the queue as an :class:`~django_flagship.sdk.events.ActivationRecord`
  (the visitor, the variation and the time), and a hit recorded with
  :meth:`~BackgroundTracker.record_hit` as its
  :class:`~django_flagship.sdk.tracking.HitRecord`: the thread builds the item,
  its random id included, when it takes the batch, or when it spools the record.
* After ``os.fork()`` the child starts empty, with a new lock, thread and
  connection pool; the items queued in the parent stay with the parent, so
  none is sent twice.

The module is over 500 lines because it is one class whose queue, retries,
spool replay, shutdown and fork handling share one lock and one state: split
apart, each part would reach into the others' private attributes.
"""

from __future__ import annotations

import atexit
import collections
import logging
import os
import random
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .events import COLLECTOR, ActivationRecord, TrackerBase
from .hits import Activation
from .spool import ClaimedFile, Spool, SpoolReport
from .tracking import (
    CollectorClient,
    DeliveryError,
    HitRecord,
    RetryableDeliveryError,
    TrackedHit,
)

__all__ = ["COUNTERS", "THREAD_NAME", "BackgroundTracker", "SendOutcome"]

logger = logging.getLogger(__name__)

THREAD_NAME = "django-flagship-hits"

#: The names :meth:`BackgroundTracker.stats` reports (plus ``pending``).
COUNTERS = (
    "queued",
    "sent",
    "retried",
    "spooled",
    "expired",
    "dropped_full",
    "dropped_permanent",
    "dropped_invalid",
    "dropped_unsent",
)

# (sequence number, TrackedHit | Activation | ActivationRecord | HitRecord)
_Entry = tuple[int, Any]

_trackers: weakref.WeakSet[BackgroundTracker] = weakref.WeakSet()
_hooks_installed = False
_hooks_lock = threading.Lock()


def _install_process_hooks() -> None:
    # Once per process, when the first tracker is built: never at import, and
    # before any fork that could copy a tracker into a child.
    global _hooks_installed
    with _hooks_lock:
        if _hooks_installed:
            return
        _hooks_installed = True
        atexit.register(_close_all)
        if hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=_reset_all_after_fork)


def _close_all() -> None:
    for tracker in list(_trackers):
        try:
            tracker.close()
        except Exception:
            logger.exception("Closing the Flagship hit tracker at exit failed")


def _reset_all_after_fork() -> None:
    for tracker in list(_trackers):
        tracker._reset_after_fork()


#: What the request path records unbuilt.
_RECORDS = (ActivationRecord, HitRecord)


def _built(item: Any) -> Any:
    """The item to send or spool: an item recorded on the request path is built now."""
    return item.build() if type(item) in _RECORDS else item


@dataclass
class SendOutcome:
    """What sending one list of items to the collector did with them."""

    sent: int = 0
    expired: int = 0
    invalid: int = 0
    refused: int = 0
    unsent: list[Any] = field(default_factory=list)
    error: DeliveryError | None = None


class BackgroundTracker(TrackerBase):
    """Queues hits and activations; a daemon thread batches and sends them.

    Every time is in float seconds. ``on_event(name, count)`` is called after
    each counter change (names in :data:`COUNTERS`), for metrics; it runs on
    the thread that changed the counter and must be quick.
    """

    kind = COLLECTOR

    def __init__(
        self,
        client: CollectorClient,
        *,
        max_queue: int = 10_000,
        flush_interval: float = 5.0,
        batch_size: int = 100,
        shutdown_timeout: float = 2.0,
        spool: Spool | None = None,
        max_retries: int = 5,
        backoff_base: float = 0.5,
        backoff_max: float = 30.0,
        on_event: Callable[[str, int], None] | None = None,
        thread_name: str = THREAD_NAME,
    ) -> None:
        for name, value in (("max_queue", max_queue), ("batch_size", batch_size)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be an int >= 1, got {value!r}")
        if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
            raise ValueError(f"max_retries must be an int >= 0, got {max_retries!r}")
        for name, number in (
            ("flush_interval", flush_interval),
            ("shutdown_timeout", shutdown_timeout),
            ("backoff_base", backoff_base),
            ("backoff_max", backoff_max),
        ):
            if isinstance(number, bool) or not isinstance(number, int | float) or not number > 0:
                raise ValueError(f"{name} must be a number of seconds > 0, got {number!r}")
        self.client = client
        self.max_queue = max_queue
        self.flush_interval = float(flush_interval)
        self.batch_size = batch_size
        self.shutdown_timeout = float(shutdown_timeout)
        self.spool = spool
        self.max_retries = max_retries
        self.backoff_base = float(backoff_base)
        self.backoff_max = float(backoff_max)
        self.on_event = on_event
        self.thread_name = thread_name
        self._closed = False
        self._init_state()
        _trackers.add(self)
        _install_process_hooks()

    def _init_state(self) -> None:
        self._lock = threading.Lock()
        self._settled = threading.Condition(self._lock)
        self._wake = threading.Event()
        self._send_lock = threading.Lock()
        self._queue: collections.deque[_Entry] = collections.deque()
        self._seq = 0
        self._in_flight: int | None = None  # lowest sequence number being sent
        self._in_flight_count = 0
        # The batch being sent by sequence number, less what the collector
        # acknowledged: close() spools it when the thread cannot finish by the deadline.
        self._unacknowledged: dict[int, Any] = {}
        self._handover = threading.Lock()
        self._handed_over = False
        self._deadline: float | None = None  # set by close(): bounds every request
        self._thread: threading.Thread | None = None
        self._flush_requested = False
        self._failures = 0
        self._retry_at = 0.0
        self._replay_needed = self.spool is not None
        # The spool: when to read it next (None: nothing known to be there).
        self._spool_due: float | None = None
        self._spool_failures = 0
        self._spool_error: DeliveryError | None = None
        self._burst_dropped = 0
        self._counts = dict.fromkeys(COUNTERS, 0)

    def __repr__(self) -> str:
        return (
            f"BackgroundTracker({self.client!r}, max_queue={self.max_queue}, "
            f"batch_size={self.batch_size}, flush_interval={self.flush_interval})"
        )

    # -- the Tracker interface (any thread) ------------------------------------

    def add_hit(self, item: TrackedHit) -> None:
        """Queue a hit; never blocks and never raises."""
        self._put(item)

    def add_activation(self, item: Activation) -> None:
        """Queue an activation; never blocks and never raises."""
        self._put(item)

    def record_activation(
        self,
        visitor_id: str,
        variation_group_id: str,
        variation_id: str,
        anonymous_id: str | None,
        created_at: float,
    ) -> None:
        """Queue what identifies an activation; the thread builds the item."""
        self._put(
            ActivationRecord(visitor_id, variation_group_id, variation_id, anonymous_id, created_at)
        )

    def record_hit(self, record: HitRecord) -> None:
        """Queue what identifies a hit; the thread builds the item."""
        self._put(record)

    def flush(self, timeout: float | None = None) -> bool:
        """Send what is queued now; True when all of it is settled in time.

        Settled means sent, refused, expired or spooled. ``timeout`` defaults
        to ``shutdown_timeout``. A flush makes one attempt at once even while
        backing off after failures; later attempts follow the backoff.
        """
        timeout = self.shutdown_timeout if timeout is None else timeout
        with self._lock:
            if self._closed:
                return not self._queue
            target = self._seq
            if self._is_settled(target):
                return True
            self._flush_requested = True
        if not self._ensure_thread():
            self._drain_here(time.monotonic() + timeout, replay=True)
        self._wake.set()
        with self._lock:
            return self._settled.wait_for(lambda: self._is_settled(target), timeout)

    def close(self) -> None:
        """Flush within ``shutdown_timeout``, spool the rest, stop. Idempotent.

        Returns by the deadline (plus the time to write the spool): a request
        still unanswered then is given up and its items spooled.
        """
        deadline = time.monotonic() + self.shutdown_timeout
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._deadline = deadline
            thread = self._thread
        if thread is not None and thread.is_alive():
            with self._lock:
                target = self._seq
                self._flush_requested = True
            self._wake.set()
            with self._lock:
                self._settled.wait_for(
                    lambda: self._is_settled(target), max(0.0, deadline - time.monotonic())
                )
        else:
            self._drain_here(deadline, replay=False)
        with self._lock:
            leftovers = [item for _, item in self._queue]
            self._queue.clear()
            self._settled.notify_all()
        self._save(leftovers, "at shutdown")
        if thread is not None:
            self._wake.set()
            thread.join(max(0.0, deadline - time.monotonic()))
            if thread.is_alive():
                self._hand_over()
        self.client.close()

    def _hand_over(self) -> None:
        """Spool the in-flight batch the thread could not finish by the deadline."""
        with self._handover:
            with self._lock:
                items = list(self._unacknowledged.values())
                self._unacknowledged.clear()
                self._handed_over = True
            if items:
                logger.warning(
                    "The Flagship collector did not answer by the shutdown deadline: "
                    "spooling the %d items in flight",
                    len(items),
                )
            self._save(items, "at shutdown")

    def stats(self) -> dict[str, int]:
        """Counters since this process started (a forked child starts at 0)."""
        with self._lock:
            counts = dict(self._counts)
            # A batch being sent is still pending: it may come back for a retry.
            counts["pending"] = len(self._queue) + self._in_flight_count
        return counts

    def replay_spool(self) -> SpoolReport:
        """Send the spool now, in the calling thread; stop at the first outage."""
        with self._send_lock:
            return self._replay()

    # -- queueing --------------------------------------------------------------

    def _put(self, item: Any) -> None:
        closed = queued = start = wake = first_drop = False
        with self._lock:
            if self._closed:
                closed = True
            elif len(self._queue) >= self.max_queue:
                self._counts["dropped_full"] += 1
                self._burst_dropped += 1
                first_drop = self._burst_dropped == 1
            else:
                self._seq += 1
                self._queue.append((self._seq, item))
                self._counts["queued"] += 1
                start = self._thread is None
                wake = len(self._queue) % self.batch_size == 0
                if not (start or wake or self.on_event):
                    return  # the common case: one lock, one append
                queued = True
        if closed:
            # Late work during interpreter exit, after close(): straight to the spool.
            self._save([item], "after the tracker was closed")
        elif not queued:
            self._emit("dropped_full", 1)
            if first_drop:
                logger.warning(
                    "Flagship hit queue is full (%d items): dropping new hits until it drains",
                    self.max_queue,
                )
        else:
            self._emit("queued", 1)
            if start:
                self._ensure_thread()
            if wake:
                self._wake.set()

    def _ensure_thread(self) -> bool:
        """Start the flusher thread if needed; False when no thread can run."""
        with self._lock:
            if self._closed:
                return False
            if self._thread is not None and self._thread.is_alive():
                return True
            # Started under the lock, so two first hits cannot start two threads.
            thread = threading.Thread(target=self._run, name=self.thread_name, daemon=True)
            try:
                thread.start()
            except RuntimeError:  # "can't create new thread at interpreter shutdown"
                self._thread = None
                logger.warning("Could not start the Flagship hit thread; hits wait for close()")
                return False
            self._thread = thread
        return True

    def _is_settled(self, target: int) -> bool:
        # Called with the lock held. The queue is in sequence order: failed
        # items go back to its front.
        if self._replay_needed and not self._closed:
            return False
        if self._queue and self._queue[0][0] <= target:
            return False
        return self._in_flight is None or self._in_flight > target

    # -- the thread --------------------------------------------------------------

    def _run(self) -> None:
        while True:
            try:
                if self._spool_is_due():
                    with self._send_lock:
                        self._replay()
                    with self._lock:
                        self._replay_needed = False
                        self._settled.notify_all()
                self._wake.wait(self._next_wait())
                self._wake.clear()
                with self._lock:
                    if self._closed and not self._queue:
                        return
                self._drain(deadline=None)
            except Exception:  # the thread must survive anything
                logger.exception("Unexpected error in the Flagship hit thread")
                with self._lock:
                    self._replay_needed = False
                    if self._spool_due is not None:  # no loop on a failing replay
                        self._spool_due = time.monotonic() + self.backoff_max
                    self._settled.notify_all()
                if self._closed:
                    return

    def _spool_is_due(self, *, before_batch: bool = False) -> bool:
        with self._lock:
            if self._closed:
                return False  # at shutdown the spool stays where it is, safe
            if self._replay_needed:
                return True
            if before_batch and self._failures > 0:
                # Coming out of an outage, the spool goes before the next batch:
                # this process's, and what others wrote during the outage.
                return True
            return self._spool_due is not None and self._spool_due <= time.monotonic()

    def _next_wait(self) -> float:
        with self._lock:
            if self._closed or self._flush_requested:
                return 0.0
            now = time.monotonic()
            wait = self.flush_interval + random.uniform(0, self.flush_interval / 10)
            remaining = self._retry_at - now
            if self._failures and remaining > 0 and self._queue:
                wait = remaining
            elif len(self._queue) >= self.batch_size or (self._failures and self._queue):
                wait = 0.0
            if self._spool_due is not None:
                # An idle process probes the collector with its spool.
                wait = min(wait, max(0.0, self._spool_due - now))
        return wait

    def _drain_here(self, deadline: float, *, replay: bool) -> None:
        """Send from the calling thread when the flusher thread cannot run."""
        with self._lock:
            self._flush_requested = True
            replay = replay and self._replay_needed
            self._replay_needed = False
        if replay:
            with self._send_lock:
                self._replay()
        self._drain(deadline)

    def _drain(self, deadline: float | None) -> None:
        """Send batches until the queue is empty, a failure, or ``deadline``."""
        with self._lock:
            forced = self._flush_requested or self._closed
            self._flush_requested = False
        while deadline is None or time.monotonic() < deadline:
            with self._lock:
                if self._failures and not forced and time.monotonic() < self._retry_at:
                    return
                if not self._queue:
                    return
                count = min(self.batch_size, len(self._queue))
                batch = [self._queue.popleft() for _ in range(count)]
                self._in_flight = batch[0][0]
                self._in_flight_count = count
                self._unacknowledged = dict(batch)
                dropped, self._burst_dropped = self._burst_dropped, 0
            # Recorded activations are built here, out of the lock the request path takes.
            batch = [(seq, _built(item)) for seq, item in batch]
            with self._lock:
                for seq, item in batch:
                    if seq in self._unacknowledged:
                        self._unacknowledged[seq] = item
            if dropped > 1:
                logger.warning("Dropped %d hits while the Flagship hit queue was full", dropped)
            try:
                with self._send_lock:
                    ok = self._send_batch(batch, deadline)
            finally:
                with self._lock:
                    self._in_flight = None
                    self._in_flight_count = 0
                    self._unacknowledged.clear()
                    self._settled.notify_all()
            if not ok:
                return
            forced = False  # one forced attempt per flush; later ones follow the backoff

    def _send_batch(self, batch: list[_Entry], deadline: float | None = None) -> bool:
        """Send one batch; False after a retryable failure (items handled)."""
        if self._spool_is_due(before_batch=True):
            # What was spooled is older than this batch: it goes first, so each
            # visitor's hits keep their order. The batch is tried even when the
            # spool is not taken: one spool file the collector keeps refusing
            # must not hold live hits back (it is tried again after a backoff).
            self._replay()
        by_item = {id(item): (seq, item) for seq, item in batch}
        activations = [item for _, item in batch if isinstance(item, Activation)]
        hits = [item for _, item in batch if not isinstance(item, Activation)]
        failed: list[_Entry] = []
        error: DeliveryError | None = None
        for kind, items in (("activations", activations), ("hits", hits)):
            if not items:
                continue
            outcome = self._deliver(kind, items, deadline)
            unsent = {id(item) for item in outcome.unsent}
            with self._lock:
                for item in items:
                    if id(item) not in unsent:
                        self._unacknowledged.pop(by_item[id(item)][0], None)
            if outcome.unsent:
                failed.extend(by_item[id(item)] for item in outcome.unsent)
                error = outcome.error
        if not failed:
            self._succeeded()
            return True
        failed.sort(key=lambda entry: entry[0])
        self._retry_later([item for _, item in failed], [seq for seq, _ in failed], error)
        return False

    def _succeeded(self) -> None:
        """The collector answered: live sends go on, and a spool left half-way resumes."""
        if self._failures:
            logger.info("The Flagship collector is reachable again")
        self._failures = 0
        with self._lock:
            if self._spool_failures and self._spool_due is not None:
                self._spool_due = min(self._spool_due, time.monotonic())

    def _note_failure(self, error: DeliveryError | None) -> float:
        """Count a failed attempt and schedule the next one; returns the delay."""
        self._failures += 1
        delay = self._backoff(self._failures, error)
        self._retry_at = time.monotonic() + delay
        return delay

    def _backoff(self, failures: int, error: DeliveryError | None) -> float:
        """The jittered delay after ``failures`` failures in a row (``Retry-After`` honoured)."""
        # The exponent is capped: past about 1,000 failures 2 ** n overflows a float.
        exponent = min(failures - 1, 60)
        delay = min(self.backoff_max, self.backoff_base * 2.0**exponent)
        delay *= random.uniform(0.5, 1.0)
        if error is not None and error.retry_after is not None:
            delay = min(max(delay, error.retry_after), self.backoff_max)
        return delay

    def _take_all(self) -> list[Any]:
        with self._lock:
            rest = [item for _, item in self._queue]
            self._queue.clear()
            self._settled.notify_all()
        return rest

    def _retry_later(self, items: list[Any], seqs: list[int], error: DeliveryError | None) -> None:
        delay = self._note_failure(error)
        down = self.spool is not None and self._failures > self.max_retries
        if not down:
            with self._lock:
                # Checked with the requeue, so close() collects whatever is queued.
                requeue = not self._closed
                if requeue:
                    # Back in the queue, no longer in flight: counted once in "pending".
                    self._unacknowledged.clear()
                    self._in_flight = None
                    self._in_flight_count = 0
                    self._queue.extendleft(reversed(list(zip(seqs, items, strict=True))))
                    overflow = max(0, len(self._queue) - self.max_queue)
                    for _ in range(overflow):
                        self._queue.pop()  # the newest give way to the older, retried ones
            if requeue:
                logger.log(
                    logging.WARNING if self._failures <= self.max_retries + 1 else logging.DEBUG,
                    "Flagship delivery failed (attempt %d), retrying in %.1f s: %s",
                    self._failures,
                    delay,
                    error,
                )
                self._count("retried", len(items))
                if overflow:
                    self._count("dropped_full", overflow)
                    logger.warning(
                        "Dropped %d hits: the Flagship hit queue is full of retries", overflow
                    )
                return
        if down and self._failures == self.max_retries + 1 and not self._closed:
            logger.warning(
                "The Flagship collector is still failing after %d attempts (%s); "
                "spooling pending hits to %s",
                self._failures,
                error,
                self.spool.directory,  # type: ignore[union-attr]
            )
        with self._handover:
            if self._handed_over:
                return  # close() gave up waiting and spooled them itself
            with self._lock:
                self._unacknowledged.clear()
                closed = self._closed
            when = "at shutdown" if closed else "while the collector is down"
            self._save([*items, *self._take_all()], when)
        if not closed:
            with self._lock:
                # Probe again with the spool, even when nothing new is queued.
                due = self._retry_at
                self._spool_due = due if self._spool_due is None else min(self._spool_due, due)

    # -- delivery ---------------------------------------------------------------

    def _deliver(
        self, kind: str, items: Sequence[Any], deadline: float | None = None
    ) -> SendOutcome:
        """Send ``items`` of one kind; permanent refusals drop only their request.

        Called with ``_send_lock`` held, so the client's counters move only
        because of this call. Each request is bounded by ``deadline``, or by
        the shutdown deadline once :meth:`close` set one.
        """
        send = self.client.send_activations if kind == "activations" else self.client.send_hits
        client = self.client
        if deadline is None:
            deadline = self._deadline
        outcome = SendOutcome()
        pending: Sequence[Any] = items
        while pending:
            before = (
                client.sent_hits + client.sent_activations,
                client.dropped_expired,
                client.dropped_oversized + client.dropped_unserializable,
            )
            error: DeliveryError | None = None
            try:
                if deadline is None:
                    send(pending)
                else:
                    send(pending, deadline=deadline)
            except DeliveryError as exc:
                error = exc
            except Exception as exc:  # a bug must not lose the batch for good
                logger.exception("Unexpected error while sending Flagship %s", kind)
                error = RetryableDeliveryError(f"{type(exc).__name__}: {exc}")
                error.unsent = tuple(pending)
            outcome.sent += client.sent_hits + client.sent_activations - before[0]
            outcome.expired += client.dropped_expired - before[1]
            outcome.invalid += client.dropped_oversized + client.dropped_unserializable - before[2]
            if error is None:
                break
            if error.retryable:
                outcome.unsent = list(error.unsent)
                outcome.error = error
                break
            refused = len(error.rejected) or len(error.unsent)
            outcome.refused += refused
            logger.error(
                "Flagship refused %d %s, dropped without retrying: %s", refused, kind, error
            )
            pending = list(error.unsent[refused:])
        self._count("sent", outcome.sent)
        self._count("expired", outcome.expired)
        self._count("dropped_invalid", outcome.invalid)
        self._count("dropped_permanent", outcome.refused)
        return outcome

    def _replay(self) -> SpoolReport:
        """Send the spool's files in order (``_send_lock`` held); stop at the first outage.

        After each acknowledged request the file records its progress, so a
        replay cut short (a failure, a crash) resends only what is left.
        """
        report = SpoolReport()
        if self.spool is None:
            return report
        busy: list[Path] = []
        for claimed in self.spool.claim(skipped=busy):
            left: list[Any] = []
            try:
                report.files += 1
                report.expired += claimed.expired
                report.invalid += claimed.invalid
                report.resumed += claimed.resumed
                self._count("expired", claimed.expired)
                self._count("dropped_invalid", claimed.invalid)
                left = self._replay_file(claimed, report)
            except BaseException:
                claimed.release(claimed.items)  # its progress so far is recorded
                raise
            if left:
                report.left += len(left)
                claimed.release(left)
                break
            claimed.done()
        report.busy = len(busy)
        self._after_replay(report)
        if report.files:
            logger.info(
                "Flagship spool: %d files, %d sent, %d expired, %d refused, %d left",
                report.files,
                report.sent,
                report.expired,
                report.dropped_permanent,
                report.left,
            )
        return report

    def _replay_file(self, claimed: ClaimedFile, report: SpoolReport) -> list[Any]:
        """Send one claimed file; returns what is left after a retryable failure."""
        activations = [item for item in claimed.items if isinstance(item, Activation)]
        hits = [item for item in claimed.items if not isinstance(item, Activation)]
        for kind, items in (("activations", activations), ("hits", hits)):
            for start in range(0, len(items), self.batch_size):
                batch = items[start : start + self.batch_size]
                outcome = self._deliver(kind, batch)
                report.sent += outcome.sent
                report.expired += outcome.expired
                report.invalid += outcome.invalid
                report.dropped_permanent += outcome.refused
                unsent = {id(item) for item in outcome.unsent}
                claimed.settle([item for item in batch if id(item) not in unsent])
                if outcome.unsent:
                    report.errors.append(str(outcome.error))
                    self._spool_error = outcome.error
                    left = [*outcome.unsent, *items[start + self.batch_size :]]
                    return [*left, *hits] if kind == "activations" else left
                if outcome.sent:
                    self._succeeded()
        return []

    def _after_replay(self, report: SpoolReport) -> None:
        """When to read the spool next: after a backoff when it failed, soon when busy."""
        with self._lock:
            now = time.monotonic()
            if report.left:
                self._spool_failures += 1
                self._spool_due = now + self._backoff(self._spool_failures, self._spool_error)
            elif report.busy:
                # Another process is sending some files: look again later, in
                # case it stops before it is done.
                self._spool_failures = 0
                self._spool_due = now + self.backoff_max
            else:
                self._spool_failures = 0
                self._spool_due = None
            self._spool_error = None

    def _save(self, items: list[Any], when: str) -> None:
        """Spool ``items`` (minus expired ones), or count them as lost."""
        if not items:
            return
        now = time.time()
        fresh = [item for item in map(_built, items) if not item.is_expired(now)]
        self._count("expired", len(items) - len(fresh))
        if not fresh:
            return
        written = self.spool.write(fresh) if self.spool is not None else 0
        if written:
            self._count("spooled", written)
            logger.info("Spooled %d Flagship items %s to %s", written, when, self.spool.directory)  # type: ignore[union-attr]
            return
        self._count("dropped_unsent", len(fresh))
        logger.error(
            "Lost %d Flagship hits/activations %s: %s",
            len(fresh),
            when,
            "no spool is configured" if self.spool is None else "the spool write failed",
        )

    # -- bookkeeping --------------------------------------------------------------

    def _count(self, name: str, amount: int) -> None:
        if amount <= 0:
            return
        with self._lock:
            self._counts[name] += amount
        self._emit(name, amount)

    def _emit(self, name: str, amount: int) -> None:
        if self.on_event is None:
            return
        try:
            self.on_event(name, amount)
        except Exception:
            logger.exception("The Flagship hit on_event callback failed")

    def _reset_after_fork(self) -> None:
        # The parent keeps (and sends) what it had queued; the child starts
        # empty with new locks, since a parent thread may have held the old ones.
        closed = self._closed
        self._init_state()
        self._closed = closed
        self.client.reset_after_fork()
        if self.spool is not None:
            self.spool.reset_after_fork()
