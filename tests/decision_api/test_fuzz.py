"""A barrage of generated requests at every endpoint of the served Decision API.

Through the app's own client (the bucket file, the cache, the real log sink
writing UTF-8), whatever the request: never a 5xx, every refusal a JSON body
with a message, no item the sink fails to write; and after the barrage a good
request is answered as before. The example counts are fixed and the runs
derandomized, so the test is bounded (a few seconds) and repeatable.
"""

from __future__ import annotations

import io
import json
import logging
from urllib.parse import quote

import pytest
from django.core.cache import caches
from django.test import Client
from hypothesis import example, given
from hypothesis import strategies as st

from django_flagship import client as flagship_client
from tests.hostile import HOSTILE_TEXT, bodies, json_values, settings_for_fuzz

from .conftest import API_KEY, ENV_ID, PREFIX, PREFIX_V2, use_app_bucket
from .test_v2_contract import visitor

pytestmark = pytest.mark.django_db(databases=[])

DECISION_KEYS = [
    "visitorId",
    "visitor_id",
    "anonymousId",
    "context",
    "decisionGroup",
    "triggerHit",
    "activate",
    "formatResponse",
    "visitorConsent",
    "defaultRedirectUrl",
    "campaignId",
    "customVisitorId",
]
ACTIVATION_KEYS = ["cid", "vid", "aid", "caid", "vaid", "cvid", "qt", "qa", "batch"]
GOOD_ACTIVATION = {"cid": ENV_ID, "vid": "v", "caid": "vg-ab", "vaid": "var-ab-red"}

CAMPAIGN_PATHS = [
    f"{PREFIX}/campaigns",
    f"{PREFIX}/campaigns/",
    f"{PREFIX}/campaigns/c-text",
    f"{PREFIX}/campaigns/checkout",
    f"{PREFIX_V2}/campaigns",
    f"{PREFIX_V2}/campaigns/",
    f"{PREFIX_V2}/campaigns/c-redirect",
    f"{PREFIX_V2}/campaigns/c-image",
    "/decision-api/v2/campaigns",
    "/decision-api/v2/campaigns/c-html",
]
QUERY_FLAGS = {
    "mode": st.sampled_from(["normal", "simple", "full", "", "Normal", "x"]),
    "exposeAllKeys": st.sampled_from(["true", "false", "1", "0", "", "maybe"]),
    "sendContextEvent": st.sampled_from(["true", "false", "", "no"]),
}
PLAIN_TEXT = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=12)


