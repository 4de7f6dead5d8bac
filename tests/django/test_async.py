"""Async views through Django's AsyncClient: nothing blocks the event loop."""

import asyncio
import threading
import time

import pytest
import responses

from django_flagship import client as flagship_client
from django_flagship.flags import Flags, RequestFlags
from django_flagship.middleware import FlagshipMiddleware

pytestmark = [pytest.mark.urls("tests.django.urls")]


@pytest.fixture
def cache_sessions(settings):
    # Sessions in the cache: async views touch them from worker threads.
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.cache"
    return settings


@pytest.mark.asyncio
async def test_async_view_reads_flags(async_client, configured, cache_sessions, tracker):
    data = (await async_client.get("/async/")).json()
    assert data["vip"] is True
    assert data["color"] == "red"
    assert data["has"] is True
    assert data["all"]["max_items"] == 5
    assert len(data["visitor_id"]) == 32
    assert len(tracker.activations) == 1


@pytest.mark.asyncio
async def test_async_view_keeps_the_visitor_and_varies(async_client, configured, cache_sessions):
    first = await async_client.get("/async/")
    second = await async_client.get("/async/")
    assert first.json()["visitor_id"] == second.json()["visitor_id"]
    assert "Cookie" in first["Vary"]


@pytest.mark.asyncio
async def test_async_template_after_aload(async_client, configured, cache_sessions):
    html = (await async_client.get("/async-page/")).content.decode()
    assert '<p class="color">red</p>' in html
    assert "Welcome, VIP" in html


@pytest.mark.asyncio
async def test_middleware_is_async_capable():
    async def get_response(request):
        return None

    middleware = FlagshipMiddleware(get_response)
    assert asyncio.iscoroutinefunction(middleware)
    assert not asyncio.iscoroutinefunction(FlagshipMiddleware(lambda request: None))


DECISION = {
    "visitorId": "v",
    "campaigns": [
        {
            "id": "c1",
            "variationGroupId": "vg1",
            "variation": {
                "id": "var1",
                "reference": False,
                "modifications": {"type": "FLAG", "value": {"vip_feature": True}},
            },
        }
    ],
}


@pytest.fixture
def decision_api(settings):
    settings.FLAGSHIP_MODE = "DECISION_API"
    settings.FLAGSHIP_ENV_ID = "env-test"
    settings.FLAGSHIP_API_KEY = "key-test"
    settings.FLAGSHIP_TRACKER = "tests.django.support.memory_tracker"
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.cache"
    return settings


@pytest.mark.asyncio
async def test_decision_api_call_does_not_block_the_event_loop(async_client, decision_api):
    """While the Decision API takes 0.3 s, the event loop keeps ticking."""
    url = "https://decision.flagship.io/v2/env-test/campaigns"
    calls = []

    def slow(request):
        calls.append(threading.current_thread().name)
        time.sleep(0.3)
        return (200, {}, __import__("json").dumps(DECISION))

    ticks = 0

    async def ticker():
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    with responses.RequestsMock() as mock:
        mock.add_callback(responses.POST, url, callback=slow)
        task = asyncio.create_task(ticker())
        response = await async_client.get("/async/")
        task.cancel()
    assert response.json()["vip"] is True
    assert len(calls) == 1  # one call for the whole request
    assert ticks >= 10  # the loop ran during the 0.3 s call
    assert calls[0] != threading.main_thread().name


@pytest.mark.asyncio
async def test_aget_outside_the_middleware(configured, rf):
    from django.contrib.auth.models import AnonymousUser
    from django.contrib.sessions.backends.cache import SessionStore

    request = rf.get("/")
    request.user = AnonymousUser()
    request.session = SessionStore()
    flags = RequestFlags(request)
    assert await flags.aget("vip_feature", False) is True
    assert await flags.ainfo("vip_feature") is not None
    assert await flags.aactivate("vip_feature") is False  # aget activated it already
    assert await Flags("worker-1").aget("btn_color", "blue") == "red"


@pytest.mark.asyncio
async def test_async_read_errors_serve_defaults(configured, rf, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("down")

    monkeypatch.setattr(flagship_client.get_client(), "create_visitor", broken)
    assert await Flags("v").aget("vip_feature", False) is False
    assert await Flags("v").aall() == {}


def test_sync_read_in_a_running_loop_warns_in_decision_api_mode(decision_api, caplog):
    import logging

    with responses.RequestsMock() as mock:
        mock.add(
            responses.POST, "https://decision.flagship.io/v2/env-test/campaigns", json=DECISION
        )

        async def inside():
            return Flags("v").get("vip_feature", False)

        with caplog.at_level(logging.WARNING, "django_flagship"):
            assert asyncio.run(inside()) is True
    assert any("blocked the event loop" in r.getMessage() for r in caplog.records)


@pytest.mark.asyncio
async def test_sync_views_under_asgi(async_client, configured, cache_sessions, tracker):
    response = await async_client.get("/read/", {"key": ["vip_feature"], "type": "bool"})
    assert response.json()["values"] == {"vip_feature": True}
    assert "Cookie" in response["Vary"]
    html = (await async_client.get("/page/")).content.decode()
    assert "Welcome, VIP" in html


@pytest.mark.asyncio
async def test_async_untouched_request_costs_nothing(async_client, configured, cache_sessions):
    response = await async_client.get("/untouched/")
    assert not response.has_header("Vary")
