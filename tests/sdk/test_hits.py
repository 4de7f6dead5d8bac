import json
import time
from decimal import Decimal

import pytest

from django_flagship.sdk.hits import (
    HIT_EXPIRATION_SECONDS,
    Activation,
    Consent,
    Event,
    EventCategory,
    Hit,
    HitType,
    InvalidHitError,
    Item,
    Page,
    Screen,
    Segment,
    Transaction,
    queue_time_ms,
)


def assert_invalid(hit, field, *fragments):
    with pytest.raises(InvalidHitError) as info:
        hit.validate()
    assert info.value.field == field
    message = str(info.value)
    assert f"'{field}'" in message
    for fragment in fragments:
        assert fragment in message
    if isinstance(hit, Hit):
        assert not hit.is_valid()
    return info.value


# --- payloads, field by field -------------------------------------------------


def test_page_payload():
    hit = Page("https://www.example.com/a?b=1")
    hit.validate()
    assert hit.to_payload() == {
        "t": "PAGEVIEW",
        "ds": "APP",
        "dl": "https://www.example.com/a?b=1",
    }
    assert hit.hit_type is HitType.PAGEVIEW


def test_screen_payload():
    hit = Screen("checkout")
    hit.validate()
    assert hit.to_payload() == {"t": "SCREENVIEW", "ds": "APP", "dl": "checkout"}


def test_event_payload_with_every_builder():
    hit = (
        Event(EventCategory.ACTION_TRACKING, "click")
        .with_event_label("basket button")
        .with_event_value(5)
    )
    hit.validate()
    payload = hit.to_payload()
    assert payload == {
        "t": "EVENT",
        "ds": "APP",
        "ec": "Action Tracking",
        "ea": "click",
        "el": "basket button",
        "ev": 5,
    }
    # The category goes out as plain text, not as an enum.
    assert type(payload["ec"]) is str


def test_event_accepts_the_category_text():
    hit = Event("User Engagement", "signup")
    hit.validate()
    assert hit.to_payload()["ec"] == "User Engagement"


def test_event_category_values():
    assert EventCategory.ACTION_TRACKING.value == "Action Tracking"
    assert EventCategory.USER_ENGAGEMENT.value == "User Engagement"
    assert len(EventCategory) == 2


def test_transaction_payload_with_every_builder():
    hit = (
        Transaction("#309830", "purchases")
        .with_total_revenue(42.5)
        .with_shipping_cost(3)
        .with_shipping_method("post")
        .with_taxes(Decimal("7.08"))
        .with_currency("EUR")
        .with_payment_method("card")
        .with_item_count(2)
        .with_coupon_code("SPRING")
    )
    hit.validate()
    payload = hit.to_payload()
    assert payload == {
        "t": "TRANSACTION",
        "ds": "APP",
        "tid": "#309830",
        "ta": "purchases",
        "tr": 42.5,
        "ts": 3,
        "sm": "post",
        "tt": 7.08,
        "tc": "EUR",
        "pm": "card",
        "icn": 2,
        "tcc": "SPRING",
    }
    # A Decimal is sent as a JSON number.
    assert type(payload["tt"]) is float
    assert json.loads(json.dumps(payload)) == payload


def test_item_payload_with_every_builder():
    hit = (
        Item("#309830", "ATX2080", "cg_atx_20802020")
        .with_price(199.99)
        .with_item_category("gpu")
        .with_item_quantity(1)
    )
    hit.validate()
    assert hit.to_payload() == {
        "t": "ITEM",
        "ds": "APP",
        "tid": "#309830",
        "in": "ATX2080",
        "ic": "cg_atx_20802020",
        "ip": 199.99,
        "iv": "gpu",
        "iq": 1,
    }


