"""The browser side: {% flags_json %} and the view flagship.track() posts to."""

import json
import logging
import re
from pathlib import Path

import pytest
from django.template import Context, Template
from django.test import Client

from django_flagship import client as flagship_client
from django_flagship.browser import (
    MAX_SAFE_INTEGER,
    BrowserEvent,
    InvalidEventError,
    _max_body,
    _rate_limit,
    parse_event,
)
from django_flagship.conf import DEFAULTS, conf
from django_flagship.sdk.hits import EventCategory
from django_flagship.sdk.tracking import MemoryTracker

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("browser_site")]

URL = "/flagship/events/"
DATA = re.compile(r'<script id="(flagship-data[^"]*)" type="application/json">(.*?)</script>')


def sink() -> MemoryTracker:
    tracker = flagship_client.get_client().tracker
    found = getattr(tracker, "sink", tracker)
    assert isinstance(found, MemoryTracker)
    return found


def page_data(html: str) -> tuple[str, dict]:
    element_id, text = DATA.search(html).groups()
    return element_id, json.loads(text)


def visit(client: Client) -> tuple[str, dict]:
    """Load the page; the visitor id and the data handed to JavaScript."""
    html = client.get("/page/").content.decode()
    visitor = re.search(r'<p id="visitor">([^<]+)</p>', html).group(1)
    return visitor, page_data(html)[1]


def post(client: Client, body, *, token: str | None = None, **extra):
    payload = body if isinstance(body, bytes | str) else json.dumps(body)
    headers = {"HTTP_X_CSRFTOKEN": token} if token else {}
    return client.post(URL, payload, content_type="application/json", **headers, **extra)


def events() -> list:
    return [item for item in sink().hits if item.hit_type == "EVENT"]


# -- {% flags_json %} --------------------------------------------------------------


def test_flags_json_hands_only_the_named_flags(client):
    _, data = visit(client)
    assert data["flags"] == {"color": "red", "size": 3, "missing": None}
    assert data["trackUrl"] == URL
    assert data["csrfToken"]


def test_flags_json_writes_no_secret(client, browser_site):
    browser_site.FLAGSHIP_ENV_ID = "env-id-not-for-pages"
    browser_site.FLAGSHIP_API_KEY = "api-key-not-for-pages"
    browser_site.FLAGSHIP_POLLING_INTERVAL = 0.0
    html = client.get("/page/").content.decode()
    _, data = page_data(html)
    assert data["flags"]["color"] == "red"
    assert "api-key-not-for-pages" not in html
    assert "env-id-not-for-pages" not in html
    assert "internalNote" not in html
    assert "server only" not in html


def test_flags_json_activates_like_a_read_unless_told_not_to(client):
    client.get("/page/")
    assert [(a.variation_group_id, a.variation_id) for a in sink().activations] == [
        ("cbrowser0000000000002", "cbrowser0000000000003")
    ]
    sink().clear()
    html = Client().get("/quiet/").content.decode()
    element_id, data = page_data(html)
    assert element_id == "flagship-data-2"
    assert data["flags"] == {"color": "red", "size": 3}
    assert sink().activations == []


def test_flags_json_escapes_for_a_script_element(client, browser_site, tmp_path):
    bucket = json.loads(Path(browser_site.FLAGSHIP_BUCKET_FILE).read_text())
    variation = bucket["campaigns"][0]["variationGroups"][0]["variations"][0]
    variation["modifications"]["value"]["color"] = "</script><script>alert(1)</script>"
    path = tmp_path / "hostile.json"
    path.write_text(json.dumps(bucket))
    browser_site.FLAGSHIP_BUCKET_FILE = str(path)
    html = client.get("/page/").content.decode()
    assert "<script>alert(1)" not in html
    assert page_data(html)[1]["flags"]["color"] == "</script><script>alert(1)</script>"


def test_flags_json_without_a_request_serves_nulls(caplog):
    template = Template('{% load flagship_browser %}{% flags_json "color" %}')
    with caplog.at_level(logging.WARNING, logger="django_flagship"):
        html = template.render(Context({}))
    assert page_data(html)[1] == {"flags": {"color": None}, "trackUrl": None, "csrfToken": None}
    assert "no request in its template context" in caplog.text


# -- the event view --------------------------------------------------------------


def test_an_event_is_sent_as_the_visitors_hit(client):
    visitor, data = visit(client)
    response = post(
        client,
        {"action": "Buy button click", "label": "mug", "value": 2, "category": "User Engagement"},
        token=data["csrfToken"],
    )
    assert response.status_code == 202
    assert response.json() == {"sent": True}
    (event,) = events()
    assert event.visitor_id == visitor
    fields = {key: value for key, value in event.payload.items() if key != "ds"}
    assert fields == {
        "t": "EVENT",
        "ec": "User Engagement",
        "ea": "Buy button click",
        "el": "mug",
        "ev": 2,
    }


