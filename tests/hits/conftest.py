import collections
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from django_flagship.sdk.flusher import BackgroundTracker
from django_flagship.sdk.hits import Activation, Event, EventCategory
from django_flagship.sdk.spool import Spool
from django_flagship.sdk.tracking import CollectorClient, TrackedHit

from .collector import Collector

ENV = "env-hits"
ROOT = Path(__file__).resolve().parents[2]
#: Environment variables of the caller that could change how the example runs.
_OWN_PREFIXES = ("FLAGSHIP_", "DJANGO_", "EXAMPLE_", "DATABASE_URL", "CACHE_URL")


@pytest.fixture
def collector():
    server = Collector()
    yield server
    server.close()


@pytest.fixture
def spool(tmp_path):
    return Spool(tmp_path / "spool", env_id=ENV)


def make_client(collector, **kwargs):
    return CollectorClient(
        ENV, events_url=collector.events_url, activate_url=collector.activate_url, **kwargs
    )


@pytest.fixture
def make_tracker(collector):
    """Trackers that send only on flush() or a full batch, with fast retries."""
    made = []

    def make(*, client=None, timeout=2.0, **kwargs):
        options = {
            "flush_interval": 60.0,
            "batch_size": 50,
            "backoff_base": 0.01,
            "backoff_max": 0.05,
            "shutdown_timeout": 2.0,
        }
        options.update(kwargs)
        tracker = BackgroundTracker(client or make_client(collector, timeout=timeout), **options)
        made.append(tracker)
        return tracker

    yield make
    for tracker in made:
        tracker.close()


def event(label, visitor="v1", anonymous=None, created_at=None):
    """A tracked EVENT hit whose label (``el``) identifies it on arrival."""
    hit = Event(EventCategory.ACTION_TRACKING, "click").with_event_label(label)
    item = TrackedHit.from_hit(hit, visitor, anonymous)
    if created_at is not None:
        item = TrackedHit(item.payload, visitor, anonymous, created_at=created_at)
    return item


def activation(variation, visitor="v1"):
    return Activation(visitor, "vg-1", variation)


def labels(collector):
    return collections.Counter(hit.get("el") for hit in collector.hits())


def wait_until(predicate, timeout=5.0):
    """Poll ``predicate`` until it holds (True) or ``timeout`` passes (False)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)  # polling work another thread finishes
    return True


def all_once(count):
    """The tally of ``count`` items that all arrived, each once."""
    return {"sent": count, "received": count, "duplicated": 0, "lost": 0}


def tally(received, sent):
    """``sent`` (a list of labels) against ``received`` (a Counter of labels): the four counts."""
    return {
        "sent": len(sent),
        "received": sum(1 for label in sent if received[label]),
        "duplicated": sum(count - 1 for count in received.values() if count > 1),
        "lost": sum(1 for label in sent if not received[label]),
    }


def run_python(code, timeout=30, **env):
    """Run ``code`` in a fresh interpreter with the project on its path."""
    environment = {**os.environ, "PYTHONPATH": str(ROOT), **env}
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=environment,
        check=False,
    )


def example_env(tmp_path, **extra):
    """The caller's environment without its Flagship/Django settings, plus the example's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_OWN_PREFIXES)}
    env.update(
        {
            "PYTHONPATH": str(ROOT),
            "DJANGO_SETTINGS_MODULE": "example_project.settings",
            "DJANGO_DEBUG": "true",  # a 500 then shows its traceback in the test's failure
            "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
            "CACHE_URL": f"filecache://{tmp_path / 'cache'}",
            **extra,
        }
    )
    return env


def online_example_env(tmp_path, collector, **extra):
    """The example project online (bucketing file, no download), its hits to ``collector``."""
    return example_env(
        tmp_path,
        FLAGSHIP_ENV_ID=ENV,
        FLAGSHIP_API_KEY="example-test-key",
        FLAGSHIP_MODE="BUCKETING",
        FLAGSHIP_BUCKET_FILE=str(ROOT / "example_project" / "bucketing.json"),
        FLAGSHIP_POLLING_INTERVAL="0",  # the file only: nothing is downloaded
        FLAGSHIP_EVENTS_URL=collector.events_url,
        FLAGSHIP_ACTIVATE_URL=collector.activate_url,
        FLAGSHIP_HIT_SINK="collector",
        **extra,
    )


@pytest.fixture
def urandom_calls(monkeypatch):
    """How many times ``os.urandom`` (an item id) was called."""
    calls = []
    real = os.urandom

    def counting(size):
        calls.append(size)
        return real(size)

    monkeypatch.setattr(os, "urandom", counting)
    return calls