def test_common_builders_on_every_hit_type():
    hits = [
        Page("https://example.com/"),
        Screen("home"),
        Event(EventCategory.USER_ENGAGEMENT, "a"),
        Transaction("t", "a"),
        Item("t", "n", "c"),
        Segment({"k": "v"}),
        Consent(True),
    ]
    for hit in hits:
        same = (
            hit.with_ip("203.0.113.7")
            .with_resolution(640, 480)
            .with_locale("fr-FR")
            .with_session_timestamp(1_700_000_000_000)
            .with_session_number(3)
        )
        assert same is hit
        hit.validate()
        payload = hit.to_payload()
        assert payload["uip"] == "203.0.113.7"
        assert payload["sr"] == "640x480"
        assert payload["ul"] == "fr-FR"
        assert payload["cst"] == 1_700_000_000_000
        assert payload["sn"] == 3
        # The IP is "uip"; "ip" is an item's price and must not appear here.
        assert "ip" not in payload or isinstance(hit, Item)


def test_every_builder_returns_the_hit():
    transaction = Transaction("t", "a")
    for name, arg in [
        ("with_total_revenue", 1),
        ("with_shipping_cost", 1),
        ("with_shipping_method", "x"),
        ("with_taxes", 1),
        ("with_currency", "USD"),
        ("with_payment_method", "x"),
        ("with_item_count", 1),
        ("with_coupon_code", "x"),
    ]:
        assert getattr(transaction, name)(arg) is transaction
    item = Item("t", "n", "c")
    for name, arg in [("with_price", 1), ("with_item_category", "x"), ("with_item_quantity", 1)]:
        assert getattr(item, name)(arg) is item
    event = Event(EventCategory.ACTION_TRACKING, "a")
    assert event.with_event_label("x") is event
    assert event.with_event_value(1) is event


@pytest.mark.parametrize(("width", "height"), [(0, 480), (640, 0), (0, 0)])
def test_resolution_is_left_out_unless_both_sides_are_positive(width, height):
    hit = Screen("home").with_resolution(width, height)
    hit.validate()
    assert "sr" not in hit.to_payload()


def test_payload_never_carries_visitor_fields():
    payload = Page("https://example.com/").with_ip("::1").to_payload()
    for key in ("vid", "cuid", "cid", "qt", "aid", "ip"):
        assert key not in payload


def test_payload_is_a_fresh_dict():
    hit = Screen("home")
    hit.to_payload()["dl"] = "changed"
    assert hit.to_payload()["dl"] == "home"


def test_segment_payload_turns_values_into_text():
    context = {"plan": "gold", "vip": True, "off": False, "age": 31, "ratio": 1.5}
    hit = Segment(context)
    hit.validate()
    assert hit.to_payload() == {
        "t": "SEGMENT",
        "ds": "APP",
        "s": {"plan": "gold", "vip": "true", "off": "false", "age": "31", "ratio": "1.5"},
    }


def test_segment_writes_lists_as_the_decision_api_server_does():
    """Go's ``%v`` of the context's list: elements in order, space-separated, in brackets."""
    hit = Segment({"tags": ["beta", "news"], "mixed": (1, 2.5, True, "x y"), "none": []})
    hit.validate()
    assert hit.to_payload()["s"] == {
        "tags": "[beta news]",
        "mixed": "[1 2.5 true x y]",
        "none": "[]",
    }


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (31.0, "31"),
        (31, "31"),
        (1.5, "1.5"),
        (-2.5, "-2.5"),
        (100.0, "100"),
        (999999, "999999"),
        (1_000_000, "1e+06"),
        (1234567.0, "1.234567e+06"),
        (0.0001, "0.0001"),
        (0.00001, "1e-05"),
        (1e21, "1e+21"),
        (0.1, "0.1"),
        (2**53 + 1, "9.007199254740992e+15"),
        (10**400, str(10**400)),
    ],
)
def test_segment_writes_numbers_as_go_writes_a_float64(value, text):
    """The server's context numbers are float64, written by ``%v`` (fmt's shortest %g)."""
    hit = Segment({"n": value, "in_list": [value]})
    assert hit.to_payload()["s"] == {"n": text, "in_list": f"[{text}]"}


