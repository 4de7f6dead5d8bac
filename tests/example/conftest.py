"""The example shop under test: its own settings on top of the test settings.

The structural settings (apps, middleware, templates, URLs, the context
function) come from ``example_project.settings`` itself; the Flagship ones are
forced offline, whatever the developer's environment holds.
"""

import json
import threading
import time
from pathlib import Path

import pytest
from django.core.cache import caches
from pytest_django.live_server_helper import LiveServer

from django_flagship import client
from django_flagship.sdk.tracking import MemoryTracker
from example_project import settings as example

EXAMPLE_DIR = Path(example.__file__).resolve().parent
BUCKET_FILE = EXAMPLE_DIR / "bucketing.json"


@pytest.fixture
def shop(settings):
    """The example project's settings, offline, with hits kept in memory."""
    settings.INSTALLED_APPS = example.INSTALLED_APPS
    settings.MIDDLEWARE = example.MIDDLEWARE
    settings.TEMPLATES = example.TEMPLATES
    settings.ROOT_URLCONF = example.ROOT_URLCONF
    settings.LOGIN_URL = example.LOGIN_URL
    settings.LOGIN_REDIRECT_URL = example.LOGIN_REDIRECT_URL
    settings.LOGOUT_REDIRECT_URL = example.LOGOUT_REDIRECT_URL
    settings.STATIC_URL = "/static/"
    settings.FLAGSHIP_CONTEXT = example.FLAGSHIP_CONTEXT
    settings.FLAGSHIP_BUCKET_FILE = str(BUCKET_FILE)
    settings.FLAGSHIP_POLLING_INTERVAL = 0.0
    settings.FLAGSHIP_HIT_SINK = "memory"
    settings.FLAGSHIP_ENV_ID = ""
    settings.FLAGSHIP_API_KEY = ""
    settings.FLAGSHIP_MODE = "BUCKETING"
    client.reset()
    for cache in caches.all():  # every configured cache, even one this thread has not used
        cache.clear()
    yield settings
    client.reset()


@pytest.fixture(params=["file", "authored"])
def shop_source(request, shop):
    """The shop on its bundled file, then on the same campaigns authored in Django."""
    if request.param == "authored":
        from django_flagship.authoring.transfer import import_document

        request.getfixturevalue("db")
        shop.FLAGSHIP_BUCKET_SOURCE = "local"
        shop.FLAGSHIP_BUCKET_FILE = None
        import_document(json.loads(BUCKET_FILE.read_text()))
        client.reset()
    return request.param


@pytest.fixture
def shop_server(shop, transactional_db):
    """The shop on a live server of its own, started after its settings apply.

    pytest-django's session-wide ``live_server`` builds its handler (and so its
    middleware) once, from the test settings; the shop needs its own.
    """
    server = LiveServer("localhost")
    yield server
    # Keep-alive connections (the SDK's session in DECISION_API mode, a browser)
    # each hold a server thread that closes the shared in-memory database
    # connection when it ends: that must happen while the server still shares it.
    client.reset()  # closes the SDK's HTTP session
    deadline = time.monotonic() + 10.0
    while time.monotonic() < deadline and any(
        "process_request_thread" in thread.name for thread in threading.enumerate()
    ):
        time.sleep(0.02)
    server.stop()


def hit_sink() -> MemoryTracker:
    """The in-memory sink the current client delivers to."""
    tracker = client.get_client().tracker
    sink = getattr(tracker, "sink", tracker)
    assert isinstance(sink, MemoryTracker), f"hits go to {sink!r}, not to memory"
    return sink


def hits_of(visitor_id: str, hit_type: str) -> list:
    """The payloads of ``visitor_id``'s hits of one type, oldest first."""
    return [
        item.payload
        for item in hit_sink().hits
        if item.hit_type == hit_type and visitor_id in (item.visitor_id, item.anonymous_id)
    ]