def test_category_defaults_to_action_tracking(client):
    visit(client)
    post(client, {"action": "Video played"})
    (event,) = events()
    assert event.payload["ec"] == "Action Tracking"
    assert "el" not in event.payload
    assert "ev" not in event.payload


def test_csrf_is_enforced():
    browser = Client(enforce_csrf_checks=True)
    _, data = visit(browser)
    assert post(browser, {"action": "x"}).status_code == 403
    assert post(browser, {"action": "x"}, token="forged" * 6).status_code == 403
    assert events() == []
    assert post(browser, {"action": "x"}, token=data["csrfToken"]).status_code == 202
    assert len(events()) == 1


def test_only_post(client):
    response = client.get(URL)
    assert response.status_code == 405
    assert response["Allow"] == "POST"


def test_body_size_is_bounded(client, browser_site):
    browser_site.FLAGSHIP_BROWSER_MAX_BODY = 100
    visit(client)
    response = post(client, {"action": "x" * 200})
    assert response.status_code == 413
    assert response.json() == {"error": "the body must be at most 100 bytes"}
    assert post(client, {"action": "x" * 50}).status_code == 202


def test_a_declared_length_over_the_limit_is_refused_unread(client):
    response = client.generic(
        "POST",
        URL,
        json.dumps({"action": "x"}),
        content_type="application/json",
        CONTENT_LENGTH=str(10**9),
    )
    assert response.status_code == 413
    assert events() == []


def test_json_only(client):
    response = client.post(URL, {"action": "x"})
    assert response.status_code == 415
    assert post(client, b"{not json").status_code == 400
    assert post(client, b"\xff\xfe").status_code == 400
    assert events() == []


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ([], "the event must be a JSON object"),
        ({}, "'action' is required"),
        ({"action": "  "}, "'action' must not be empty"),
        ({"action": 12}, "'action' must be a string"),
        ({"action": "x", "extra": 1}, "unknown field(s): 'extra'"),
        ({"action": "x", "category": "Clicks"}, "'category' must be one of"),
        ({"action": "x", "label": ["a"]}, "'label' must be a string"),
        ({"action": "x" * 501}, "'action' must be at most 500 bytes"),
        ({"action": "é" * 251}, "'action' must be at most 500 bytes"),
        ({"action": "a\nb"}, "'action' must not contain control characters"),
        ({"action": "x", "value": -1}, "'value' must be between 0"),
        ({"action": "x", "value": 1.5}, "'value' must be an integer"),
        ({"action": "x", "value": True}, "'value' must be an integer"),
        ({"action": "x", "value": "3"}, "'value' must be an integer"),
        ({"action": "x", "value": MAX_SAFE_INTEGER + 1}, "'value' must be between 0"),
    ],
)
def test_invalid_events_are_refused(client, body, message):
    response = post(client, body)
    assert response.status_code == 400
    assert response.json()["error"].startswith(message)
    assert events() == []


def test_parse_event_accepts_integral_numbers_and_trims_text():
    assert parse_event({"action": " Play ", "value": 3.0, "label": "intro"}) == BrowserEvent(
        "Play", EventCategory.ACTION_TRACKING, "intro", 3
    )
    assert parse_event({"action": "x", "label": None, "value": None, "category": None}) == (
        BrowserEvent("x")
    )
    with pytest.raises(InvalidEventError):
        parse_event({"action": "x", "value": float("nan")})


def test_rate_limit_per_session(client, browser_site):
    browser_site.FLAGSHIP_BROWSER_RATE_LIMIT = (3, 60.0)
    visit(client)
    statuses = [post(client, {"action": f"click {i}"}).status_code for i in range(5)]
    assert statuses == [202, 202, 202, 429, 429]
    refused = post(client, {"action": "again"})
    assert refused.json() == {"error": "too many events, slow down"}
    assert 1 <= int(refused["Retry-After"]) <= 60
    # Another visitor has a limit of their own.
    other = Client()
    visit(other)
    assert post(other, {"action": "elsewhere"}).status_code == 202
    assert [e.payload["ea"] for e in events()] == ["click 0", "click 1", "click 2", "elsewhere"]


def test_rate_limit_counts_refused_events_too(client, browser_site):
    browser_site.FLAGSHIP_BROWSER_RATE_LIMIT = (2, 60.0)
    visit(client)
    assert post(client, {"bad": 1}).status_code == 400
    assert post(client, {"bad": 2}).status_code == 400
    assert post(client, {"action": "good"}).status_code == 429


def test_rate_limit_can_be_turned_off(client, browser_site):
    browser_site.FLAGSHIP_BROWSER_RATE_LIMIT = None
    visit(client)
    assert {post(client, {"action": "x"}).status_code for _ in range(80)} == {202}
    assert len(events()) == 80


