"""Bodies built to crash the parser or the encoder: a 400 naming the problem, nothing tracked."""

from __future__ import annotations

import io
import json
import logging

import pytest

from .conftest import ENV_ID, PREFIX, PREFIX_V2

pytestmark = pytest.mark.django_db(databases=[])

CAMPAIGN_PATHS = [
    f"{PREFIX}/campaigns",
    f"{PREFIX_V2}/campaigns",
    "/decision-api/v2/campaigns",
    f"{PREFIX}/campaigns/c-text",
    f"{PREFIX_V2}/campaigns/c-text",
]
ACTIVATE_PATHS = ["/decision-api/v1/activate", "/decision-api/v2/activate"]


def assert_json_400(response, needle: str) -> None:
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/json"
    assert needle in response.json()["message"]


@pytest.fixture
def roomy(settings):
    # Room for the deepest bodies: the depth bound must answer, not the size bound.
    settings.FLAGSHIP_DECISION_API_MAX_BODY = 1_000_000


@pytest.mark.parametrize("path", CAMPAIGN_PATHS + ACTIVATE_PATHS)
@pytest.mark.parametrize(
    "raw",
    [
        "[" * 5_000,
        "[" * 100_000 + "]" * 100_000,
        '{"visitorId": "v", "context": {"a": ' + "[" * 3_000 + "]" * 3_000 + "}}",
        '{"cid": "x", "batch": [' + '{"a":' * 2_000 + "1" + "}" * 2_000 + "]}",
    ],
    ids=["open-arrays", "closed-arrays", "in-context", "in-batch"],
)
def test_deeply_nested_body_is_400(served, api, roomy, path, raw):
    response = api.post(path, raw=raw)
    assert_json_400(response, "deeper than 64 levels")
    assert served.activations == []


def test_deeply_nested_context_parameter_is_400(served, api):
    response = api.get(
        f"{PREFIX}/campaigns/c-text", {"visitorId": "v", "context": "[" * 5_000 + "]" * 5_000}
    )
    assert_json_400(response, "the context parameter is not valid JSON")
    assert served.activations == []


@pytest.mark.parametrize(
    ("path", "raw", "needle"),
    [
        (f"{PREFIX}/campaigns", '{"visitor_id": "\\ud800x"}', "visitor_id is not valid text"),
        (f"{PREFIX_V2}/campaigns", '{"visitorId": "\\udfff"}', "visitorId is not valid text"),
        (
            f"{PREFIX_V2}/campaigns/c-text",
            '{"visitorId": "v", "anonymousId": "\\udfff"}',
            "anonymousId is not valid text",
        ),
        (
            f"{PREFIX_V2}/campaigns",
            '{"visitorId": "v", "context": {"\\udfff": 1}}',
            "a key in context is not valid text",
        ),
        (
            f"{PREFIX_V2}/campaigns",
            '{"visitorId": "v", "context": {"plan": "\\ud800"}}',
            "context.plan is not valid text",
        ),
        (
            f"{PREFIX_V2}/campaigns",
            '{"visitorId": "v", "context": {"tags": ["a", "\\ud800"]}}',
            "context.tags[1] is not valid text",
        ),
        (
            f"{PREFIX_V2}/campaigns",
            '{"visitorId": "v", "decisionGroup": "\\ud800"}',
            "decisionGroup is not valid text",
        ),
        (
            "/decision-api/v1/activate",
            json.dumps({"cid": ENV_ID, "caid": "vg-ab", "vaid": "var-ab-red"})[:-1]
            + ', "vid": "\\ud800"}',
            "vid is not valid text",
        ),
        (
            "/decision-api/v2/activate",
            json.dumps({"cid": ENV_ID, "caid": "vg-ab", "vaid": "var-ab-red"})[:-1]
            + ', "vid": "\\udfff"}',
            "vid is not valid text",
        ),
        (
            "/decision-api/v2/activate",
            '{"cid": "' + ENV_ID + '", "batch": ['
            '{"vid": "ok", "caid": "vg-ab", "vaid": "var-ab-red"}, '
            '{"vid": "v", "aid": "\\udfff", "caid": "vg-ab", "vaid": "var-ab-red"}]}',
            "batch[1].aid is not valid text",
        ),
    ],
)
def test_a_lone_surrogate_is_400_and_nothing_is_tracked(served, api, path, raw, needle):
    response = api.post(path, raw=raw)
    assert_json_400(response, needle)
    assert served.activations == []


def test_a_surrogate_in_the_context_parameter_is_400(served, api):
    response = api.get(
        f"{PREFIX}/campaigns/c-text", {"visitorId": "v", "context": '{"a": "\\ud800"}'}
    )
    assert_json_400(response, "the context parameter: a is not valid text")
    assert served.activations == []


def test_a_surrogate_pair_is_an_ordinary_visitor_id(served, api):
    response = api.post(f"{PREFIX_V2}/campaigns", raw='{"visitorId": "\\ud83d\\ude00"}')
    assert response.status_code == 200
    assert response.json()["visitorId"] == "😀"
    assert {a.visitor_id for a in served.activations} == {"😀"}


def test_every_accepted_activation_reaches_a_utf8_log(served, api, monkeypatch):
    """The log sink writes each activation answered 204; a surrogate once made it fail silently."""
    from django_flagship.sdk.tracking import LogTracker

    stream = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", write_through=True)
    logger = logging.getLogger("tests.decision_api.activations")
    logger.setLevel(logging.INFO)
    logger.propagate = False
    handler = logging.StreamHandler(stream)
    logger.addHandler(handler)
    monkeypatch.setattr(served.client, "tracker", LogTracker(logger))
    try:
        accepted = 0
        for vid in ("visitor-é", "\ud800", "\udfff-x", "😀"):
            body = {"cid": ENV_ID, "vid": vid, "caid": "vg-ab", "vaid": "var-ab-red"}
            response = api.post("/decision-api/v1/activate", raw=json.dumps(body))
            if response.status_code == 204:
                accepted += 1
            else:
                assert_json_400(response, "vid is not valid text")
    finally:
        logger.removeHandler(handler)
    lines = stream.buffer.getvalue().decode("utf-8").splitlines()
    assert accepted == 2
    assert len(lines) == accepted
    assert [json.loads(line)["vid"] for line in lines] == ["visitor-é", "😀"]
