"""``DecisionApiClient.afetch``: the Decision API from the event loop, against a loopback server.

The async transport must send what the ``requests`` one sends and read the
answer the same way; only the transport differs. Each case runs both and
compares.
"""

import asyncio
import gc
import json
import sys
import threading
import warnings
import weakref

import pytest

from benchmarks.loopback_decision_api import CAMPAIGNS, LoopbackDecisionApi, Reply
from django_flagship.sdk import Config, Flagship, async_http
from django_flagship.sdk.async_http import AsyncLimits
from django_flagship.sdk.decision_api import CircuitBreaker, DecisionApiClient, DecisionError
from django_flagship.sdk.tracking import MemoryTracker

KEY = "secret-api-key-42"


def make_client(api, **kwargs):
    return DecisionApiClient(
        "env1", KEY, base_url=api.url, timeout=kwargs.pop("timeout", 2.0), **kwargs
    )


def run_both(client, *args, **kwargs):
    """``fetch`` then ``afetch`` (on a loop of its own): each one's result or DecisionError."""
    outcomes = []
    reports = []

    def capture(call):
        try:
            return call()
        except DecisionError as exc:
            return exc

    outcomes.append(capture(lambda: client.fetch(*args, on_error=reports.append, **kwargs)))

    async def inside():
        try:
            return await client.afetch(*args, on_error=reports.append, **kwargs)
        except DecisionError as exc:
            return exc

    outcomes.append(asyncio.run(inside()))
    return outcomes, reports


@pytest.fixture
def api():
    with LoopbackDecisionApi() as server:
        yield server


def test_the_same_request_as_the_requests_transport(api):
    client = make_client(api)
    (sync, asynchronous), _ = run_both(
        client, "v1", {"age": 31, "vip": True, "name": "Zoë"}, anonymous_id="a1", consent=False
    )
    assert sync.assignments == asynchronous.assignments
    first, second = api.received
    assert first.target == second.target == "/v2/env1/campaigns?exposeAllKeys=true"
    assert first.method == second.method == "POST"
    assert first.body == second.body
    assert json.loads(second.body) == {
        "visitorId": "v1",
        "anonymousId": "a1",
        "visitor_consent": False,
        "trigger_hit": False,
        "context": {"age": 31, "vip": True, "name": "Zoë"},
    }
    for name in ("x-api-key", "x-sdk-client", "x-sdk-version", "content-type", "content-length"):
        assert first.headers[name] == second.headers[name], name
    assert second.headers["x-api-key"] == KEY
    assert second.headers["content-type"] == "application/json"
    client.close()


def reply_with(status, body=b"", **headers):
    return lambda request: Reply(status, body, headers)


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        (reply_with(204), "ok:0"),
        (reply_with(200, b'{"panic": true}'), "panic"),
        (reply_with(500, f"upstream said {KEY} is wrong".encode()), "answered 500"),
        (reply_with(429, b"slow down"), "answered 429"),
        (reply_with(403, f'{{"key": "{KEY}"}}'.encode()), "answered 403"),
        (reply_with(200, b"<html>oops</html>"), "not JSON"),
        (reply_with(200, b'{"campaigns": ' + b"[" * 5_000), "deeper than 64"),
        (reply_with(200, b'{"visitorId": "\\udfff"}'), "visitorId is not valid text"),
        (reply_with(200, b"[1, 2]"), "not an object"),
        (reply_with(200, b'{"visitorId": "v"}'), "no campaigns list"),
    ],
)
def test_every_answer_reads_the_same(api, reply, expected):
    api.reply = reply
    client = make_client(api)
    (sync, asynchronous), _ = run_both(client, "v1", {})
    if expected.startswith("ok:"):
        assert sync.assignments == asynchronous.assignments == []
    elif expected == "panic":
        assert sync.panic
        assert asynchronous.panic
    else:
        assert isinstance(asynchronous, DecisionError)
        assert str(sync) == str(asynchronous)
        assert expected in str(asynchronous)
        assert KEY not in str(asynchronous)
    assert api.calls == 2
    client.close()


