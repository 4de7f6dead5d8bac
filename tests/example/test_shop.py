"""The example shop through Django's test client: each feature, offline."""

import io
import json
import re
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client

from django_flagship.identity import ANONYMOUS_ID_SESSION_KEY
from django_flagship.sdk.bucketing import Bucket

from .conftest import BUCKET_FILE, hits_of

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("shop", "shop_source")]

BUTTON = re.compile(r'<button type="submit" class="buy" style="background: ([^"]+)"[^>]*>([^<]+)<')
DEFAULT_BUTTON = ("#2458d6", "Buy")


def bucket() -> Bucket:
    return Bucket.parse(json.loads(BUCKET_FILE.read_text()))


def expected_button(visitor_id: str) -> tuple[str, str]:
    """The colour and text the bucketing file gives ``visitor_id`` (null: the default)."""
    for assignment in bucket().decide(visitor_id, {}):
        if assignment.campaign_id == "cp3h8v2jq7a0004ka3lg":
            flags = assignment.flags
            return (
                flags["btnColor"] or DEFAULT_BUTTON[0],
                flags["btnText"] or DEFAULT_BUTTON[1],
            )
    raise AssertionError("the buy button test is open to everyone")


def shown_button(html: str) -> tuple[str, str]:
    buttons = set(BUTTON.findall(html))
    assert len(buttons) == 1, buttons  # every product shows the same variation
    return buttons.pop()


def visitor_id(client: Client) -> str:
    return client.session[ANONYMOUS_ID_SESSION_KEY]


def set_context(client: Client, country="FR", vip=False, age=None):
    data = {"country": country, "age": "" if age is None else str(age)}
    if vip:
        data["is_vip"] = "on"
    response = client.post("/flagship/", data)
    assert response.status_code == 302, response.content.decode()[:500]


def test_each_visitor_sees_the_buy_button_of_their_variation():
    seen = set()
    visitors = 0
    # New visitors until each of the three variations was shown (a handful is usually
    # enough; 200 all missing one would mean a broken split, not bad luck).
    while len(seen) < 3 and visitors < 200:
        client = Client()
        html = client.get("/").content.decode()
        shown = shown_button(html)
        assert shown == expected_button(visitor_id(client))
        seen.add(shown)
        visitors += 1
    assert len(seen) == 3, (seen, visitors)


def test_the_variation_is_stable_across_requests(client):
    first = shown_button(client.get("/").content.decode())
    for _ in range(3):
        assert shown_button(client.get("/").content.decode()) == first


def test_vip_banner_and_gift_cards_follow_the_context(client):
    html = client.get("/").content.decode()
    assert 'id="vip-banner"' not in html
    assert 'id="gift-cards-link"' not in html
    assert client.get("/gift-cards/").status_code == 404

    set_context(client, vip=True)
    html = client.get("/").content.decode()
    assert 'id="vip-banner"' in html
    assert "10% off everything" in html
    # VIP but no age: the gift cards need an adult VIP.
    assert 'id="gift-cards-link"' not in html

    set_context(client, vip=True, age=34)
    assert 'id="gift-cards-link"' in client.get("/").content.decode()
    response = client.get("/gift-cards/")
    assert response.status_code == 200
    assert b"early access" in response.content

    set_context(client, vip=False, age=34)
    assert 'id="vip-banner"' not in client.get("/").content.decode()
    assert client.get("/gift-cards/").status_code == 404


@pytest.mark.parametrize(
    ("country", "threshold"), [("FR", 50), ("DE", 50), ("US", 75), ("CA", 75), ("JP", 120)]
)
def test_free_shipping_threshold_comes_from_the_country(client, country, threshold):
    set_context(client, country=country)
    client.post("/basket/add/enamel-mug/")
    html = client.get("/basket/").content.decode()
    assert f"free from €{threshold} in your country" in html
    assert f'"freeShippingThreshold": {threshold}' in html  # handed to the browser too


def test_checkout_sends_a_transaction_and_one_item_per_line(client):
    client.get("/")
    client.post("/basket/add/enamel-mug/")
    client.post("/basket/add/enamel-mug/")
    client.post("/basket/add/wool-beanie/")
    vid = visitor_id(client)
    response = client.post("/checkout/")
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    order_id = re.search(r'id="order-id">([^<]+)<', page).group(1)

    (transaction,) = hits_of(vid, "TRANSACTION")
    # 2 x 12.50 + 24.00 = 49.00, under the French threshold of 50: 4.90 shipping.
    assert transaction["tid"] == order_id
    assert transaction["ta"] == "Purchase"
    assert Decimal(str(transaction["tr"])) == Decimal("53.90")
    assert Decimal(str(transaction["ts"])) == Decimal("4.90")
    assert transaction["tc"] == "EUR"
    assert transaction["icn"] == 3
    items = {item["ic"]: item for item in hits_of(vid, "ITEM")}
    assert set(items) == {"enamel-mug", "wool-beanie"}
    assert items["enamel-mug"]["iq"] == 2
    assert Decimal(str(items["enamel-mug"]["ip"])) == Decimal("12.50")
    assert items["wool-beanie"]["iv"] == "Clothing"
    assert all(item["tid"] == order_id for item in items.values())
    # The basket is empty afterwards.
    assert "Your basket is empty" in client.get("/basket/").content.decode()


