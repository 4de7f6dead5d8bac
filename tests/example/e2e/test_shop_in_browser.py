"""The example shop in a real browser, served by the live test server.

The server runs in a thread of this process, so the tests read the same
in-memory hit sink the views send to.
"""

import io
import json
from decimal import Decimal

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.core.management import call_command

from django_flagship.identity import ANONYMOUS_ID_SESSION_KEY
from django_flagship.sdk.bucketing import Bucket

from ..conftest import BUCKET_FILE, hit_sink, hits_of
from .conftest import DESKTOP_USER_AGENT

pytestmark = pytest.mark.slow

BUY_TEST = "cp3h8v2jq7a0004ka3lg"
DEFAULT_COLOUR, DEFAULT_TEXT = "#2458d6", "Buy"


def rgb(hex_colour: str) -> str:
    """``#17804a`` as the browser's computed ``rgb(23, 128, 74)``."""
    red, green, blue = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgb({red}, {green}, {blue})"


def expected_button(visitor_id: str) -> tuple[str, str, str]:
    """The variation name, colour and text the bundled bucket gives ``visitor_id``."""
    bucket = Bucket.parse(json.loads(BUCKET_FILE.read_text()))
    (assignment,) = [a for a in bucket.decide(visitor_id, {}) if a.campaign_id == BUY_TEST]
    flags = assignment.flags
    return (
        assignment.variation_name,
        flags["btnColor"] or DEFAULT_COLOUR,
        flags["btnText"] or DEFAULT_TEXT,
    )


def shown_button(page) -> tuple[str, str]:
    button = page.locator("#product-enamel-mug button.buy")
    colour = button.evaluate("node => getComputedStyle(node).backgroundColor")
    return colour, button.inner_text()


def anonymous_id(page) -> str:
    """The visitor id the shop gave this browser, read from its session."""
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    return SessionStore(session_key=cookies["sessionid"])[ANONYMOUS_ID_SESSION_KEY]


def test_buy_checkout_and_log_in_with_the_same_variation(shop_server, tab):
    call_command("create_demo_users", stdout=io.StringIO())
    page = tab.page
    page.goto(f"{shop_server.url}/")
    tab.screenshot("home")

    visitor = anonymous_id(page)
    variation, colour, text = expected_button(visitor)
    assert shown_button(page) == (rgb(colour), text), variation
    # flagship.js got the same values through {% flags_json %}.
    assert page.evaluate("flagship.flag('btnText', 'Buy')") == text
    assert page.evaluate("flagship.flag('freeShippingThreshold', 100)") == 50
    assert page.locator("#shipping-note").inner_text() == "Free shipping on orders over €50."

    # The click is tracked by flagship.js, then the form adds the mug to the basket.
    with page.expect_response(lambda r: r.url.endswith("/flagship/events/")) as tracked:
        page.locator("#product-enamel-mug button.buy").click()
    assert tracked.value.status == 202
    page.wait_for_url("**/basket/")
    tab.screenshot("basket")
    (event,) = [e for e in hits_of(visitor, "EVENT") if e["ea"] == "Buy button click"]
    assert event["ec"] == "Action Tracking"
    assert event["el"] == "enamel-mug"
    assert page.locator("#shipping").inner_text() == "€4.90"

    page.locator("#checkout").click()
    page.wait_for_url("**/order/complete/")
    tab.screenshot("order")
    order_id = page.locator("#order-id").inner_text()
    (transaction,) = hits_of(visitor, "TRANSACTION")
    assert transaction["tid"] == order_id
    assert Decimal(str(transaction["tr"])) == Decimal("17.40")  # 12.50 + 4.90 shipping
    assert transaction["tc"] == "EUR"
    (item,) = hits_of(visitor, "ITEM")
    assert (item["tid"], item["ic"], item["iq"]) == (order_id, "enamel-mug", 1)
    # Every hit of the visit went out as this visitor, with nobody else's id.
    assert {h.visitor_id for h in hit_sink().hits} == {visitor}

    page.goto(f"{shop_server.url}/accounts/login/")
    page.fill("#id_username", "alice")
    page.fill("#id_password", "flagship")
    page.locator("#login-submit").click()
    page.wait_for_url(f"{shop_server.url}/")
    assert page.locator("#signed-in-as").inner_text() == "alice"
    tab.screenshot("logged-in")
    assert shown_button(page) == (rgb(colour), text), "the variation changed at login"

    page.goto(f"{shop_server.url}/flagship/")
    assert page.locator("#anonymous-id").inner_text() == visitor
    assert page.locator("#campaign-buy-button .outcome").inner_text().startswith(variation)
    assert tab.errors == []


def test_changing_the_context_shows_the_vip_banner(shop_server, tab):
    page = tab.page
    page.goto(f"{shop_server.url}/flagship/")
    assert page.locator("#vip-banner").count() == 0
    assert "not assigned" in page.locator("#campaign-vip-welcome .outcome").inner_text()
    tab.screenshot("before")

    page.locator("#id_is_vip").check()
    page.fill("#id_age", "34")
    page.select_option("#id_country", "US")
    page.locator("#context-form button[type=submit]").click()
    page.wait_for_load_state()

    banner = page.locator("#vip-banner")
    assert banner.is_visible()
    assert "10% off everything" in banner.inner_text()
    assert page.locator("#campaign-vip-welcome .outcome").inner_text() == "Banner and 10% off"
    assert page.locator("#gift-cards-link").is_visible()
    assert "Free shipping on orders over €75." in page.locator("#shipping-note").inner_text()
    tab.screenshot("vip")

    page.locator("#gift-cards-link").click()
    page.wait_for_url("**/gift-cards/")
    assert page.locator("h1").inner_text().startswith("Gift cards")
    tab.screenshot("gift-cards")
    assert tab.errors == []


@pytest.mark.parametrize("tab", [DESKTOP_USER_AGENT], indirect=True, ids=["desktop"])
def test_track_from_code_sends_an_event(shop_server, tab):
    # A desktop browser (not a bot) is in the "Newsletter box" campaign.
    page = tab.page
    page.goto(f"{shop_server.url}/")
    visitor = anonymous_id(page)
    page.fill("#newsletter-email", "someone@example.com")
    with page.expect_response(lambda r: r.url.endswith("/flagship/events/")) as tracked:
        page.locator("#newsletter button").click()
    assert tracked.value.status == 202
    page.wait_for_function("document.getElementById('newsletter').textContent.includes('Thanks')")
    tab.screenshot("newsletter")
    (event,) = hits_of(visitor, "EVENT")
    assert (event["ec"], event["ea"], event["el"]) == (
        "User Engagement",
        "Newsletter signup",
        "footer",
    )
    assert "someone@example.com" not in json.dumps(dict(event))
    assert tab.errors == []