def test_the_window_starts_again(client, browser_site, monkeypatch):
    browser_site.FLAGSHIP_BROWSER_RATE_LIMIT = (1, 10.0)
    visit(client)
    now = [1_000_000.0]
    monkeypatch.setattr("django_flagship.ratelimit.time.time", lambda: now[0])
    assert post(client, {"action": "a"}).status_code == 202
    assert post(client, {"action": "b"}).status_code == 429
    now[0] += 10.0
    assert post(client, {"action": "c"}).status_code == 202


def test_a_malformed_rate_limit_falls_back_to_the_default(
    client, browser_site, caplog, monkeypatch
):
    monkeypatch.setattr("django_flagship.conf._reported", set())
    # manage.py check reports it (E016); a request still gets the default limit, not a 500.
    browser_site.FLAGSHIP_BROWSER_RATE_LIMIT = "60/minute"
    visit(client)
    with caplog.at_level(logging.ERROR, logger="django_flagship"):
        statuses = [post(client, {"action": f"click {i}"}).status_code for i in range(61)]
    assert statuses == [202] * 60 + [429]
    (record,) = [r for r in caplog.records if "FLAGSHIP_BROWSER_RATE_LIMIT" in r.getMessage()]
    assert record.levelno == logging.ERROR
    assert "django_flagship.E016" in record.getMessage()
    assert "(60, 60.0)" in record.getMessage()  # logged once, naming the default


@pytest.mark.parametrize("value", [(0, 60.0), (5, -1), [5], False, "60"])
def test_a_malformed_rate_limit_never_turns_the_limit_off(browser_site, monkeypatch, value):
    monkeypatch.setattr("django_flagship.conf._reported", set())
    browser_site.FLAGSHIP_BROWSER_RATE_LIMIT = value
    assert _rate_limit() == (60, 60.0)


def test_a_malformed_max_body_falls_back_to_the_default(client, browser_site, caplog, monkeypatch):
    monkeypatch.setattr("django_flagship.conf._reported", set())
    browser_site.FLAGSHIP_BROWSER_MAX_BODY = "100"
    visit(client)
    with caplog.at_level(logging.ERROR, logger="django_flagship"):
        response = post(client, {"action": "x" * 3000})
        assert post(client, {"action": "x" * 400, "label": "y" * 400}).status_code == 202
    assert response.status_code == 413
    assert response.json() == {"error": "the body must be at most 2048 bytes"}
    assert "FLAGSHIP_BROWSER_MAX_BODY is '100'" in caplog.text
    assert "django_flagship.E016" in caplog.text


def test_the_settings_are_read_through_conf(browser_site):
    assert conf.browser_rate_limit == DEFAULTS["FLAGSHIP_BROWSER_RATE_LIMIT"] == (60, 60.0)
    assert conf.browser_max_body == DEFAULTS["FLAGSHIP_BROWSER_MAX_BODY"] == 2048
    browser_site.FLAGSHIP_BROWSER_RATE_LIMIT = [5, 10]
    browser_site.FLAGSHIP_BROWSER_MAX_BODY = 512
    assert (conf.browser_rate_limit, conf.browser_max_body) == ([5, 10], 512)
    assert (_rate_limit(), _max_body()) == ((5, 10.0), 512)


def test_an_unknown_cache_alias_is_a_cache_outage(client, browser_site, caplog):
    # Check E004 reports it; the view does not fail, and the process counts on its own.
    browser_site.FLAGSHIP_CACHE_ALIAS = "nope"
    browser_site.FLAGSHIP_BROWSER_RATE_LIMIT = (2, 60.0)
    visit(client)
    with caplog.at_level(logging.WARNING, logger="django_flagship"):
        statuses = [post(client, {"action": "x"}).status_code for _ in range(3)]
    assert statuses == [202, 202, 429]
    assert "each process counts on its own" in caplog.text


def test_without_consent_nothing_is_sent(client, browser_site):
    browser_site.FLAGSHIP_CONSENT = "tests.browser.test_events.no_consent"
    visit(client)
    response = post(client, {"action": "x"})
    assert response.status_code == 202
    assert response.json() == {"sent": False}
    assert events() == []


def no_consent(request):
    return False


def test_without_the_middleware_the_view_says_so(client, browser_site, caplog):
    browser_site.MIDDLEWARE = [
        m for m in browser_site.MIDDLEWARE if m != "django_flagship.middleware.FlagshipMiddleware"
    ]
    with caplog.at_level(logging.ERROR, logger="django_flagship"):
        response = post(client, {"action": "x"})
    assert response.status_code == 503
    assert "FlagshipMiddleware" in caplog.text
