import json

import pytest
import requests
import responses

from django_flagship.sdk.decision_api import (
    CircuitBreaker,
    DecisionApiClient,
    DecisionError,
    parse_campaigns,
    scrub_secret,
)

URL = "https://decision.example.test/v2/env123/campaigns"

CAMPAIGN = {
    "id": "c1",
    "name": "Checkout",
    "slug": "checkout",
    "type": "ab",
    "variationGroupId": "vg1",
    "variationGroupName": "All",
    "variation": {
        "id": "var1",
        "name": "Red",
        "reference": False,
        "modifications": {"type": "FLAG", "value": {"btnColor": "red", "other": None}},
    },
}


def make_client(**kwargs):
    return DecisionApiClient(
        "env123",
        "secret-api-key",
        base_url="https://decision.example.test/v2/",
        timeout=kwargs.pop("timeout", 1.5),
        **kwargs,
    )


@responses.activate
def test_request_shape_field_by_field():
    responses.post(URL, json={"visitorId": "v1", "campaigns": [CAMPAIGN]})
    result = make_client().fetch("v1", {"age": 31, "vip": True, "fs_client": "python"})

    call = responses.calls[0]
    assert call.request.url == URL + "?exposeAllKeys=true"
    headers = call.request.headers
    assert headers["x-api-key"] == "secret-api-key"
    assert headers["x-sdk-client"] == "python"
    assert headers["x-sdk-version"]
    assert headers["Content-Type"] == "application/json"
    assert json.loads(call.request.body) == {
        "visitorId": "v1",
        "anonymousId": None,
        "visitor_consent": True,
        "trigger_hit": False,
        "context": {"age": 31, "vip": True, "fs_client": "python"},
    }
    [assignment] = result.assignments
    assert assignment.campaign_id == "c1"
    assert assignment.variation_group_id == "vg1"
    assert assignment.variation_id == "var1"
    assert assignment.flags == {"btnColor": "red", "other": None}
    assert assignment.slug == "checkout"
    assert assignment.campaign_type == "ab"
    assert assignment.reference is False
    assert result.panic is False


@responses.activate
def test_authenticated_visitor_and_no_consent():
    responses.post(URL, json={"campaigns": []})
    make_client().fetch("logged", {}, anonymous_id="anon-1", consent=False)
    body = json.loads(responses.calls[0].request.body)
    assert body["visitorId"] == "logged"
    assert body["anonymousId"] == "anon-1"
    assert body["visitor_consent"] is False


@responses.activate
def test_timeout_is_passed_in_seconds():
    seen = {}

    def callback(request):
        seen["timeout"] = request.req_kwargs["timeout"]
        return (200, {}, json.dumps({"campaigns": []}))

    responses.add_callback(responses.POST, URL, callback=callback)
    make_client(timeout=0.25).fetch("v", {})
    assert seen["timeout"] == 0.25


@responses.activate
def test_panic():
    responses.post(URL, json={"visitorId": "v1", "campaigns": [], "panic": True})
    result = make_client().fetch("v1", {})
    assert result.panic is True
    assert result.assignments == []


@responses.activate
def test_204_means_no_campaign():
    responses.post(URL, status=204)
    assert make_client().fetch("v1", {}).assignments == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"status": 500, "body": "boom"}, "answered 500"),
        ({"status": 403, "json": {"message": "Forbidden"}}, "answered 403"),
        ({"status": 200, "body": "<html>502</html>"}, "not JSON"),
        ({"status": 200, "body": '{"campaigns": ' + "[" * 5_000}, "not JSON.*deeper than 64"),
        ({"status": 200, "body": '{"visitorId": "\\udfff"}'}, "visitorId is not valid text"),
        ({"status": 200, "json": [1, 2]}, "not an object"),
        ({"status": 200, "json": {"message": "x"}}, "no campaigns list"),
        ({"body": requests.ConnectTimeout()}, "did not answer within 1.5 s"),
        ({"body": requests.ConnectionError("refused")}, "could not be reached"),
    ],
)
@responses.activate
def test_failures_raise_decision_error_without_the_key(kwargs, message):
    responses.post(URL, **kwargs)
    with pytest.raises(DecisionError, match=message) as info:
        make_client().fetch("v1", {})
    assert "secret-api-key" not in str(info.value)


def test_malformed_campaigns_are_skipped_and_reported():
    errors = []
    body = {
        "campaigns": [
            "junk",
            {"id": "c2"},
            {"id": "c3", "variationGroupId": "vg", "variation": {"id": "v", "modifications": 5}},
            {**CAMPAIGN, "id": "c4"},
            {
                "id": "c5",
                "variationGroupId": "vg",
                "variation": {"id": "v", "modifications": {"value": ["a"]}},
            },
        ]
    }
    result = parse_campaigns(body, errors.append)
    assert [a.campaign_id for a in result.assignments] == ["c4"]
    assert len(errors) == 4
    assert any("c2" in e and "variationGroupId" in e for e in errors)
    assert any("c3" in e for e in errors)
    assert any("c5" in e for e in errors)


def test_reference_defaults_to_false_and_type_to_flag():
    body = {"campaigns": [{"id": "c", "variationGroupId": "g", "variation": {"id": "v"}}]}
    [assignment] = parse_campaigns(body).assignments
    assert assignment.reference is False
    assert assignment.modification_type == "FLAG"
    assert assignment.flags == {}


