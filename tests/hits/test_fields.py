"""Every field of every hit type, as the loopback collector receives it."""

import json
import time
from decimal import Decimal

import pytest

from django_flagship import __version__
from django_flagship.sdk import Config, Flagship, Mode
from django_flagship.sdk.hits import (
    Event,
    EventCategory,
    Item,
    Page,
    Screen,
    Transaction,
)

from .collector import ACTIVATE_PATH, EVENTS_PATH
from .conftest import ENV

BUCKET = {
    "panic": False,
    "accountSettings": {"enabledXPC": False, "enabled1V1T": False},
    "campaigns": [
        {
            "id": "c-1",
            "type": "ab",
            "variationGroups": [
                {
                    "id": "vg-1",
                    "targeting": {
                        "targetingGroups": [
                            {
                                "targetings": [
                                    {"key": "fs_all_users", "operator": "EQUALS", "value": ""}
                                ]
                            }
                        ]
                    },
                    "variations": [
                        {
                            "id": "var-1",
                            "allocation": 100,
                            "modifications": {"type": "FLAG", "value": {"btn": "red"}},
                        }
                    ],
                }
            ],
        }
    ],
}


@pytest.fixture
def client(tmp_path, collector, make_tracker):
    bucket = tmp_path / "bucketing.json"
    bucket.write_text(json.dumps(BUCKET))
    config = Config(
        ENV,
        mode=Mode.BUCKETING,
        bucket_file=bucket,
        events_url=collector.events_url,
        activate_url=collector.activate_url,
    )
    flagship = Flagship(config, tracker=make_tracker())
    yield flagship
    flagship.stop()


def received(collector, client):
    assert client.tracker.flush(5)
    return collector.hits()


def common(hit):
    return (
        hit.with_ip("203.0.113.7")
        .with_resolution(1280, 720)
        .with_locale("fr-FR")
        .with_session_number(3)
        .with_session_timestamp(1_700_000_000_000)
    )


COMMON = {"uip": "203.0.113.7", "sr": "1280x720", "ul": "fr-FR", "sn": 3, "cst": 1_700_000_000_000}


def strip_qt(hit):
    qt = hit.pop("qt")
    assert isinstance(qt, int)
    assert 0 <= qt < 10_000
    return hit


def test_the_batch_envelope_and_headers(client, collector):
    visitor = client.create_visitor("v1")
    visitor.send_hit(Screen("home"))
    received(collector, client)
    [request] = collector.accepted(EVENTS_PATH)
    assert set(request.body) == {"cid", "t", "ds", "h"}
    assert (request.body["cid"], request.body["t"], request.body["ds"]) == (ENV, "BATCH", "APP")
    assert request.headers["content-type"] == "application/json"
    assert request.headers["x-sdk-client"] == "python"
    assert request.headers["x-sdk-version"] == __version__
    assert "x-api-key" not in request.headers
    assert "authorization" not in request.headers


def test_page_with_every_common_field(client, collector):
    client.create_visitor("v1").send_hit(common(Page("https://shop.example/cart?step=2")))
    [hit] = received(collector, client)
    assert strip_qt(hit) == {
        "t": "PAGEVIEW",
        "ds": "APP",
        "dl": "https://shop.example/cart?step=2",
        **COMMON,
        "vid": "v1",
        "cuid": None,
    }


def test_page_with_the_seeds_interface_and_script_names(client, collector):
    """``Page(origin)`` takes what the seed allows; the collector gets SCREENVIEWs for names."""
    visitor = client.create_visitor("v1")
    for origin in ("checkout_interface", "nightly_export.py", "https://shop.example/"):
        assert visitor.send_hit(Page(origin)) is True
    hits = received(collector, client)
    assert [(h["t"], h["dl"]) for h in hits] == [
        ("SCREENVIEW", "checkout_interface"),
        ("SCREENVIEW", "nightly_export.py"),
        ("PAGEVIEW", "https://shop.example/"),
    ]


def test_screen(client, collector):
    client.create_visitor("v1").send_hit(common(Screen("checkout")))
    [hit] = received(collector, client)
    assert strip_qt(hit) == {
        "t": "SCREENVIEW",
        "ds": "APP",
        "dl": "checkout",
        **COMMON,
        "vid": "v1",
        "cuid": None,
    }


