"""The bucket shared through a real Redis by separate processes.

Each worker is a ``python`` process of its own (tests/django/bucket_worker.py)
with the Redis-backed settings; the CDN is a real HTTP server on loopback.
"""

import json
import os
import subprocess
import sys
import threading
import time
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.core.cache import caches

from django_flagship.polling import cache_bucket_poller
from tests import redis_support
from tests.conftest import DATA

pytestmark = pytest.mark.redis

ROOT = Path(__file__).resolve().parents[2]


class Worker:
    def __init__(self, redis_url, **env):
        environment = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.django.redis_settings",
            "FLAGSHIP_TEST_REDIS_URL": redis_url,
            "PYTHONPATH": str(ROOT),
            **env,
        }
        self.process = subprocess.Popen(
            [sys.executable, str(ROOT / "tests" / "django" / "bucket_worker.py")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=environment,
            cwd=ROOT,
        )
        assert self.read() == "ready"

    def read(self):
        line = self.process.stdout.readline()
        assert line, "the worker process died"
        return json.loads(line)

    def send(self, command):
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()

    def ask(self, command):
        self.send(command)
        return self.read()

    def wait_for(self, command, expected, timeout=5.0):
        deadline = time.monotonic() + timeout
        while True:
            value = self.ask(command)
            if value == expected or time.monotonic() > deadline:
                return value
            time.sleep(0.02)

    def close(self):
        if self.process.poll() is None:
            self.send("quit")
            self.process.wait(5)


@pytest.fixture
def workers(redis_url):
    started = []

    def start(**env):
        worker = Worker(redis_url, **env)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.close()


def manage(redis_url, *args, **env):
    return subprocess.run(
        [sys.executable, "-m", "django", *args],
        capture_output=True,
        text=True,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.django.redis_settings",
            "FLAGSHIP_TEST_REDIS_URL": redis_url,
            "PYTHONPATH": str(ROOT),
            **env,
        },
        cwd=ROOT,
        timeout=30,
    )


def test_a_refresh_in_one_process_is_seen_by_another(redis_url, workers):
    offline = {
        "FLAGSHIP_BUCKET_FILE": str(DATA / "bucketing.json"),
        "FLAGSHIP_BUCKET_CHECK_INTERVAL": "0.05",
    }
    reader = workers(**offline)
    assert reader.ask("get btn_color") == "red"  # seeded from the file into Redis

    done = manage(
        redis_url, "flagship_refresh_bucket", "--file", str(DATA / "bucketing-v2.json"), **offline
    )
    assert done.returncode == 0, done.stderr
    assert "Bucket updated: 5 campaigns, 5 variation groups" in done.stdout

    assert reader.wait_for("get btn_color", "green") == "green"
    # A new process starts from the cache, not from its (older) bucket file.
    assert workers(**offline).ask("get btn_color") == "green"


def test_a_failed_refresh_leaves_the_shared_bucket(redis_url, workers):
    offline = {
        "FLAGSHIP_BUCKET_FILE": str(DATA / "bucketing.json"),
        "FLAGSHIP_BUCKET_CHECK_INTERVAL": "0.05",
    }
    reader = workers(**offline)
    assert reader.ask("get btn_color") == "red"
    version = reader.ask("version")
    assert version
    done = manage(
        redis_url, "flagship_refresh_bucket", "--file", str(DATA / "not-json.json"), **offline
    )
    assert done.returncode != 0
    assert "The bucket was not refreshed" in done.stderr
    time.sleep(0.1)
    assert reader.ask("get btn_color") == "red"
    assert reader.ask("version") == version


