"""DECISION_API mode in async code: the call awaited on the loop, against a loopback API."""

import asyncio
import logging
import sys

import pytest
from asgiref.sync import sync_to_async

from benchmarks.loopback_decision_api import LoopbackDecisionApi
from django_flagship import client as flagship_client
from django_flagship.flags import Flags
from django_flagship.sdk.async_http import AsyncLimits
from django_flagship.shortcuts import flags_for

pytestmark = [pytest.mark.urls("tests.django.urls")]


@pytest.fixture
def api():
    with LoopbackDecisionApi() as server:
        yield server


@pytest.fixture
def decision_api(settings, api):
    settings.FLAGSHIP_MODE = "DECISION_API"
    settings.FLAGSHIP_ENV_ID = "env-test"
    settings.FLAGSHIP_API_KEY = "key-test"
    settings.FLAGSHIP_DECISION_API_URL = api.url
    settings.FLAGSHIP_TRACKER = "tests.django.support.memory_tracker"
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.cache"
    return settings


def pool():
    return flagship_client.get_client().decision_manager.client.async_pool


@pytest.mark.asyncio
async def test_an_async_view_decides_on_the_loop(async_client, decision_api, api):
    api.delay = 0.3
    ticks = 0

    async def ticker():
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    task = asyncio.create_task(ticker())
    response = await async_client.get("/async/")
    task.cancel()
    assert response.json()["vip"] is True
    assert response.json()["color"] == "red"
    assert api.calls == 1  # one call for the whole request
    assert ticks >= 10  # the loop ran during the 0.3 s call
    assert pool().loops == 1  # made by the loop's own session


@pytest.mark.asyncio
async def test_concurrent_reads_of_one_request_share_one_call(decision_api, api):
    api.delay = 0.2
    flags = Flags("v1", {"plan": "pro"})
    values = await asyncio.gather(
        flags.aget("vip_feature", False),
        flags.aget("btn_color", "blue"),
        flags.ainfo("btn_color"),
        flags.aall(),
        flags.ahas("vip_feature"),
    )
    assert values[:2] == [True, "red"]
    assert values[2]["variationId"] == "var1"
    assert values[3] == {"vip_feature": True, "btn_color": "red"}
    assert values[4] is True
    assert api.calls == 1


@pytest.mark.asyncio
async def test_a_cancelled_reader_leaves_the_call_to_the_others(decision_api, api):
    api.delay = 0.3
    flags = Flags("v1")
    first = asyncio.ensure_future(flags.aget("vip_feature", False))
    second = asyncio.ensure_future(flags.aget("btn_color", "blue"))
    await asyncio.sleep(0.1)
    first.cancel()
    assert await second == "red"
    assert first.cancelled()
    assert api.calls == 1


@pytest.mark.asyncio
async def test_many_visitors_wait_for_the_api_at_once(decision_api, api):
    api.delay = 0.5
    values = await asyncio.gather(
        *(flags_for(visitor_id=f"v{i}").aget("vip_feature", False) for i in range(30))
    )
    assert values == [True] * 30
    assert api.calls == 30
    assert api.max_in_flight == 30  # a thread pool would have let a few through at a time


@pytest.mark.asyncio
async def test_the_async_limit_settings_bound_the_pool(decision_api, api):
    decision_api.FLAGSHIP_ASYNC_MAX_CONNECTIONS = 2
    decision_api.FLAGSHIP_ASYNC_KEEPALIVE_EXPIRY = 3.5
    api.delay = 0.1
    values = await asyncio.gather(*(Flags(f"v{i}").aget("vip_feature", False) for i in range(6)))
    assert values == [True] * 6
    assert pool().limits == AsyncLimits(2, 3.5)
    assert api.max_in_flight == 2