def test_segment_copies_the_context():
    tags = ["beta"]
    context = {"a": 1, "tags": tags}
    hit = Segment(context)
    context["b"] = 2
    tags.append("news")
    assert hit.to_payload()["s"] == {"a": "1", "tags": "[beta]"}


def test_segment_accepts_an_empty_context():
    hit = Segment({})
    hit.validate()
    assert hit.to_payload()["s"] == {}


@pytest.mark.parametrize(("consented", "label"), [(True, "python:true"), (False, "python:false")])
def test_consent_event(consented, label):
    hit = Consent(consented)
    hit.validate()
    assert isinstance(hit, Event)
    assert hit.consented is consented
    assert hit.to_payload() == {
        "t": "EVENT",
        "ds": "APP",
        "ec": "User Engagement",
        "ea": "fs_consent",
        "el": label,
    }


def test_repr_is_readable():
    hit = Event(EventCategory.ACTION_TRACKING, "click").with_event_value(5).with_resolution(1, 2)
    assert repr(hit) == "Event(ec='Action Tracking', ea='click', ev=5, resolution=(1, 2))"
    assert repr(Page("https://e.com/")) == "Page(dl='https://e.com/')"


def test_equality_compares_type_and_fields():
    assert Screen("a").with_locale("fr") == Screen("a").with_locale("fr")
    assert Screen("a") != Screen("b")
    assert Screen("https://e.com/") != Page("https://e.com/")
    assert Screen("a").with_resolution(1, 2) != Screen("a")


def test_builders_never_raise_on_bad_values():
    hit = (
        Transaction(None, 5)  # type: ignore[arg-type]
        .with_total_revenue("12")  # type: ignore[arg-type]
        .with_item_count(1.5)  # type: ignore[arg-type]
        .with_resolution("a", None)  # type: ignore[arg-type]
        .with_ip(12)  # type: ignore[arg-type]
    )
    assert not hit.is_valid()
    Event(object(), 3).with_event_value(-1)  # type: ignore[arg-type]


# --- validation errors ----------------------------------------------------------


@pytest.mark.parametrize(
    ("hit", "field"),
    [
        (Page(""), "dl"),
        (Page("   "), "dl"),
        (Screen(""), "dl"),
        (Event(EventCategory.ACTION_TRACKING, ""), "ea"),
        (Transaction("", "a"), "tid"),
        (Transaction("t", ""), "ta"),
        (Item("", "n", "c"), "tid"),
        (Item("t", "", "c"), "in"),
        (Item("t", "n", ""), "ic"),
        (Event(EventCategory.ACTION_TRACKING, "a").with_event_label(""), "el"),
        (Transaction("t", "a").with_payment_method(""), "pm"),
        (Item("t", "n", "c").with_item_category(""), "iv"),
        (Screen("a").with_locale(""), "ul"),
    ],
)
def test_empty_strings_are_refused(hit, field):
    assert_invalid(hit, field, "must not be empty")


@pytest.mark.parametrize(
    ("hit", "field"),
    [
        (Page(None), "dl"),  # type: ignore[arg-type]
        (Screen(None), "dl"),  # type: ignore[arg-type]
        (Event(EventCategory.ACTION_TRACKING, None), "ea"),  # type: ignore[arg-type]
        (Event(None, "a"), "ec"),  # type: ignore[arg-type]
        (Transaction(None, "a"), "tid"),  # type: ignore[arg-type]
        (Item("t", None, "c"), "in"),  # type: ignore[arg-type]
        (Segment(None), "s"),  # type: ignore[arg-type]
    ],
)
def test_missing_required_fields_are_refused(hit, field):
    assert_invalid(hit, field, "is required")