def test_a_malformed_campaign_is_skipped_and_reported_alike(api):
    body = {"campaigns": [{"id": "broken"}, *CAMPAIGNS["campaigns"]]}
    api.reply = reply_with(200, json.dumps(body).encode())
    client = make_client(api)
    (sync, asynchronous), reports = run_both(client, "v1", {})
    assert [a.campaign_id for a in asynchronous.assignments] == ["c1"]
    assert sync.assignments == asynchronous.assignments
    assert len(reports) == 2
    assert reports[0] == reports[1]
    assert "variationGroupId" in reports[0]
    client.close()


def test_a_redirect_is_not_followed_and_the_key_stays_home(api):
    with LoopbackDecisionApi() as elsewhere:
        api.reply = reply_with(302, Location=f"{elsewhere.url}/env1/campaigns")
        client = make_client(api)

        async def inside():
            return await client.afetch("v1", {})

        with pytest.raises(DecisionError, match=r"302 \(a redirect, not followed"):
            asyncio.run(inside())
        assert elsewhere.calls == 0
        assert client.breaker.is_open is False
        client.close()


def test_a_timeout_fails_alike_and_counts_against_the_breaker(api):
    api.delay = 0.5
    client = make_client(api, timeout=0.1)
    (sync, asynchronous), _ = run_both(client, "v1", {})
    assert str(sync) == str(asynchronous) == "the Decision API did not answer within 0.1 s"
    assert client.breaker._consecutive == 2
    client.close()


def test_an_unreachable_api_fails_without_the_url_or_the_key(api):
    port = api.port
    api.close()
    client = DecisionApiClient(
        "env1", KEY, base_url=f"http://127.0.0.1:{port}/v2?key={KEY}", timeout=1.0
    )
    (sync, asynchronous), _ = run_both(client, "v1", {})
    assert str(sync) == str(asynchronous)
    assert str(asynchronous) == "the Decision API could not be reached: ConnectionError"
    client.close()


def test_one_circuit_breaker_for_both_transports(api):
    api.reply = reply_with(503, b"down")
    client = make_client(api, breaker=CircuitBreaker(failures=3, cooldown=60))
    run_both(client, "v1", {})  # two failures: one sync, one async

    async def inside():
        for _ in range(2):
            with pytest.raises(DecisionError) as raised:
                await client.afetch("v1", {})
        return str(raised.value)

    assert "circuit breaker open" in asyncio.run(inside())
    assert api.calls == 3  # the fourth call was never made
    client.close()


def test_a_cancelled_trial_call_lets_the_next_one_try(api):
    clock = [0.0]
    breaker = CircuitBreaker(failures=1, cooldown=10, clock=lambda: clock[0])
    breaker.record_failure()
    clock[0] = 11.0  # cooldown over: the next call is the trial
    api.delay = 5.0
    client = make_client(api, breaker=breaker)

    async def inside():
        call = asyncio.ensure_future(client.afetch("v1", {}))
        await asyncio.sleep(0.3)
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call

    asyncio.run(inside())
    assert breaker.allow() is True
    client.close()


# -- the pool -------------------------------------------------------------------------


def test_connections_are_kept_and_reused_on_a_loop(api):
    client = make_client(api)

    async def inside():
        for i in range(10):
            await client.afetch(f"v{i}", {})

    asyncio.run(inside())
    assert api.calls == 10
    assert api.connections == 1
    client.close()


def test_no_thread_pool_ceiling_every_call_waits_at_once(api):
    api.delay = 0.5
    client = make_client(api)

    async def inside():
        return await asyncio.gather(*(client.afetch(f"v{i}", {}) for i in range(40)))

    results = asyncio.run(inside())
    assert all(r.assignments for r in results)
    assert api.max_in_flight == 40  # a thread pool would have capped it at its size
    client.close()


