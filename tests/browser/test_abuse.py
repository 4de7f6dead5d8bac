"""The event view under abuse: limits a client cannot reset, no rows for visitors that are not.

A client that drops its session cookie before each post (keeping only
``csrftoken``, which CSRF needs) must neither escape the rate limit nor leave a
session row or a cache history entry per request. Counts are read where they
live: session rows in the database, history keys in Redis.
"""

import re

import pytest
import redis
from django.conf import settings
from django.contrib.sessions.models import Session
from django.core.cache import caches
from django.test import Client

from django_flagship.client_address import client_address, parse_address_header
from tests import redis_support

from .test_events import events, post, visit

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("browser_site")]

TOKEN = re.compile(r'"csrfToken": "([^"]+)"')


@pytest.fixture
def store(browser_site, redis_url):
    """The browser site with its cache (counts, history) in Redis; Redis, to count keys."""
    browser_site.CACHES = {"default": redis_support.cache_settings(redis_url)}
    caches["default"].clear()
    connection = redis.Redis.from_url(redis_url)
    yield connection
    connection.close()


def history_keys(store) -> list[bytes]:
    return store.keys(f"{redis_support.PREFIX}:*:history:*")


def csrf_only(browser: Client) -> str:
    """Load a page once, then keep nothing but the CSRF cookie; the token for the header."""
    token = TOKEN.search(browser.get("/page/").content.decode()).group(1)
    browser.cookies.pop(settings.SESSION_COOKIE_NAME)
    return token


def test_dropping_the_session_cookie_neither_resets_the_limit_nor_leaves_rows(browser_site, store):
    browser_site.FLAGSHIP_BROWSER_ADDRESS_RATE_LIMIT = (100, 60.0)
    browser = Client(enforce_csrf_checks=True)
    token = csrf_only(browser)
    rows, keys = Session.objects.count(), len(history_keys(store))
    assert rows == 1  # the page load's visitor
    statuses = []
    for _ in range(150):
        browser.cookies.pop(settings.SESSION_COOKIE_NAME, None)
        statuses.append(post(browser, {"action": "Buy"}, token=token).status_code)
    # 100 refused for having no visitor, then the address is over its limit
    assert statuses == [403] * 100 + [429] * 50
    assert Session.objects.count() == rows
    assert len(history_keys(store)) == keys
    assert events() == []


def test_an_event_never_creates_a_visitor(browser_site, store):
    browser = Client(enforce_csrf_checks=True)
    token = csrf_only(browser)
    rows = Session.objects.count()
    refused = post(browser, {"action": "Buy"}, token=token)
    assert refused.status_code == 403
    assert refused.json() == {"error": "no visitor: events come from the pages of this site"}
    assert post(browser, {"bad": 1}, token=token).status_code == 400
    assert Session.objects.count() == rows
    assert events() == []
    # A page that names no flag still makes the visitor its events need.
    browser.get("/tracking/")
    assert Session.objects.count() == rows + 1
    assert post(browser, {"action": "Buy"}, token=token).json() == {"sent": True}
    assert len(events()) == 1


def test_page_loads_without_cookies_leave_no_history(browser_site, store):
    """Each load is a new visitor: its id needs the session, its history waits for a return."""
    for _ in range(20):
        Client().get("/plain/")
    assert Session.objects.count() == 0  # no flag read: no visitor at all
    for _ in range(20):
        assert Client().get("/page/").status_code == 200
    assert Session.objects.count() == 20
    assert history_keys(store) == []
    # A visitor that comes back is the same visitor, with the same flags.
    browser = Client()
    visitor, first = visit(browser)
    again, second = visit(browser)
    assert (again, second["flags"]) == (visitor, first["flags"])


def test_the_address_limit_holds_across_visitors(browser_site):
    """A NAT or a script with many sessions: the address counts them all together."""
    browser_site.FLAGSHIP_BROWSER_RATE_LIMIT = (5, 60.0)
    browser_site.FLAGSHIP_BROWSER_ADDRESS_RATE_LIMIT = (8, 60.0)
    statuses = []
    for _ in range(4):
        browser = Client()
        visit(browser)
        statuses += [post(browser, {"action": "x"}).status_code for _ in range(3)]
    assert statuses == [202] * 8 + [429] * 4
    other = Client(REMOTE_ADDR="203.0.113.9")
    visit(other)
    assert post(other, {"action": "x"}).status_code == 202
    assert len(events()) == 9