@pytest.mark.parametrize(
    ("hit", "field", "type_name"),
    [
        (Screen(12), "dl", "int"),  # type: ignore[arg-type]
        (Event(EventCategory.ACTION_TRACKING, b"x"), "ea", "bytes"),  # type: ignore[arg-type]
        (Transaction("t", "a").with_shipping_method(1), "sm", "int"),  # type: ignore[arg-type]
        (Transaction("t", "a").with_coupon_code(True), "tcc", "bool"),  # type: ignore[arg-type]
        (Transaction("t", "a").with_currency(978), "tc", "int"),  # type: ignore[arg-type]
        (Screen("a").with_ip(3232235777), "uip", "int"),  # type: ignore[arg-type]
        (Screen("a").with_locale(["fr"]), "ul", "list"),  # type: ignore[arg-type]
        (Segment([("a", 1)]), "s", "list"),  # type: ignore[arg-type]
    ],
)
def test_wrong_string_types_are_refused(hit, field, type_name):
    assert_invalid(hit, field, type_name)


@pytest.mark.parametrize(
    ("builder", "field"),
    [
        (lambda v: Transaction("t", "a").with_total_revenue(v), "tr"),
        (lambda v: Transaction("t", "a").with_shipping_cost(v), "ts"),
        (lambda v: Transaction("t", "a").with_taxes(v), "tt"),
        (lambda v: Item("t", "n", "c").with_price(v), "ip"),
    ],
)
@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        (True, "must be a number"),
        ("12.5", "must be a number"),
        (None, "must be a number"),
        (-0.01, "must not be negative"),
        (Decimal("-1"), "must not be negative"),
        (float("nan"), "finite"),
        (float("inf"), "finite"),
        (Decimal("NaN"), "finite"),
        (Decimal("1e400"), "finite"),
        (10**400, "finite"),
    ],
)
def test_money_rules(builder, field, value, fragment):
    assert_invalid(builder(value), field, fragment)


@pytest.mark.parametrize("value", [0, 0.0, 12, 12.5, Decimal("12.50")])
def test_money_accepts_numbers(value):
    Transaction("t", "a").with_total_revenue(value).validate()
    Item("t", "n", "c").with_price(value).validate()


@pytest.mark.parametrize(
    ("builder", "field"),
    [
        (lambda v: Event(EventCategory.ACTION_TRACKING, "a").with_event_value(v), "ev"),
        (lambda v: Transaction("t", "a").with_item_count(v), "icn"),
        (lambda v: Item("t", "n", "c").with_item_quantity(v), "iq"),
        (lambda v: Screen("a").with_session_number(v), "sn"),
        (lambda v: Screen("a").with_session_timestamp(v), "cst"),
    ],
)
@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        (True, "must be an int, got bool"),
        (5.0, "must be an int, got float"),
        ("5", "must be an int, got str"),
        (-1, "must not be negative"),
        (2**63, "64-bit"),
    ],
)
def test_count_rules(builder, field, value, fragment):
    assert_invalid(builder(value), field, fragment)


def test_event_value_zero_and_large_are_fine():
    Event(EventCategory.ACTION_TRACKING, "a").with_event_value(0).validate()
    Event(EventCategory.ACTION_TRACKING, "a").with_event_value(2**63 - 1).validate()


@pytest.mark.parametrize(
    ("width", "height", "fragment"),
    [
        (-1, 480, "(screen width) must not be negative"),
        (640, -5, "(screen height) must not be negative"),
        (640.0, 480, "(screen width) must be an int, got float"),
        (True, 480, "must be an int, got bool"),
        (640, "480", "(screen height) must be an int, got str"),
    ],
)
def test_resolution_rules(width, height, fragment):
    assert_invalid(Screen("a").with_resolution(width, height), "sr", fragment)


@pytest.mark.parametrize("currency", ["eur", "EURO", "EU", "E1R", " EUR", "€"])
def test_currency_must_look_like_iso_4217(currency):
    assert_invalid(Transaction("t", "a").with_currency(currency), "tc", "ISO 4217")


