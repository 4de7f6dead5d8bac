"""A bucket cache that stops answering: the W007 check, and a real Redis that hangs.

The hang is a ``redis-server`` of the test's own on a free loopback port,
stopped with ``SIGSTOP``: the kernel still accepts connections, and nothing
answers them, as when Redis is paused, swapping or behind a dead link.
"""

import os
import shutil
import signal
import socket
import subprocess
import time

import pytest
from django.core.management import call_command

from django_flagship.checks import check_settings

pytestmark = [pytest.mark.urls("tests.django.urls"), pytest.mark.django_db]

REDIS = "django.core.cache.backends.redis.RedisCache"
RECOMMENDED = {"socket_timeout": 0.25, "socket_connect_timeout": 0.25}
NO_AOF = ("--appendonly", "no")


def ids(messages):
    return [message.id for message in messages]


DJANGO_REDIS = "django_redis.cache.RedisCache"
PYMEMCACHE = "django.core.cache.backends.memcached.PyMemcacheCache"
PYLIBMC = "django.core.cache.backends.memcached.PyLibMCCache"


@pytest.mark.parametrize(
    ("backend", "options", "advice"),
    [
        (REDIS, {}, '"socket_timeout": 0.25'),
        (REDIS, {"socket_timeout": None}, '"socket_timeout": 0.25'),  # redis-py: wait forever
        (REDIS, {"socket_connect_timeout": 0.25}, '"socket_timeout": 0.25'),  # reads still wait
        (REDIS, {"timeout": 1}, '"socket_timeout": 0.25'),  # not a redis-py option
        (DJANGO_REDIS, {"CONNECTION_POOL_KWARGS": {"max_connections": 9}}, '"SOCKET_TIMEOUT"'),
        ("django_valkey.cache.ValkeyCache", {}, '"socket_timeout": 0.25'),
        (PYMEMCACHE, {"connect_timeout": 1}, '"timeout": 0.25'),
        (PYLIBMC, {"binary": True}, '"receive_timeout": 250000'),
    ],
)
def test_a_network_cache_without_a_socket_timeout_warns(settings, backend, options, advice):
    settings.FLAGSHIP_ENV_ID = "env"
    settings.CACHES = {"default": {"BACKEND": backend, "LOCATION": "h:1", "OPTIONS": options}}
    messages = check_settings()
    assert ids(messages) == ["django_flagship.W007"]
    assert "'default'" in messages[0].msg
    assert advice in messages[0].hint


@pytest.mark.parametrize(
    ("backend", "options"),
    [
        (REDIS, RECOMMENDED),
        (REDIS, {"socket_timeout": 1}),
        (DJANGO_REDIS, {"SOCKET_TIMEOUT": 0.25}),
        (DJANGO_REDIS, {"CONNECTION_POOL_KWARGS": {"socket_timeout": 0.5}}),
        (PYMEMCACHE, {"timeout": 0.25}),
        (PYLIBMC, {"behaviors": {"receive_timeout": 250_000, "send_timeout": 250_000}}),
        ("django.core.cache.backends.locmem.LocMemCache", {}),
        ("django.core.cache.backends.filebased.FileBasedCache", {}),
    ],
)
def test_a_bounded_or_local_cache_does_not_warn(settings, tmp_path, backend, options):
    settings.FLAGSHIP_ENV_ID = "env"
    location = str(tmp_path) if "filebased" in backend else "127.0.0.1:1"
    settings.CACHES = {"default": {"BACKEND": backend, "LOCATION": location, "OPTIONS": options}}
    assert check_settings() == []


def test_only_the_bucket_cache_is_judged(settings):
    settings.FLAGSHIP_ENV_ID = "env"
    settings.FLAGSHIP_CACHE_ALIAS = "flags"
    settings.CACHES = {
        "default": {"BACKEND": REDIS, "LOCATION": "redis://127.0.0.1:1"},
        "flags": {"BACKEND": REDIS, "LOCATION": "redis://127.0.0.1:1", "OPTIONS": RECOMMENDED},
    }
    assert check_settings() == []
    settings.CACHES["flags"] = {"BACKEND": REDIS, "LOCATION": "redis://127.0.0.1:1"}
    messages = check_settings()
    assert ids(messages) == ["django_flagship.W007"]
    assert "'flags'" in messages[0].msg


def test_manage_py_check_shows_the_warning(settings, capsys):
    settings.FLAGSHIP_ENV_ID = "env"
    settings.CACHES = {"default": {"BACKEND": REDIS, "LOCATION": "redis://127.0.0.1:1"}}
    call_command("check")
    err = capsys.readouterr().err
    assert "django_flagship.W007" in err
    assert "socket_timeout=0.25" in err


# -- a real Redis that hangs -------------------------------------------------------------


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def own_redis():
    """A redis-server of this test's own; yields (port, process); resumed and ended after."""
    executable = shutil.which("redis-server")
    if executable is None:
        if os.environ.get("CI") == "true":
            pytest.fail("redis-server is required under CI (make services)")
        pytest.skip("redis-server is not installed")
    import redis

    port = free_port()
    process = subprocess.Popen(
        [executable, "--port", str(port), "--bind", "127.0.0.1", *("--save", ""), *NO_AOF],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    ping = redis.Redis(port=port, socket_connect_timeout=0.2, socket_timeout=0.2)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                ping.ping()
                break
            except redis.RedisError:
                assert process.poll() is None, "redis-server exited"
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.02)  # polling a server that is starting
        yield port, process
    finally:
        ping.close()
        process.send_signal(signal.SIGCONT)
        process.kill()
        process.wait()


def read_flags(client):
    started = time.monotonic()
    response = client.get("/read/", {"key": ["vip_feature", "btn_color"], "type": "str"})
    return time.monotonic() - started, response


def test_with_a_socket_timeout_a_hung_redis_delays_a_request_by_its_bound_only(
    client, configured, own_redis
):
    port, process = own_redis
    configured.FLAGSHIP_BUCKET_CHECK_INTERVAL = 0.05  # every request asks for the version
    cache = {"BACKEND": REDIS, "LOCATION": f"redis://127.0.0.1:{port}/0"}
    configured.CACHES = {"default": cache}
    assert ids(check_settings()) == ["django_flagship.W007"]
    configured.CACHES = {"default": {**cache, "OPTIONS": RECOMMENDED}}  # what W007 recommends
    assert check_settings() == []
    _, warm = read_flags(client)  # the bucket and a history, in Redis and in this process
    assert warm.status_code == 200
    served = warm.json()["values"]
    assert served["btn_color"] == "red"

    process.send_signal(signal.SIGSTOP)
    time.sleep(0.1)  # the bucket check interval passes: the next request asks Redis
    took, response = read_flags(client)
    assert response.status_code == 200
    assert response.json()["values"] == served
    # A request makes at most three cache calls (the bucket's version, the
    # visitor's history read and write), each bounded by the 0.25 s timeout:
    # redis-py's default of 5 s would have made it 5 to 15 s.
    assert took < 3 * 0.25 + 0.5, took

    process.send_signal(signal.SIGCONT)
    took, response = read_flags(client)
    assert response.status_code == 200
    assert response.json()["values"] == served