class CDN:
    """A bucketing file on loopback, honouring If-Modified-Since, counting downloads."""

    def __init__(self):
        self.body = (DATA / "bucketing.json").read_bytes()
        self.last_modified = formatdate(time.time() - 60, usegmt=True)
        self.requests = []
        cdn = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                since = self.headers.get("If-Modified-Since")
                cdn.requests.append(since)
                time.sleep(0.2)  # long enough for the workers to overlap
                if since == cdn.last_modified:
                    self.send_response(304)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Last-Modified", cdn.last_modified)
                self.send_header("Content-Length", str(len(cdn.body)))
                self.end_headers()
                self.wfile.write(cdn.body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/{{env_id}}/bucketing.json"

    def publish(self, path):
        self.body = (DATA / path).read_bytes()
        self.last_modified = formatdate(time.time(), usegmt=True)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def cdn():
    server = CDN()
    yield server
    server.close()


def test_one_process_at_a_time_downloads_with_if_modified_since(redis_url, workers, cdn):
    online = {
        "FLAGSHIP_ENV_ID": "env-redis",
        "FLAGSHIP_BUCKETING_URL": cdn.url,
        "FLAGSHIP_POLLING_INTERVAL": "0",
        "FLAGSHIP_BUCKET_CHECK_INTERVAL": "0.05",
    }
    first, second = workers(**online), workers(**online)
    # Both try at once; the cache lock lets one download.
    first.send("refresh")
    second.send("refresh")
    results = [first.read(), second.read()]
    assert sorted(r["skipped"] for r in results) == [False, True]
    assert cdn.requests == [None]
    assert first.ask("get btn_color") == second.ask("get btn_color") == "red"

    # A forced refresh asks with the cached Last-Modified: 304, nothing changes.
    assert second.ask("refresh force") == {"updated": False, "skipped": False}
    assert cdn.requests[-1] == cdn.last_modified

    cdn.publish("bucketing-v2.json")
    assert first.ask("refresh force") == {"updated": True, "skipped": False}
    assert second.wait_for("get btn_color", "green") == "green"


def test_refresh_command_against_the_cdn(redis_url, cdn):
    online = {"FLAGSHIP_ENV_ID": "env-redis", "FLAGSHIP_BUCKETING_URL": cdn.url}
    done = manage(redis_url, "flagship_refresh_bucket", **online)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Bucket updated: 5 campaigns")
    assert cdn.last_modified in done.stdout
    again = manage(redis_url, "flagship_refresh_bucket", **online)
    assert again.stdout.startswith("Bucket not modified")
    cdn.close()  # the CDN goes away
    failed = manage(redis_url, "flagship_refresh_bucket", "--verbosity", "0", **online)
    assert failed.returncode != 0
    assert "could not be downloaded" in failed.stderr


def test_redis_down_serves_the_last_good_bucket(redis_url, settings, bucket_path):
    settings.CACHES = {
        "up": redis_support.cache_settings(redis_url),
        "down": {
            # Nothing listens on port 1: every call fails at once.
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
        },
    }
    alias = ["up"]
    store = cache_bucket_poller(
        lambda: caches[alias[0]],
        namespace="test:redis-down",
        url=None,
        bucket_file=str(bucket_path),
        check_interval=0,
    )
    bucket = store.current()
    assert bucket is not None
    alias[0] = "down"
    assert store.current() is bucket
    assert store.current() is bucket
    alias[0] = "up"
    assert store.current() is bucket


@pytest.mark.django_db
@pytest.mark.urls("tests.django.urls")
def test_requests_with_redis_as_the_cache(redis_url, configured, client):
    configured.CACHES = {"default": redis_support.cache_settings(redis_url)}
    configured.SESSION_ENGINE = "django.contrib.sessions.backends.cache"
    first = client.get("/read/", {"key": "ab_color", "type": "str"}).json()
    second = client.get("/read/", {"key": "ab_color", "type": "str"}).json()
    assert first == second
    assert first["values"]["ab_color"] in {"blue", "green"}
    import redis

    connection = redis.Redis.from_url(redis_url)
    keys = connection.keys(f"{redis_support.PREFIX}:*flagship:local:history:*")
    # An anonymous visitor's assignments live in its session, which the cache
    # holds here: no history entry of their own (login continuity reads the session).
    assert keys == []
    assert client.session["_flagship_history"]["owner"] == first["visitor_id"]
    # The session itself is there, under the run's prefix.
    assert connection.keys(f"{redis_support.PREFIX}:*django.contrib.sessions.cache*")


def test_refresh_command_with_redis_down(cdn):
    down = "redis://127.0.0.1:1/0"  # nothing listens there
    online = {"FLAGSHIP_ENV_ID": "env-redis", "FLAGSHIP_BUCKETING_URL": cdn.url}
    done = manage(down, "flagship_refresh_bucket", **online)
    assert done.returncode != 0
    assert "cache is unreachable" in done.stderr
    assert cdn.requests == []  # nothing downloaded for nothing
    path = str(DATA / "bucketing.json")
    from_file = manage(down, "flagship_refresh_bucket", "--file", path, FLAGSHIP_BUCKET_FILE=path)
    assert from_file.returncode != 0
    assert "could not be stored in the cache" in from_file.stderr


def test_a_bucket_stored_by_another_process_fires_on_update_here(redis_url, configured):
    """Under Django the SDK's one change channel fires for a bucket from elsewhere."""
    from django_flagship.client import get_bucket, get_client, get_store

    configured.CACHES = {"default": redis_support.cache_settings(redis_url)}
    configured.FLAGSHIP_BUCKET_CHECK_INTERVAL = 0.05
    get_store().load_file(str(DATA / "bucketing.json"))
    seen = []
    remove = get_client().on_update(seen.append)
    try:
        assert get_bucket() is not None
        assert seen == []  # nothing new since the listener came
        offline = {"FLAGSHIP_BUCKET_FILE": str(DATA / "bucketing.json")}
        path = str(DATA / "bucketing-v2.json")
        done = manage(redis_url, "flagship_refresh_bucket", "--file", path, **offline)
        assert done.returncode == 0, done.stderr
        deadline = time.monotonic() + 5
        while not seen and time.monotonic() < deadline:
            get_bucket()  # requests notice the new version within the check interval
            time.sleep(0.02)
        assert len(seen) == 1
        assert seen[0] is get_bucket()
        colours = {a.flags.get("btn_color") for a in seen[0].decide("v", {})}
        assert "green" in colours  # bucketing-v2.json, stored by the other process
        assert get_store().version == caches["default"].get(get_store().entry_key)["version"]
    finally:
        remove()
