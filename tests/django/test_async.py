"""Async views through Django's AsyncClient: nothing blocks the event loop."""

import asyncio
import threading

import pytest

from django_flagship import client as flagship_client
from django_flagship.flags import Flags, RequestFlags
from django_flagship.middleware import FlagshipMiddleware
from django_flagship.sdk.hits import Event, EventCategory
from django_flagship.sdk.tracking import SyncTracker

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


class _ThreadRecordingCollector:
    """A collector client that notes the thread each POST would be made from."""

    sent: list[tuple[str, int]] = []

    def send_hits(self, items):
        self.sent.append(("hit", threading.get_ident()))

    def send_activations(self, items):
        self.sent.append(("activation", threading.get_ident()))

    def close(self):
        pass


def sync_tracker(config):
    return SyncTracker(_ThreadRecordingCollector())


@pytest.mark.asyncio
async def test_a_synchronous_sink_posts_off_the_event_loop(configured):
    configured.FLAGSHIP_TRACKER = "tests.django.test_async.sync_tracker"
    _ThreadRecordingCollector.sent.clear()
    flags = Flags("v-sync")
    assert await flags.aget("btn_color", "blue", activate=False) == "red"
    assert await flags.aactivate("btn_color") is True
    assert await flags.aget("vip_feature", False) is True
    assert await flags.asend_hit(Event(EventCategory.ACTION_TRACKING, "click")) is True
    kinds = [kind for kind, _ in _ThreadRecordingCollector.sent]
    assert "activation" in kinds
    assert "hit" in kinds
    loop_thread = threading.get_ident()
    assert all(thread != loop_thread for _, thread in _ThreadRecordingCollector.sent)