@pytest.mark.parametrize(
    "origin",
    [
        "checkout_interface",  # an interface name
        "nightly_export.py",  # a script name
        "/relative/path",  # a URI without a host
        "www.example.com/a",
        "mailto:someone",
        "https://",
        "http://[::1",
    ],
)
def test_a_page_that_is_not_an_absolute_url_is_sent_as_a_screen_view(origin):
    """The seed: ``Page(origin)`` takes a URI, an interface name or a script name."""
    hit = Page(origin)
    hit.validate()
    assert hit.hit_type is HitType.SCREENVIEW
    assert hit.to_payload() == {"t": "SCREENVIEW", "ds": "APP", "dl": origin}
    assert hit.to_payload() == Screen(origin).to_payload()


@pytest.mark.parametrize(
    "url", ["https://shop.example/checkout", "http://127.0.0.1:8000/", "app://host/screen"]
)
def test_a_page_with_an_absolute_url_is_a_page_view(url):
    hit = Page(url)
    hit.validate()
    assert hit.to_payload() == {"t": "PAGEVIEW", "ds": "APP", "dl": url}


@pytest.mark.parametrize("origin", ["", "   ", None, 42, "x" * 2049])
def test_a_page_origin_is_still_a_non_blank_string_of_bounded_size(origin):
    assert_invalid(Page(origin), "dl", "origin")


def test_screen_name_need_not_be_a_url():
    Screen("/relative/path").validate()


@pytest.mark.parametrize("ip", ["not an ip", "256.1.1.1", "1.2.3", "::g"])
def test_ip_must_be_an_address(ip):
    assert_invalid(Screen("a").with_ip(ip), "uip", "IPv4 or IPv6")


@pytest.mark.parametrize("ip", ["192.0.2.1", "2001:db8::1", "::1"])
def test_ip_accepts_v4_and_v6(ip):
    Screen("a").with_ip(ip).validate()