def test_max_connections_bounds_the_calls_in_flight(api):
    api.delay = 0.1
    client = make_client(api, async_limits=AsyncLimits(max_connections=3))

    async def inside():
        return await asyncio.gather(*(client.afetch(f"v{i}", {}) for i in range(12)))

    results = asyncio.run(inside())
    assert all(r.assignments for r in results)
    assert api.max_in_flight == 3
    assert api.connections == 3  # and each one reused
    client.close()


def test_idle_connections_expire(api):
    client = make_client(api, async_limits=AsyncLimits(keepalive_expiry=0.2))

    async def inside():
        await client.afetch("v1", {})
        await asyncio.sleep(0.4)
        await client.afetch("v2", {})  # the expired connection is replaced

    asyncio.run(inside())
    assert api.connections == 2
    client.close()


def test_a_busy_pool_fails_the_call_after_the_timeout(api):
    api.delay = 1.0
    client = make_client(api, timeout=0.3, async_limits=AsyncLimits(max_connections=1))

    async def inside():
        return await asyncio.gather(
            client.afetch("v1", {}), client.afetch("v2", {}), return_exceptions=True
        )

    first, second = asyncio.run(inside())
    messages = sorted(str(e) for e in (first, second))
    assert messages == [
        "no connection to the Decision API was free within 0.3 s (this event loop's 1 "
        "were all busy)",
        "the Decision API did not answer within 0.3 s",
    ]
    client.close()


# -- one client per loop, closed with it ------------------------------------------------