def test_event(client, collector):
    hit = (
        Event(EventCategory.USER_ENGAGEMENT, "signup")
        .with_event_label("footer")
        .with_event_value(5)
    )
    client.create_visitor("v1").send_hit(common(hit))
    [got] = received(collector, client)
    assert strip_qt(got) == {
        "t": "EVENT",
        "ds": "APP",
        "ec": "User Engagement",
        "ea": "signup",
        "el": "footer",
        "ev": 5,
        **COMMON,
        "vid": "v1",
        "cuid": None,
    }


def test_transaction(client, collector):
    hit = (
        Transaction("#309830", "purchases")
        .with_total_revenue(Decimal("42.50"))
        .with_shipping_cost(4.99)
        .with_shipping_method("express")
        .with_taxes(7)
        .with_currency("EUR")
        .with_payment_method("card")
        .with_item_count(2)
        .with_coupon_code("WELCOME")
    )
    client.create_visitor("v1").send_hit(common(hit))
    [got] = received(collector, client)
    assert strip_qt(got) == {
        "t": "TRANSACTION",
        "ds": "APP",
        "tid": "#309830",
        "ta": "purchases",
        "tr": 42.5,
        "ts": 4.99,
        "sm": "express",
        "tt": 7,
        "tc": "EUR",
        "pm": "card",
        "icn": 2,
        "tcc": "WELCOME",
        **COMMON,
        "vid": "v1",
        "cuid": None,
    }


def test_item(client, collector):
    hit = (
        Item("#309830", "Red shoes", "SKU-42")
        .with_price(59.9)
        .with_item_quantity(2)
        .with_item_category("shoes")
    )
    client.create_visitor("v1").send_hit(common(hit))
    [got] = received(collector, client)
    assert strip_qt(got) == {
        "t": "ITEM",
        "ds": "APP",
        "tid": "#309830",
        "in": "Red shoes",
        "ic": "SKU-42",
        "ip": 59.9,
        "iq": 2,
        "iv": "shoes",
        **COMMON,
        "vid": "v1",
        "cuid": None,
    }


def test_segment_and_activation_from_a_bucketing_decision(client, collector):
    visitor = client.create_visitor("v1", {"isVip": True, "age": 31, "ratio": 1.5, "plan": "gold"})
    visitor.synchronize_modifications()
    assert visitor.get_modification("btn", "blue", activate=True) == "red"
    [segment] = received(collector, client)
    assert strip_qt(segment) == {
        "t": "SEGMENT",
        "ds": "APP",
        "s": {
            "isVip": "true",
            "age": "31",
            "ratio": "1.5",
            "plan": "gold",
            "fs_client": "python",
            "fs_version": __version__,
        },
        "vid": "v1",
        "cuid": None,
    }
    [request] = collector.accepted(ACTIVATE_PATH)
    assert request.headers["content-type"] == "application/json"
    assert "x-api-key" not in request.headers
    assert set(request.body) == {"cid", "batch"}
    assert request.body["cid"] == ENV
    [item] = request.body["batch"]
    assert strip_qt(item) == {"vid": "v1", "aid": None, "caid": "vg-1", "vaid": "var-1"}


def test_an_authenticated_visitor_swaps_ids_between_hits_and_activations(client, collector):
    visitor = client.create_visitor("anon-1")
    visitor.authenticate("user-9")
    visitor.synchronize_modifications()
    visitor.send_hit(Screen("account"))
    visitor.activate_modification("btn")
    hits = received(collector, client)
    screen = next(h for h in hits if h["t"] == "SCREENVIEW")
    assert (screen["vid"], screen["cuid"]) == ("anon-1", "user-9")
    [activation] = collector.activations()
    assert (activation["vid"], activation["aid"]) == ("user-9", "anon-1")


def test_consent_refused_sends_only_the_consent_hit(client, collector):
    visitor = client.create_visitor("v1")
    visitor.set_consent(False)
    visitor.send_hit(Page("https://shop.example/"))
    visitor.synchronize_modifications()
    visitor.activate_modification("btn")
    [consent] = received(collector, client)
    assert strip_qt(consent) == {
        "t": "EVENT",
        "ds": "APP",
        "ec": "User Engagement",
        "ea": "fs_consent",
        "el": "python:false",
        "vid": "v1",
        "cuid": None,
    }
    assert collector.activations() == []


def test_queue_time_counts_the_wait_in_the_queue(client, collector):
    visitor = client.create_visitor("v1")
    visitor.send_hit(Screen("slow"))
    item_created = time.time()
    time.sleep(0.2)  # the wait being measured, not a synchronisation
    [hit] = received(collector, client)
    waited_ms = (time.time() - item_created) * 1000
    assert 200 <= hit["qt"] <= waited_ms + 50