@pytest.mark.parametrize(
    ("make", "field", "limit"),
    [
        (lambda s: Page("https://example.com/" + s), "dl", 2048),
        (lambda s: Screen(s), "dl", 2048),
        (lambda s: Event(EventCategory.ACTION_TRACKING, s), "ea", 500),
        (lambda s: Event(EventCategory.ACTION_TRACKING, "a").with_event_label(s), "el", 500),
        (lambda s: Transaction(s, "a"), "tid", 500),
        (lambda s: Transaction("t", s), "ta", 500),
        (lambda s: Transaction("t", "a").with_payment_method(s), "pm", 10),
        (lambda s: Transaction("t", "a").with_shipping_method(s), "sm", 10),
        (lambda s: Transaction("t", "a").with_coupon_code(s), "tcc", 10),
        (lambda s: Item(s, "n", "c"), "tid", 500),
        (lambda s: Item("t", s, "c"), "in", 500),
        (lambda s: Item("t", "n", s), "ic", 500),
        (lambda s: Item("t", "n", "c").with_item_category(s), "iv", 500),
        (lambda s: Screen("a").with_locale(s), "ul", 20),
    ],
)
def test_byte_limits(make, field, limit):
    base = len(make("").to_payload()[field].encode())  # a fixed prefix, if any
    # Exactly at the limit passes.
    make("x" * (limit - base)).validate()
    # One byte over fails, and so do multi-byte characters counted as bytes.
    assert_invalid(make("x" * (limit - base + 1)), field, f"at most {limit} bytes")
    assert_invalid(make("é" * ((limit - base) // 2 + 1)), field, f"at most {limit} bytes")


@pytest.mark.parametrize("category", ["Other", "action tracking", 1])
def test_unknown_event_category(category):
    assert_invalid(Event(category, "a"), "ec", "EventCategory")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("context", "fragment"),
    [
        ({"": 1}, "non-empty str keys"),
        ({1: "a"}, "non-empty str keys"),
        ({"a": None}, "NoneType"),
        ({"a": [[1]]}, "list"),
        ({"a": [None]}, "NoneType"),
        ({"a": ["x", float("inf")]}, "finite"),
        ({"a": ["x"] * 101}, "at most 100"),
        ({"a": {"b": 1}}, "dict"),
        ({"a": float("nan")}, "finite"),
    ],
)
def test_segment_context_rules(context, fragment):
    assert_invalid(Segment(context), "s", fragment)


def test_consent_needs_a_bool():
    assert_invalid(Consent(1), "el", "bool")  # type: ignore[arg-type]


def test_error_names_the_hit_and_field_and_is_a_value_error():
    error = assert_invalid(Transaction("t", "a").with_taxes(-2), "tt")
    assert isinstance(error, ValueError)
    assert error.kind == "Transaction"
    assert str(error) == "Transaction: field 'tt' (taxes) must not be negative, got -2"


def test_long_values_are_shortened_in_messages():
    error = assert_invalid(Page("x" * 3000), "dl")
    assert len(str(error)) < 200


# --- activations ----------------------------------------------------------------


def test_anonymous_activation_payload():
    activation = Activation("v1", "vg2", "var2", created_at=100.0)
    assert activation.to_payload(now=100.748) == {
        "vid": "v1",
        "aid": None,
        "caid": "vg2",
        "vaid": "var2",
        "qt": 748,
    }


def test_authenticated_activation_payload():
    # vid is the authenticated id and aid the anonymous one (the reverse of hits).
    activation = Activation("logged", "vg2", "var2", anonymous_id="v1", created_at=10.0)
    assert activation.to_payload(now=10.254) == {
        "vid": "logged",
        "aid": "v1",
        "caid": "vg2",
        "vaid": "var2",
        "qt": 254,
    }


def test_activation_standalone_form_carries_cid():
    payload = Activation("v1", "vg", "var", created_at=1.0).to_payload("ENV", now=1.0)
    assert list(payload) == ["cid", "vid", "aid", "caid", "vaid", "qt"]
    assert payload["cid"] == "ENV"


def test_activation_defaults():
    before = time.time()
    activation = Activation("v", "vg", "var")
    assert before <= activation.created_at <= time.time()
    # Not truncated to the second.
    assert isinstance(activation.created_at, float)
    assert len(activation.id) == 32
    assert activation.id != Activation("v", "vg", "var").id
    assert 0 <= activation.to_payload()["qt"] < 1000


def test_activation_is_frozen():
    activation = Activation("v", "vg", "var")
    with pytest.raises(AttributeError):
        activation.visitor_id = "other"  # type: ignore[misc]


def test_activation_expiry():
    activation = Activation("v", "vg", "var", created_at=1000.0)
    assert not activation.is_expired(now=1000.0 + HIT_EXPIRATION_SECONDS - 0.001)
    assert activation.is_expired(now=1000.0 + HIT_EXPIRATION_SECONDS)
    assert HIT_EXPIRATION_SECONDS * 1000 == 14_400_000


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"visitor_id": ""}, "vid"),
        ({"visitor_id": None}, "vid"),
        ({"variation_group_id": " "}, "caid"),
        ({"variation_id": 3}, "vaid"),
        ({"anonymous_id": ""}, "aid"),
        ({"anonymous_id": 5}, "aid"),
    ],
)
def test_activation_validation(kwargs, field):
    values = {"visitor_id": "v", "variation_group_id": "vg", "variation_id": "var"} | kwargs
    assert_invalid(Activation(**values), field)


def test_valid_activations_pass():
    Activation("v", "vg", "var").validate()
    Activation("v", "vg", "var", anonymous_id="anon").validate()


def test_queue_time_is_rounded_milliseconds_and_never_negative():
    assert queue_time_ms(10.0, 10.0004) == 0
    assert queue_time_ms(10.0, 10.0006) == 1
    assert queue_time_ms(10.0, 11.5) == 1500
    assert queue_time_ms(10.0, 9.0) == 0