def test_vip_discount_and_free_shipping_in_the_total(client):
    set_context(client, vip=True)
    for _ in range(3):
        client.post("/basket/add/wool-beanie/")
    client.post("/checkout/")
    (transaction,) = hits_of(visitor_id(client), "TRANSACTION")
    # 72.00 less 10 % is 64.80, over 50: no shipping.
    assert Decimal(str(transaction["tr"])) == Decimal("64.80")
    assert Decimal(str(transaction["ts"])) == Decimal("0")


def test_empty_basket_checkout_sends_nothing(client):
    client.get("/")
    response = client.post("/checkout/")
    assert response["Location"] == "/basket/"
    assert hits_of(visitor_id(client), "TRANSACTION") == []


def test_the_variation_survives_login_and_logout_starts_afresh(client):
    call_command("create_demo_users", stdout=io.StringIO())
    before = shown_button(client.get("/").content.decode())
    anonymous = visitor_id(client)
    response = client.post("/accounts/login/", {"username": "alice", "password": "flagship"})
    assert response.status_code == 302
    assert shown_button(client.get("/").content.decode()) == before

    alice = get_user_model().objects.get(username="alice")
    page = client.get("/flagship/").content.decode()
    assert f'id="visitor-id">{alice.pk}<' in page
    assert f'id="anonymous-id">{anonymous}<' in page

    client.post("/accounts/logout/")
    client.get("/")
    assert visitor_id(client) != anonymous


def test_bob_is_a_vip_through_his_group(client):
    call_command("create_demo_users", stdout=io.StringIO())
    assert 'id="vip-banner"' not in client.get("/").content.decode()
    client.login(username="bob", password="flagship")
    assert 'id="vip-banner"' in client.get("/").content.decode()
    client.logout()
    client.login(username="alice", password="flagship")
    assert 'id="vip-banner"' not in client.get("/").content.decode()


def test_flagship_page_explains_every_campaign(client):
    client.get("/")
    vid = visitor_id(client)
    page = client.get("/flagship/").content.decode()
    assert f'id="visitor-id">{vid}<' in page
    outcomes = {o.campaign_id: o for o in bucket().explain(vid, {"country": "FR"})}
    for campaign in bucket().campaigns:
        assert f'id="campaign-{campaign.slug}"' in page
    # Why the VIP campaign did not match: its targeting, with the visitor's value.
    vip = page.split('id="campaign-vip-welcome"')[1].split("</article>")[0]
    assert "not assigned" in vip
    assert "No variation group matched targeting" in vip
    assert "isVip EQUALS true" in vip
    assert "visitor: <code>false</code>" in vip
    rollout = page.split('id="campaign-recommendations"')[1].split("</article>")[0]
    if outcomes["cp3hbm2jq7a0004ka3vg"].matched:
        assert "Recommendations on" in rollout
    else:
        assert "Outside bucket ranges" in rollout
    # The visitor's activations and hits (the SEGMENT hit of the bucketing decision).
    assert 'id="activations"' in page
    assert "Buy button test" in page.split('id="activations"')[1]
    assert "SEGMENT" in page.split('id="hits"')[1]


def test_flagship_page_form_refuses_bad_values(client):
    response = client.post("/flagship/", {"country": "XX", "age": "-3"})
    assert response.status_code == 200
    assert b"errorlist" in response.content


@pytest.mark.parametrize("shop_source", ["file"], indirect=True)  # no flag involved
def test_create_demo_users_is_idempotent():
    outputs = []
    for _ in range(2):
        out = io.StringIO()
        call_command("create_demo_users", stdout=out)
        outputs.append(out.getvalue())
    assert "Demo user alice created." in outputs[0]
    assert "Demo user bob (VIP) reset." in outputs[1]
    users = get_user_model().objects.filter(username__in=["alice", "bob"])
    assert users.count() == 2
    bob = users.get(username="bob")
    assert bob.groups.filter(name="VIP customers").exists()
    assert bob.check_password("flagship")
    assert not users.get(username="alice").groups.exists()


def test_the_shop_decides_from_its_source(shop_source):
    from django_flagship.client import get_bucket, get_poller, get_store

    store = get_store()
    assert (get_poller().fetch is not None) == (shop_source == "authored")
    assert (store.bucket_file is not None) == (shop_source == "file")
    assert get_bucket().campaign_count == 6