class FakeClock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_circuit_breaker_opens_then_lets_one_trial_through():
    clock = FakeClock()
    breaker = CircuitBreaker(failures=2, cooldown=10, clock=clock)
    assert breaker.allow()
    breaker.record_failure()
    assert breaker.allow()
    breaker.record_failure()
    assert breaker.is_open
    assert not breaker.allow()
    clock.now += 10
    assert breaker.allow()  # the trial
    assert not breaker.allow()  # only one at a time
    breaker.record_failure()
    assert not breaker.allow()
    clock.now += 10
    assert breaker.allow()
    breaker.record_success()
    assert not breaker.is_open
    assert breaker.allow()


@responses.activate
def test_open_circuit_makes_no_http_call():
    responses.post(URL, status=503)
    client = make_client(breaker=CircuitBreaker(failures=2, cooldown=60))
    for _ in range(2):
        with pytest.raises(DecisionError, match="503"):
            client.fetch("v", {})
    with pytest.raises(DecisionError, match="circuit breaker open"):
        client.fetch("v", {})
    assert len(responses.calls) == 2


@responses.activate
def test_client_errors_do_not_open_the_circuit():
    responses.post(URL, status=400, json={"message": "bad"})
    client = make_client(breaker=CircuitBreaker(failures=1, cooldown=60))
    for _ in range(3):
        with pytest.raises(DecisionError, match="400"):
            client.fetch("v", {})
    assert len(responses.calls) == 3


def test_repr_hides_the_key():
    assert "secret-api-key" not in repr(make_client())


# -- the API key never appears in a message -------------------------------------------

KEY = "secret-api-key"


def _padded(before):
    """A body where the key starts ``before`` characters in (short_text keeps 200)."""
    return "x" * before + " " + KEY + " tail"


@pytest.mark.parametrize("status", [400, 401, 403, 404, 429, 500, 502, 503])
@pytest.mark.parametrize(
    "body",
    [
        f"invalid api key {KEY}",
        json.dumps({"message": f"API key {KEY!r} is not valid", "key": KEY}),
        _padded(150),
        _padded(190),  # the 200-character cut falls inside the key
        _padded(194),
        KEY * 30,
    ],
)
@responses.activate
def test_an_error_body_echoing_the_key_is_scrubbed(status, body):
    responses.post(URL, status=status, body=body)
    with pytest.raises(DecisionError, match=f"answered {status}") as info:
        make_client().fetch("v1", {})
    message = str(info.value)
    assert KEY not in message
    assert KEY[:4] not in message
    assert "***" in message


@pytest.mark.parametrize("before", [10, 70, 73, 76])
@responses.activate
def test_a_body_that_is_not_json_echoing_the_key_is_scrubbed(before):
    responses.post(URL, status=200, body="<html>" + "y" * before + KEY + "</html>")
    with pytest.raises(DecisionError, match="not JSON") as info:
        make_client().fetch("v1", {})
    assert KEY[:4] not in str(info.value)


@responses.activate
def test_reports_of_malformed_campaigns_are_scrubbed():
    campaigns = [
        KEY,
        "z" * 60 + KEY,  # repr cut at 80 characters, inside the key
        {"id": KEY},
        {"id": "c", "variationGroupId": "vg", "variation": {"id": "v", "modifications": KEY}},
    ]
    responses.post(URL, json={"campaigns": campaigns})
    errors = []
    assert make_client().fetch("v1", {}, on_error=errors.append).assignments == []
    assert len(errors) == 4
    for error in errors:
        assert KEY[:4] not in error, error


@responses.activate
def test_the_visitor_logs_and_last_error_never_show_the_key(caplog):
    from django_flagship.sdk import Config, Flagship
    from django_flagship.sdk.tracking import MemoryTracker

    responses.post(URL, status=403, json={"message": f"Forbidden: x-api-key {KEY}"})
    client = Flagship(
        Config("env123", KEY, decision_api_url="https://decision.example.test/v2"),
        tracker=MemoryTracker(),
    )
    try:
        with caplog.at_level("DEBUG", logger="django_flagship"):
            visitor = client.create_visitor("v1", {"plan": "gold"})
            assert visitor.synchronize_modifications() is False
    finally:
        client.stop()
    assert "answered 403" in visitor.last_error
    assert KEY not in visitor.last_error
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert 'answered 403: {"message": "Forbidden: x-api-key ***"}' in logged
    assert KEY not in logged
    assert KEY not in caplog.text


@pytest.mark.parametrize(
    "key",
    ["k/ey-1234", 'quo"te-1234', "back\\slash-1234", "unicode-é-1234", "sp ace&1234"],
)
def test_scrub_finds_escaped_forms_of_the_key(key):
    import urllib.parse

    texts = [
        key,
        json.dumps({"k": key}),
        json.dumps({"k": key}, ensure_ascii=False),
        json.dumps({"k": key}).replace("/", "\\/"),
        repr({"k": key}),
        urllib.parse.urlencode({"k": key}).removeprefix("k="),
        urllib.parse.quote(key, safe=""),
    ]
    for text in texts:
        scrubbed = scrub_secret(f"before {text} after", key)
        assert "***" in scrubbed, text
        assert key[:4] not in scrubbed, (text, scrubbed)


def test_scrub_leaves_other_text_alone():
    assert scrub_secret("nothing to hide", KEY) == "nothing to hide"
    assert scrub_secret("a short cut…", KEY) == "a short cut…"
    assert scrub_secret("ends with secr…", KEY) == "ends with ***…"
    assert scrub_secret("ends with sec…", KEY) == "ends with sec…"  # three characters
    assert scrub_secret(f"no key: {KEY}", "") == f"no key: {KEY}"