def test_the_proxy_header_names_the_client(browser_site):
    browser_site.FLAGSHIP_BROWSER_ADDRESS_RATE_LIMIT = (2, 60.0)
    browser_site.FLAGSHIP_CLIENT_ADDRESS_HEADER = "X-Forwarded-For"
    browser = Client()
    visit(browser)

    def send(forwarded: str) -> int:
        return post(browser, {"action": "x"}, HTTP_X_FORWARDED_FOR=forwarded).status_code

    # What the client writes before the proxy's entry changes nothing.
    assert [send(f"10.0.0.{n}, 198.51.100.7") for n in range(3)] == [202, 202, 429]
    assert send("198.51.100.8") == 202  # another client behind the same proxy
    # Behind two proxies the client is second from the end.
    browser_site.FLAGSHIP_CLIENT_ADDRESS_HEADER = ("X-Forwarded-For", 2)
    assert [send(f"198.51.100.20, 10.1.1.{n}") for n in range(3)] == [202, 202, 429]


@pytest.mark.parametrize(
    ("header", "meta", "expected"),
    [
        (None, {"REMOTE_ADDR": "192.0.2.1"}, "192.0.2.1"),
        (None, {"REMOTE_ADDR": "2001:db8:1:2:3:4:5:6"}, "2001:db8:1:2::/64"),
        (None, {"REMOTE_ADDR": "::ffff:192.0.2.5"}, "192.0.2.5"),
        (None, {"REMOTE_ADDR": ""}, "unknown"),
        ("X-Real-IP", {"REMOTE_ADDR": "10.0.0.1", "HTTP_X_REAL_IP": "192.0.2.9"}, "192.0.2.9"),
        (
            "X-Forwarded-For",
            {"REMOTE_ADDR": "10.0.0.1", "HTTP_X_FORWARDED_FOR": "1.1.1.1, 192.0.2.3:4711"},
            "192.0.2.3",
        ),
        (
            "X-Forwarded-For",
            {"REMOTE_ADDR": "10.0.0.1", "HTTP_X_FORWARDED_FOR": "[2001:db8::1]:443"},
            "2001:db8::/64",
        ),
        # missing, garbage or too short: the proxy's own address, one count for all such requests
        ("X-Forwarded-For", {"REMOTE_ADDR": "10.0.0.1"}, "10.0.0.1"),
        (
            "X-Forwarded-For",
            {"REMOTE_ADDR": "10.0.0.1", "HTTP_X_FORWARDED_FOR": "evil"},
            "10.0.0.1",
        ),
        (
            ("X-Forwarded-For", 2),
            {"REMOTE_ADDR": "10.0.0.1", "HTTP_X_FORWARDED_FOR": "192.0.2.3"},
            "10.0.0.1",
        ),
    ],
)
def test_client_address(rf, settings, header, meta, expected):
    settings.FLAGSHIP_CLIENT_ADDRESS_HEADER = header
    request = rf.get("/")
    request.META.update(meta)
    assert client_address(request) == expected


@pytest.mark.parametrize(
    "value", ["", "X Forwarded", 42, ("X-Forwarded-For", 0), ("A", 1, 2), ["X", "1"]]
)
def test_a_malformed_address_header_is_refused_and_falls_back(
    rf, settings, caplog, monkeypatch, value
):
    monkeypatch.setattr("django_flagship.conf._reported", set())
    with pytest.raises(ValueError, match="FLAGSHIP_CLIENT_ADDRESS_HEADER"):
        parse_address_header(value)
    settings.FLAGSHIP_CLIENT_ADDRESS_HEADER = value
    request = rf.get("/", HTTP_X_FORWARDED_FOR="192.0.2.3", REMOTE_ADDR="10.0.0.1")
    assert client_address(request) == "10.0.0.1"  # the default: REMOTE_ADDR
    assert "django_flagship.E022" in caplog.text


def test_the_counts_live_in_the_shared_cache(browser_site, store):
    """Every process reads the same counts: here, a second connection to Redis."""
    browser_site.FLAGSHIP_BROWSER_ADDRESS_RATE_LIMIT = (3, 60.0)
    first, second = Client(), Client()
    visit(first)
    visit(second)
    assert post(first, {"action": "a"}).status_code == 202
    assert post(first, {"action": "b"}).status_code == 202
    caches["default"].close()  # a new connection, as another process has
    assert post(second, {"action": "c"}).status_code == 202
    assert post(second, {"action": "d"}).status_code == 429
    counts = store.keys(f"{redis_support.PREFIX}:*:rate:browser-address:*")
    assert len(counts) == 1
    assert int(store.get(counts[0])) == 4
    assert 0 < store.ttl(counts[0]) <= 65
    assert len(events()) == 3
