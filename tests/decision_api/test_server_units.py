"""The Django-light helpers behind the views."""

from __future__ import annotations

import pytest

from django_flagship.decision_api.index import BucketIndex
from django_flagship.decision_api.keys import check_api_key
from django_flagship.decision_api.parsing import is_http_url, parse_decision_request, parse_flag
from django_flagship.decision_api.wire import ApiError


@pytest.mark.parametrize(
    ("given", "accepted", "ok"),
    [
        ("k1", ["k1"], True),
        ("k2", ["k1", "k2"], True),
        ("k1 ", ["k1"], False),
        ("K1", ["k1"], False),
        ("", ["k1"], False),
        (None, ["k1"], False),
        ("k1", [], False),
        ("clé", ["clé"], True),
        ("clé", ["cle"], False),
    ],
)
def test_check_api_key(given, accepted, ok):
    assert check_api_key(given, accepted) is ok


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://example.com", True),
        ("http://example.com/a?b=c#d", True),
        ("HTTPS://EXAMPLE.COM/", True),
        ("https://example.com/" + "a" * 2100, False),
        ("//example.com/a", False),
        ("/local/path", False),
        ("https:/example.com", False),
        ("javascript:alert(1)", False),
        ("ftp://example.com/file", False),
        ("https://exa mple.com", False),
        ("https://example.com/\nLocation: x", False),
        ("https://example.com\\@evil.example", False),
        ("https://[::1", False),
        ("", False),
        (None, False),
        (3, False),
    ],
)
def test_is_http_url(url, ok):
    assert is_http_url(url) is ok


def test_activate_false_wins_over_trigger_hit_true():
    request = parse_decision_request({"visitorId": "v", "trigger_hit": True, "activate": False})
    assert request.trigger_hit is False
    assert parse_decision_request({"visitorId": "v"}).trigger_hit is True


def test_every_field_in_both_spellings():
    body = {
        "visitorId": "v",
        "anonymous_id": "a",
        "decisionGroup": "g",
        "formatResponse": True,
        "visitorConsent": False,
        "defaultRedirectUrl": "https://example.com",
        "clientId": "x",
        "campaign_id": "c",
        "customVisitorId": "cv",
        "context": {"k": [1, "2"]},
    }
    request = parse_decision_request(body)
    assert (request.visitor_id, request.anonymous_id, request.decision_group) == ("v", "a", "g")
    assert request.format_response is True
    assert request.visitor_consent is False
    assert request.default_redirect_url == "https://example.com"
    assert request.context == {"k": [1, "2"]}


@pytest.mark.parametrize(
    ("raw", "value"),
    [("true", True), ("FALSE", False), ("1", True), ("0", False), (None, None), ("", None)],
)
def test_parse_flag(raw, value):
    assert parse_flag("x", raw) is value


def test_parse_flag_refuses_other_words():
    with pytest.raises(ApiError) as caught:
        parse_flag("exposeAllKeys", "yes")
    assert caught.value.status == 400
    assert caught.value.body == {"message": "exposeAllKeys must be true or false"}


def test_bucket_index_reads_what_a_bucket_may_hold():
    index = BucketIndex(
        {
            "campaigns": [
                {
                    "id": "c1",
                    "slug": "one",
                    "variation_groups": [  # snake_case, as protojson accepts
                        {
                            "id": "g1",
                            "variations": [
                                {"id": "a", "modifications": {"value": {"x": 1, "y": None}}},
                                {"id": "b", "modifications": {"value": {"z": 2, "x": 3}}},
                                {"id": "c"},
                                "garbage",
                            ],
                        },
                        {"name": "no id"},
                    ],
                },
                {"id": "c1", "slug": "dup", "variationGroups": [{"id": "g-dup", "variations": []}]},
                {"no": "id"},
                None,
            ]
        }
    )
    assert index.campaigns == {"c1": "c1", "one": "c1"}
    assert index.group_keys == {"g1": ("x", "y", "z")}
    assert index.variations == {"g1": frozenset({"a", "b", "c"})}


@pytest.mark.parametrize("data", [None, {}, {"campaigns": "no"}, []])
def test_bucket_index_of_nothing(data):
    index = BucketIndex(data)
    assert (index.campaigns, index.group_keys, index.variations) == ({}, {}, {})