@pytest.mark.asyncio
async def test_malformed_async_limits_serve_their_defaults(decision_api, api, caplog):
    decision_api.FLAGSHIP_ASYNC_MAX_CONNECTIONS = "many"
    decision_api.FLAGSHIP_ASYNC_KEEPALIVE_EXPIRY = -1
    with caplog.at_level(logging.ERROR, "django_flagship"):
        assert await Flags("v1").aget("vip_feature", False) is True
    assert pool().limits == AsyncLimits()
    assert "FLAGSHIP_ASYNC_MAX_CONNECTIONS is 'many'" in caplog.text
    assert "django_flagship.E031" in caplog.text


@pytest.mark.asyncio
async def test_a_settings_change_closes_the_loops_connections(decision_api, api):
    assert await Flags("v1").aget("vip_feature", False) is True
    assert api.open_connections == 1
    assert pool().loops == 1
    decision_api.FLAGSHIP_TIMEOUT = 1.5  # rebuilds the client: the old one is stopped
    for _ in range(200):
        await asyncio.sleep(0.01)
        if api.open_connections == 0:
            break
    assert api.open_connections == 0
    assert await Flags("v2").aget("vip_feature", False) is True  # on a new client
    assert api.connections == 2


@pytest.mark.asyncio
async def test_without_aiohttp_reads_fall_back_to_a_thread_and_say_so(
    decision_api, api, monkeypatch, caplog
):
    monkeypatch.setitem(sys.modules, "aiohttp", None)  # as if the extra were not installed
    flagship_client.reset()
    with caplog.at_level(logging.WARNING, "django_flagship"):
        values = await asyncio.gather(
            *(Flags(f"v{i}").aget("vip_feature", False) for i in range(3))
        )
    assert values == [True] * 3
    assert api.calls == 3
    assert pool().loops == 0
    assert caplog.text.count("aiohttp is not installed") == 1
    assert "django-flagship[async]" in caplog.text


# -- the warning about blocking calls -----------------------------------------------


@pytest.mark.parametrize(
    ("read", "used", "instead"),
    [
        (lambda f: f.get("vip_feature", False), "flags.get()", "await flags.aget(...)"),
        (lambda f: f.info("vip_feature"), "flags.info()", "await flags.ainfo(...)"),
        (lambda f: f.all(), "flags.all()", "await flags.aall()"),
        (lambda f: "vip_feature" in f, "'key in flags'", "await flags.ahas(key)"),
        (lambda f: f.activate("vip_feature"), "flags.activate()", "await flags.aactivate(...)"),
        (lambda f: f.flag("vip_feature"), "flags.flag()", "await flags.aload(), then flags"),
        (lambda f: f.visitor, "flags.visitor", "await flags.aload(), then flags.visitor"),
    ],
)
def test_a_blocking_call_on_the_loop_names_the_async_method(
    decision_api, api, caplog, read, used, instead
):
    async def inside():
        return read(Flags("v"))

    with caplog.at_level(logging.WARNING, "django_flagship"):
        asyncio.run(inside())
    assert api.calls == 1
    (record,) = [r for r in caplog.records if "event loop" in r.getMessage()]
    assert f"{used} called the Decision API synchronously" in record.getMessage()
    assert f"use '{instead}" in record.getMessage()


def test_the_warning_comes_with_the_blocking_call_only(decision_api, api, caplog):
    assert Flags("v0").get("vip_feature", False) is True  # outside a loop: nothing to say

    async def inside():
        loaded = Flags("v1")
        await loaded.aload()
        assert loaded.get("vip_feature", False) is True  # already decided: no call
        assert "btn_color" in loaded
        in_thread = Flags("v2")
        assert await sync_to_async(in_thread.get)("vip_feature", False) is True  # off the loop
        assert caplog.text == ""
        return Flags("v3").get("btn_color", "blue")  # the call, on the loop

    with caplog.at_level(logging.WARNING, "django_flagship"):
        assert asyncio.run(inside()) == "red"
    assert api.calls == 4
    (record,) = caplog.records
    assert "flags.get() called the Decision API synchronously" in record.getMessage()
