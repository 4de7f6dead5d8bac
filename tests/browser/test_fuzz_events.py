"""A barrage of generated bodies at the browser event view (what ``flagship.track()`` posts to).

Never a 5xx, every refusal a JSON ``{"error": ...}``, every event accepted a
hit the sink can write as UTF-8; after the barrage a good event is sent as
before. Fixed example count, derandomized: bounded and repeatable.
"""

import json

import pytest
from django.test import Client
from hypothesis import example, given
from hypothesis import strategies as st

from tests.hostile import HOSTILE_TEXT, LONE_SURROGATE, bodies, settings_for_fuzz

from .test_events import URL, events

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("browser_site")]

KEYS = ["action", "category", "label", "value"]
CATEGORIES = ["Action Tracking", "User Engagement", "action tracking", ""]

BODIES = st.one_of(
    # Within the view's 2,048 bytes: the deepest open brackets that fit.
    bodies(KEYS, templates=[{"action": "play"}], depths=(63, 64, 65, 200, 1_200, 2_040)),
    st.fixed_dictionaries(
        {"action": st.one_of(HOSTILE_TEXT, LONE_SURROGATE)},
        optional={"label": HOSTILE_TEXT, "category": st.sampled_from(CATEGORIES)},
    ).map(lambda event: json.dumps(event).encode()),
)
CONTENT_TYPES = st.sampled_from(["application/json", "application/json; charset=utf-8"])


@pytest.fixture
def no_rate_limit(browser_site):
    # The barrage is about parsing: the rate limits would answer most of it.
    browser_site.FLAGSHIP_BROWSER_RATE_LIMIT = None
    browser_site.FLAGSHIP_BROWSER_ADDRESS_RATE_LIMIT = None


def test_the_event_view_under_a_barrage(no_rate_limit):
    # Exceptions in the view become the 500 a visitor would get, not a test error.
    http = Client(raise_request_exception=False)
    http.get("/page/")  # a visitor of the site's pages, where track() runs

    @settings_for_fuzz(150)
    @given(body=BODIES, content_type=CONTENT_TYPES)
    # The known ways in, always tried first; the generated bodies look for others.
    @example(body=b"[" * 2_000, content_type="application/json")
    @example(body=b'{"action": "\\ud800"}', content_type="application/json")
    def barrage(body, content_type):
        response = http.post(URL, body, content_type=content_type)
        assert response.status_code < 500, (response.status_code, response.content[:300])
        assert response["Content-Type"] == "application/json"
        answer = json.loads(response.content)
        if response.status_code >= 400:
            assert isinstance(answer["error"], str)
        else:
            assert response.status_code == 202

    barrage()
    sent = events()
    for hit in sent:  # every hit accepted can be written out
        json.dumps(hit.to_payload(), ensure_ascii=False).encode("utf-8")
    response = http.post(URL, json.dumps({"action": "after", "value": 3}), "application/json")
    assert response.status_code == 202
    assert response.json() == {"sent": True}
    assert [(hit.payload["ea"], hit.payload["ev"]) for hit in events()[len(sent) :]] == [
        ("after", 3)
    ]