class SinkFailures(logging.Handler):
    """Writes each hit line as UTF-8, as a file or a terminal would; keeps what failed."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.stream = io.BytesIO()
        self.lines = 0
        self.failed: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.stream.write(record.getMessage().encode("utf-8") + b"\n")
            self.lines += 1
        except UnicodeEncodeError as exc:
            self.failed.append(repr(exc))


@pytest.fixture
def app(settings, tmp_path):
    """The app deciding from its own bucket, its hits going to the log sink."""
    use_app_bucket(settings, tmp_path, "fuzz")
    settings.FLAGSHIP_DECISION_API_ENVIRONMENTS = {ENV_ID: [API_KEY]}
    settings.FLAGSHIP_HIT_SINK = "log"
    settings.FLAGSHIP_DECISION_API_GROUP_TTL = 60.0
    # The barrage is about parsing: the rate limit would answer part of it.
    settings.FLAGSHIP_DECISION_API_RATE_LIMIT = None
    hits = logging.getLogger("django_flagship.hits")
    sink = SinkFailures()
    level, propagate = hits.level, hits.propagate
    hits.setLevel(logging.INFO)
    hits.propagate = False
    hits.addHandler(sink)
    flagship_client.reset()
    yield sink
    hits.removeHandler(sink)
    hits.setLevel(level)
    hits.propagate = propagate
    flagship_client.reset()
    caches["default"].clear()


# Exceptions in a view become the 500 a visitor would get, not a test error.
http = Client(raise_request_exception=False)


def check(response) -> None:
    assert response.status_code < 500, (response.status_code, response.content[:300])
    if response.status_code >= 400:
        assert response["Content-Type"] == "application/json", response.content[:300]
        assert isinstance(json.loads(response.content)["message"], str)
    elif response.get("Content-Type") == "application/json" and response.content:
        json.loads(response.content)


def good_request_still_answered(sink: SinkFailures) -> None:
    vid = visitor(want_red=True)
    lines = sink.lines
    response = http.post(
        f"{PREFIX_V2}/campaigns",
        json.dumps({"visitorId": vid, "context": {"isVip": True}}),
        content_type="application/json",
        HTTP_X_API_KEY=API_KEY,
    )
    assert response.status_code == 200
    body = response.json()
    assert body["visitorId"] == vid
    assert body["campaigns"][0]["variation"]["id"] == "var-ab-red"
    assert "c-vip" in [c["id"] for c in body["campaigns"]]
    activation = http.post(
        "/decision-api/v1/activate",
        json.dumps(dict(GOOD_ACTIVATION, vid=vid)),
        content_type="application/json",
    )
    assert activation.status_code == 204
    # The SEGMENT hit, one activation per campaign, and the one just posted.
    assert sink.lines == lines + 1 + len(body["campaigns"]) + 1
    assert sink.failed == []


@settings_for_fuzz(200)
@given(
    path=st.one_of(
        st.sampled_from(CAMPAIGN_PATHS),
        PLAIN_TEXT.map(lambda text: f"{PREFIX_V2}/campaigns/{quote(text, safe='')}"),
    ),
    body=bodies(DECISION_KEYS, templates=[{"visitorId": "v"}, {"visitor_id": "v"}]),
    flags=st.fixed_dictionaries({}, optional=QUERY_FLAGS),
    key=st.sampled_from([API_KEY, API_KEY, API_KEY, None, "wrong", API_KEY + "\u00e9"]),
)
# The known ways in, always tried first; the generated requests look for others.
@example(path=f"{PREFIX}/campaigns", body=b"[" * 5_000, flags={}, key=API_KEY)
@example(path=f"{PREFIX_V2}/campaigns", body=b'{"visitorId": "\\udfff"}', flags={}, key=API_KEY)
@example(
    path=f"{PREFIX}/campaigns/c-text", body=b'{"visitor_id": "\\ud800x"}', flags={}, key=API_KEY
)
def campaigns_barrage(app, path, body, flags, key):
    headers = {"HTTP_X_API_KEY": key} if key is not None else {}
    query = f"?{'&'.join(f'{name}={quote(value)}' for name, value in flags.items())}"
    check(http.post(path + query, body, content_type="application/json", **headers))
    assert app.failed == []


def test_campaigns_endpoints(app):
    campaigns_barrage(app)
    good_request_still_answered(app)


@settings_for_fuzz(200)
@given(
    path=st.sampled_from(
        [f"{PREFIX}/campaigns/c-text", f"{PREFIX}/campaigns/c-redirect", f"{PREFIX}/campaigns/x"]
    ),
    params=st.fixed_dictionaries(
        {},
        optional={
            "visitorId": PLAIN_TEXT,
            "visitor_id": PLAIN_TEXT,
            "anonymousId": PLAIN_TEXT,
            "decisionGroup": PLAIN_TEXT,
            "context": st.one_of(
                json_values(["plan", "isVip", "age"]).map(json.dumps),
                st.sampled_from([65, 1_500, 20_000]).map(lambda depth: "[" * depth),
                PLAIN_TEXT,
            ),
            "triggerHit": st.sampled_from(["true", "false", "2", ""]),
            "format_response": st.sampled_from(["true", "false", "yes"]),
            "defaultRedirectUrl": st.sampled_from(
                ["https://example.com/a", "javascript:alert(1)", "//evil", ""]
            ),
            "utm_source": PLAIN_TEXT,
            **QUERY_FLAGS,
        },
    ),
    key=st.sampled_from([API_KEY, API_KEY, API_KEY, "wrong"]),
)
@example(
    path=f"{PREFIX}/campaigns/c-text",
    params={"visitorId": "v", "context": "[" * 5_000},
    key=API_KEY,
)
@example(
    path=f"{PREFIX}/campaigns/c-text",
    params={"visitorId": "v", "context": '{"a": "\\ud800"}'},
    key=API_KEY,
)
def get_form_barrage(app, path, params, key):
    check(http.get(path, params, HTTP_X_API_KEY=key))
    assert app.failed == []


def test_the_get_form(app):
    get_form_barrage(app)
    good_request_still_answered(app)


@settings_for_fuzz(250)
@given(
    path=st.sampled_from(["/decision-api/v1/activate", "/decision-api/v2/activate"]),
    body=st.one_of(
        bodies(ACTIVATION_KEYS, templates=[GOOD_ACTIVATION]),
        st.lists(
            st.builds(
                lambda extra: {**{k: v for k, v in GOOD_ACTIVATION.items() if k != "cid"}, **extra},
                st.dictionaries(st.sampled_from(ACTIVATION_KEYS), json_values([]), max_size=3),
            ),
            min_size=1,
            max_size=4,
        ).map(lambda batch: json.dumps({"cid": ENV_ID, "batch": batch}).encode()),
        HOSTILE_TEXT.map(lambda vid: json.dumps(dict(GOOD_ACTIVATION, vid=vid)).encode()),
    ),
)
@example(path="/decision-api/v2/activate", body=b"[" * 5_000)
@example(
    path="/decision-api/v1/activate",
    body=json.dumps(dict(GOOD_ACTIVATION, vid="\ud800")).encode(),
)
def activate_barrage(app, path, body):
    check(http.post(path, body, content_type="application/json"))
    assert app.failed == []


def test_activate_endpoints(app):
    activate_barrage(app)
    good_request_still_answered(app)