def _no_resource_warnings(action):
    """Run ``action``, collect garbage, and return the ResourceWarnings raised meanwhile."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        action()
        gc.collect()
    return [w for w in caught if issubclass(w.category, ResourceWarning)]


def test_each_loop_has_its_client_closed_when_the_loop_shuts_down(api):
    client = make_client(api)
    pool = client.async_pool
    seen = []

    async def inside():
        await client.afetch("v1", {})
        seen.append(pool._clients[asyncio.get_running_loop()].session)
        assert pool.loops == 1

    assert _no_resource_warnings(lambda: [asyncio.run(inside()) for _ in range(2)]) == []
    assert seen[0] is not seen[1]  # a session per loop
    assert pool.loops == 0
    assert api.wait_for(lambda: api.open_connections == 0, 2.0)
    assert api.connections == 2
    client.close()


def test_a_closed_loop_is_not_kept_alive_by_its_client(api):
    client = make_client(api)
    loop = asyncio.new_event_loop()
    loop.run_until_complete(client.afetch("v1", {}))
    loop.run_until_complete(loop.shutdown_asyncgens())
    loop.close()
    gone = weakref.ref(loop)
    del loop
    gc.collect()
    assert gone() is None
    assert client.async_pool.loops == 0
    client.close()


def test_a_loop_closed_without_shutdown_is_dropped_quietly(api):
    client = make_client(api)
    unraisable = []
    old_hook, sys.unraisablehook = sys.unraisablehook, unraisable.append
    try:
        loop = asyncio.new_event_loop()
        loop.run_until_complete(client.afetch("v1", {}))
        loop.close()  # no shutdown_asyncgens: its client cannot be closed politely
        gone = weakref.ref(loop)
        del loop

        async def inside():
            await client.afetch("v2", {})  # a new loop's client drops the dead one's

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)  # its sockets, closed by GC
            asyncio.run(inside())
            gc.collect()
    finally:
        sys.unraisablehook = old_hook
    assert gone() is None
    assert unraisable == []
    assert client.async_pool.loops == 0
    client.close()


def test_close_on_a_running_loop_closes_its_connections(api):
    client = make_client(api)

    async def inside():
        await client.afetch("v1", {})
        assert api.open_connections == 1
        client.close()  # a settings change, Flagship.stop()
        for _ in range(100):
            await asyncio.sleep(0.01)
            if api.open_connections == 0:
                break
        assert api.open_connections == 0
        assert client.async_pool.loops == 0
        await client.afetch("v2", {})  # later calls open a new session
        assert client.async_pool.loops == 1

    assert _no_resource_warnings(lambda: asyncio.run(inside())) == []
    assert api.wait_for(lambda: api.open_connections == 0)
    assert api.connections == 2


def test_close_from_another_thread_closes_on_the_loops_thread(api):
    client = make_client(api)
    loop = asyncio.new_event_loop()
    ready, done = threading.Event(), threading.Event()

    async def serve():
        await client.afetch("v1", {})
        ready.set()
        while not done.is_set():
            await asyncio.sleep(0.01)

    thread = threading.Thread(target=lambda: asyncio.run(serve()))
    thread.start()
    assert ready.wait(5)
    client.close()
    assert api.wait_for(lambda: api.open_connections == 0, 2.0)
    done.set()
    thread.join(5)
    loop.close()


def test_a_loop_neither_running_nor_closed_is_closed_at_exit(api):
    client = make_client(api)
    loop = asyncio.new_event_loop()
    loop.run_until_complete(client.afetch("v1", {}))
    client.close()  # the loop is not running: closed at its shutdown, or at exit
    assert api.open_connections == 1
    assert _no_resource_warnings(async_http._close_at_exit) == []
    assert api.wait_for(lambda: api.open_connections == 0, 2.0)
    loop.close()


# -- without aiohttp ----------------------------------------------------------------------


def test_without_aiohttp_the_call_runs_in_a_thread_and_says_so_once(api, monkeypatch):
    monkeypatch.setitem(sys.modules, "aiohttp", None)  # as if the extra were not installed
    client = make_client(api)
    assert client.async_pool.available is False
    reports = []
    threads = []
    fetch = client.fetch

    def recording_fetch(*args, **kwargs):
        threads.append(threading.get_ident())
        return fetch(*args, **kwargs)

    client.fetch = recording_fetch

    async def inside():
        return [await client.afetch(f"v{i}", {}, on_error=reports.append) for i in range(3)]

    results = asyncio.run(inside())
    assert all(r.assignments for r in results)
    assert len(threads) == 3
    assert threading.get_ident() not in threads
    assert len(reports) == 1
    assert "aiohttp is not installed" in reports[0]
    assert "django-flagship[async]" in reports[0]
    client.close()


# -- through the SDK -------------------------------------------------------------------------


def test_visitor_synchronizes_on_the_loop_and_keeps_its_flags_on_failure(api, handler):
    flagship = Flagship(
        Config("env1", KEY, decision_api_url=api.url, event_handler=handler),
        tracker=MemoryTracker(),
    )
    visitor = flagship.create_visitor("v1", {"plan": "pro"})

    async def inside():
        assert await visitor.synchronize_modifications_async() is True
        api.reply = reply_with(500, b"down")
        assert await visitor.synchronize_modifications_async() is False

    asyncio.run(inside())
    assert visitor.get_modification("btn_color", "blue") == "red"  # kept from the first
    assert visitor.last_error == "the Decision API answered 500: down"
    assert json.loads(api.received[0].body)["context"]["plan"] == "pro"
    assert "synchronize_modifications failed" in handler.text()
    flagship.stop()


def test_config_validates_the_async_limits():
    config = Config("env", async_max_connections=7, async_keepalive_expiry=2.5)
    assert config.async_limits == AsyncLimits(7, 2.5)
    assert Config("env").async_limits == AsyncLimits(100, 15.0)
    with pytest.raises(ValueError, match="async_max_connections must be >= 1"):
        Config("env", async_max_connections=0)
    with pytest.raises(TypeError, match="async_max_connections must be an int"):
        Config("env", async_max_connections="5")
    with pytest.raises(ValueError, match="async_keepalive_expiry must be a finite"):
        Config("env", async_keepalive_expiry=0)
