"""gunicorn --preload with 2 workers serving a tiny site whose view sends hits.

Real processes end to end: the master imports the site (and, in one test,
sends a hit itself before forking), the workers serve requests, and a SIGTERM
to the master must lose nothing: what is pending is flushed at exit, or
spooled when the collector is down and sent by ``flagship_flush_hits``.
"""

import collections
import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from .conftest import ENV, ROOT
from .test_fields import BUCKET

if importlib.util.find_spec("gunicorn") is None:
    if os.environ.get("CI") == "true":
        pytest.fail("gunicorn is required under CI (pip install -e '.[test]')")
    pytest.skip("gunicorn is not installed", allow_module_level=True)

if not hasattr(os, "fork"):
    pytest.skip("gunicorn needs os.fork", allow_module_level=True)


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def site_env(collector, tmp_path, *, flush_interval, batch_size=100, hit_at_import=False):
    bucket = tmp_path / "bucketing.json"
    bucket.write_text(json.dumps(BUCKET))
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DJANGO_SETTINGS_MODULE": "tests.hits.site.settings",
        "SITE_ENV_ID": ENV,
        "SITE_BUCKET_FILE": str(bucket),
        "SITE_EVENTS_URL": collector.events_url,
        "SITE_ACTIVATE_URL": collector.activate_url,
        "SITE_FLUSH_INTERVAL": str(flush_interval),
        "SITE_BATCH_SIZE": str(batch_size),
        "SITE_SPOOL_DIR": str(tmp_path / "spool"),
    }
    if hit_at_import:
        env["SITE_HIT_AT_IMPORT"] = "1"
    return env


class Site:
    """``gunicorn --preload -w 2`` in a process group of its own."""

    def __init__(self, env, tmp_path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tmp_path / "gunicorn.log"
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--preload",
                "--workers",
                "2",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--graceful-timeout",
                "20",
                "tests.hits.site.wsgi:application",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=self.log.open("w"),
            start_new_session=True,
        )
        self._wait_until_ready()

    def _wait_until_ready(self, timeout=20.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"gunicorn exited early:\n{self.log.read_text()}")
            try:
                if requests.get(self.url + "/ready/", timeout=1).ok:
                    return
            except requests.ConnectionError:
                pass
            time.sleep(0.05)  # polling a server that is starting
        raise AssertionError(f"gunicorn did not start:\n{self.log.read_text()}")

    def hit(self, label):
        response = requests.get(f"{self.url}/hit/{label}/?visitor=visitor-{label}", timeout=10)
        response.raise_for_status()
        body = response.json()
        assert body["sent"] is True
        assert body["btn"] == "red"
        return body["pid"]

    def hits_from_both_workers(self, count=200):
        """Send ``count`` hits concurrently; keep going until both workers served some."""
        pids = collections.Counter()
        labels = []
        with ThreadPoolExecutor(max_workers=8) as pool:
            while len(labels) < count or len(pids) < 2:
                assert len(labels) < 20 * count, "one worker served every request"
                batch = [f"w{len(labels) + n}" for n in range(count)]
                pids.update(pool.map(self.hit, batch))
                labels.extend(batch)
        return labels, pids

    def terminate(self, timeout=30):
        """SIGTERM to the master, as a deploy or ``docker stop`` does."""
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            raise

    def kill(self):
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


@pytest.fixture
def run_site(tmp_path):
    started = []

    def run(env):
        site = Site(env, tmp_path)
        started.append(site)
        return site

    yield run
    for site in started:
        site.kill()


def site_labels(collector):
    return collections.Counter(
        h["el"] for h in collector.hits() if h.get("ea") in ("site-click", "preload")
    )


def test_hits_from_both_workers_all_arrive_once(collector, tmp_path, run_site):
    site = run_site(site_env(collector, tmp_path, flush_interval=0.2))
    labels, pids = site.hits_from_both_workers()
    assert len(pids) == 2
    assert collector.wait_for(lambda c: len(site_labels(c)) == len(labels), timeout=15)
    assert site.terminate() == 0
    assert site_labels(collector) == dict.fromkeys(labels, 1)
    # Activations: one per visitor and request, each exactly once.
    assert len(collector.activations()) == len(labels)


def test_sigterm_flushes_what_is_pending_and_the_preload_master_sends_its_own_hit_once(
    collector, tmp_path, run_site
):
    # Nothing wakes the thread: every hit is still queued in its worker at SIGTERM.
    env = site_env(collector, tmp_path, flush_interval=600, batch_size=5000, hit_at_import=True)
    site = run_site(env)
    labels, pids = site.hits_from_both_workers()
    assert len(pids) == 2
    assert site_labels(collector) == {}
    assert site.terminate() == 0
    assert site_labels(collector) == dict.fromkeys([*labels, "master"], 1)
    assert len(collector.activations()) == len(labels)
    assert list((tmp_path / "spool").glob("*.json")) == []


def test_sigterm_with_the_collector_down_spools_and_flush_hits_sends_it_later(
    collector, tmp_path, run_site
):
    env = site_env(collector, tmp_path, flush_interval=600, batch_size=5000)
    site = run_site(env)
    labels, pids = site.hits_from_both_workers(count=100)
    assert len(pids) == 2
    collector.stop()
    started = time.monotonic()
    assert site.terminate() == 0
    assert time.monotonic() - started < 15
    spooled = list((tmp_path / "spool").glob("*.json"))
    assert len(spooled) >= 2  # one file per worker at least
    assert collector.requests == []  # nothing reached the collector

    collector.start()
    command = [sys.executable, "tests/hits/site/manage.py", "flagship_flush_hits"]
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert "left 0" in result.stdout
    assert site_labels(collector) == dict.fromkeys(labels, 1)
    assert len(collector.activations()) == len(labels)
    assert list((tmp_path / "spool").glob("*.json")) == []

    again = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    assert again.returncode == 0
    assert "Nothing to send" in again.stdout
