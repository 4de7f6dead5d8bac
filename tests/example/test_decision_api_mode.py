"""The example shop in DECISION_API mode, asking the Decision API it serves itself.

``example_project/settings.py`` runs the site that way when ``FLAGSHIP_MODE``
is ``DECISION_API`` and no credentials are given: the SDK posts each
visitor's context to ``/decision-api/v2/...`` on the same site, which
decides from the bundled bucket. The same visitors must then see exactly
what BUCKETING mode shows them, through the public ``flags_for`` and on the
shop's pages.
"""

from __future__ import annotations

import html
import re

import pytest
import requests

from django_flagship import client, flags_for
from django_flagship.sdk import Mode

from .conftest import hit_sink
from .test_shop import shown_button

pytestmark = pytest.mark.django_db(transaction=True)

#: The example's own made-up environment and key (example_project/settings.py).
ENV_ID = "example-shop"
API_KEY = "example-shop-key"

VISITORS = [f"visitor-{number}" for number in range(40)]
CONTEXTS = [
    {"country": "FR", "isVip": False},
    {"country": "US", "isVip": True, "age": 30},
    {"country": "JP", "isVip": True, "age": 16},
    {"country": "CA", "isVip": False, "is_authenticated": False, "device_type": "desktop"},
]

FLAGS_TABLE = re.compile(r'<table class="data" id="flags">.*?<tbody>(.*?)</tbody>', re.S)
OUTCOME = re.compile(
    r'<article class="campaign [^"]*" id="campaign-([^"]+)">.*?'
    r'<span class="outcome">([^<]*)</span>',
    re.S,
)


@pytest.fixture
def server(shop_server):
    """The shop's live server (its fixture waits for keep-alive connections to end)."""
    return shop_server


def decision_api_mode(settings, server) -> None:
    """What example_project/settings.py sets for DECISION_API, pointed at ``server``."""
    settings.FLAGSHIP_MODE = "DECISION_API"
    settings.FLAGSHIP_ENV_ID = ENV_ID
    settings.FLAGSHIP_API_KEY = API_KEY
    settings.FLAGSHIP_DECISION_API_URL = f"{server.url}/decision-api/v2"
    settings.FLAGSHIP_ACTIVATE_URL = f"{server.url}/decision-api/v2/activate"
    settings.FLAGSHIP_DECISION_API_ENVIRONMENTS = {ENV_ID: [API_KEY]}
    # The bucket comes from the bundled file; should the store ever try to
    # download one, it asks the test's server, never Flagship's CDN.
    settings.FLAGSHIP_BUCKETING_URL = f"{server.url}/no-bucket/{{env_id}}.json"
    client.reset()


def decisions() -> dict[tuple[str, int], dict[str, tuple]]:
    """Every flag of every visitor in every context: campaign, variation, value."""
    seen = {}
    for visitor_id in VISITORS:
        for number, context in enumerate(CONTEXTS):
            visitor = flags_for(visitor_id=visitor_id, context=context).visitor
            assert visitor is not None
            seen[(visitor_id, number)] = {
                key: (
                    info.assignment.campaign_id,
                    info.assignment.variation_group_id,
                    info.assignment.variation_id,
                    info.value,
                )
                for key, info in visitor.flags.items()
            }
    return seen


def test_flags_for_gives_the_same_variations_in_both_modes(shop, server):
    assert client.get_client().config.mode is Mode.BUCKETING
    bucketing = decisions()
    # the comparison means something: flags for everyone, several variations
    assert all(bucketing.values())
    buy_button = {flags["btnColor"][2] for flags in bucketing.values()}
    assert len(buy_button) == 3

    decision_api_mode(shop, server)
    assert client.get_client().config.mode is Mode.DECISION_API
    served = decisions()
    assert served == bucketing
    # the SDK sends no activation with its decisions, and reading flags activates nothing
    assert hit_sink().activations == []


VISITOR_ID = re.compile(r'<code id="visitor-id">([^<]+)</code>')


def flagship_page(session: requests.Session, server) -> tuple[str, str, list[tuple[str, str]]]:
    """The visitor id, the flags table and each campaign's outcome on the Flagship page."""
    response = session.get(f"{server.url}/flagship/", timeout=10)
    assert response.status_code == 200
    text = response.text
    visitor_id, table = VISITOR_ID.search(text), FLAGS_TABLE.search(text)
    assert visitor_id is not None
    assert table is not None
    assert "<code>" in table.group(1)  # some flags, not the "No flag" row
    outcomes = [(slug, html.unescape(outcome).strip()) for slug, outcome in OUTCOME.findall(text)]
    assert outcomes
    return visitor_id.group(1), table.group(1), outcomes


def visit(session: requests.Session, server) -> tuple[tuple[str, str], tuple]:
    home = session.get(f"{server.url}/", timeout=10)
    assert home.status_code == 200
    return shown_button(home.text), flagship_page(session, server)


def mode_shown(session: requests.Session, server) -> str:
    found = re.search(r'id="mode">([A-Z_]+)<', session.get(f"{server.url}/flagship/").text)
    assert found is not None
    return found.group(1)


def test_the_shop_shows_each_visitor_the_same_variations_in_both_modes(shop, server):
    sessions = [requests.Session() for _ in range(8)]
    try:
        before = [visit(session, server) for session in sessions]
        assert len({button for button, _ in before}) > 1  # not everyone in one variation
        assert mode_shown(sessions[0], server) == "BUCKETING"

        decision_api_mode(shop, server)
        # the same visitors: their session cookies, so their visitor ids, are kept
        after = [visit(session, server) for session in sessions]
        assert mode_shown(sessions[0], server) == "DECISION_API"
    finally:
        for session in sessions:
            session.close()
    assert after == before
    # reading the buy button activated each visitor's variation in DECISION_API mode too
    visitor_ids = {page[0] for _, page in after}
    assert len(visitor_ids) == len(sessions)
    assert {a.visitor_id for a in hit_sink().activations} >= visitor_ids
