"""List-valued contexts: the SDK decides them as the served Decision API does.

Flagship's engine takes a list as a context value (protocol 4.2). The served
API always did; the SDK now does too, through ``update_context``, its memory
of decisions and its DECISION_API client. Generated visitors with list
contexts (and a few repeated questions, which the memory answers) are decided
three ways, which must agree campaign by campaign: by the SDK in BUCKETING
mode, by a plain HTTP client posting the context to the served API on a live
socket, and by the SDK in DECISION_API mode pointed at that API.
"""

from __future__ import annotations

import random
from typing import Any

import pytest
import requests

from django_flagship.sdk import Config, Flagship, Mode
from django_flagship.sdk.bucket_source import StaticBucketSource
from django_flagship.sdk.bucketing import Bucket
from django_flagship.sdk.tracking import MemoryTracker

from .conftest import API_KEY, ENV_ID, PREFIX_V2

VISITORS = 300
POOLS: dict[str, list[Any]] = {
    "tags": ["beta", "BETA", "news", "sport", "spam", "beta-news"],
    "groups": ["beta-testers", "staff", "Beta-Testers", "editors"],
    "scores": [0, 1, 1.0, 2.5, 10, -3],
    "flags": [True, False],
}
OPERATORS = [
    "EQUALS",
    "NOT_EQUALS",
    "CONTAINS",
    "NOT_CONTAINS",
    "GREATER_THAN",
    "LOWER_THAN_OR_EQUALS",
    "STARTS_WITH",
    "ENDS_WITH",
    "EXISTS",
    "NOT_EXISTS",
]


def _condition(rng: random.Random) -> dict[str, Any]:
    key = rng.choice(sorted(POOLS))
    operator = rng.choice(OPERATORS)
    pool = POOLS[key]
    roll = rng.random()
    if operator in ("EXISTS", "NOT_EXISTS"):
        value: Any = rng.random() < 0.8
    elif roll < 0.6:
        value = rng.choice(pool)
    elif roll < 0.85:
        value = rng.sample(pool, 2)  # a list targeting value
    else:
        value = rng.choice([POOLS["tags"][0], 1, True])  # maybe another kind: an error
    return {"key": key, "operator": operator, "value": value}


def generated_bucket(rng: random.Random, size: int = 25) -> dict[str, Any]:
    campaigns = []
    for c in range(size):
        groups = []
        for g in range(rng.randint(1, 2)):
            targeting = {
                "targetingGroups": [
                    {"targetings": [_condition(rng) for _ in range(rng.randint(1, 2))]}
                    for _ in range(rng.randint(1, 2))
                ]
            }
            groups.append(
                {
                    "id": f"c{c}g{g}",
                    "targeting": targeting,
                    "variations": [
                        {
                            "id": f"c{c}g{g}v{v}",
                            "reference": v == 0,
                            "allocation": 50,
                            "modifications": {"type": "FLAG", "value": {f"c{c}": v}},
                        }
                        for v in range(2)
                    ],
                }
            )
        campaigns.append({"id": f"c{c}", "type": "ab", "variationGroups": groups})
    return {"panic": False, "accountSettings": {"enabled1V1T": False}, "campaigns": campaigns}


def generated_context(rng: random.Random) -> dict[str, Any]:
    context: dict[str, Any] = {}
    for key, pool in POOLS.items():
        if rng.random() < 0.15:
            continue  # a missing key
        items = [rng.choice(pool) for _ in range(rng.randint(0, 4))]
        if items and rng.random() < 0.15:
            items[rng.randrange(len(items))] = rng.choice(POOLS[rng.choice(sorted(POOLS))])
        context[key] = items
    if rng.random() < 0.2:
        context["tags"] = rng.choice(POOLS["tags"])  # a scalar now and then
    return context


def ids(assignments) -> list[tuple[str, str, str]]:
    return [(a.campaign_id, a.variation_group_id, a.variation_id) for a in assignments]


def served_ids(body: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(c["id"], c["variationGroupId"], c["variation"]["id"]) for c in body["campaigns"]]


@pytest.mark.slow
def test_the_sdk_decides_list_contexts_as_the_served_api_does(served, live_server):
    rng = random.Random(4242)
    data = generated_bucket(rng)
    served.replace(data)
    served.client.tracker = MemoryTracker(maxlen=10_000)
    bucket = Bucket.parse(data)
    questions = [(f"visitor-{rng.randrange(60)}", generated_context(rng)) for _ in range(VISITORS)]
    again = rng.sample(questions, 60)
    # Asked again, then once more: answered from the memory (which keeps a
    # visitor's questions from their second visit on).
    questions += again + again

    base = live_server.url + "/decision-api/v2"
    local = Flagship(
        Config(ENV_ID, mode=Mode.BUCKETING),
        bucket_source=StaticBucketSource(bucket),
        tracker=MemoryTracker(),
    )
    remote = Flagship(
        Config(ENV_ID, API_KEY, mode=Mode.DECISION_API, decision_api_url=base, timeout=10.0),
        tracker=MemoryTracker(),
    )
    http = requests.Session()
    lists_decided = 0
    assigned = 0
    try:
        for visitor_id, context in questions:
            mine = local.create_visitor(visitor_id, context)
            assert mine.synchronize_modifications(), mine.last_error
            answer = http.post(
                f"{base}/{ENV_ID}/campaigns",
                json={"visitor_id": visitor_id, "context": context, "trigger_hit": False},
                headers={"x-api-key": API_KEY},
                timeout=10,
            )
            assert answer.status_code == 200, answer.text
            theirs = remote.create_visitor(visitor_id, context)
            assert theirs.synchronize_modifications(), theirs.last_error
            assert ids(mine.assignments) == served_ids(answer.json()), (visitor_id, context)
            assert ids(theirs.assignments) == ids(mine.assignments), (visitor_id, context)
            assigned += len(mine.assignments)
            scalars = {k: v for k, v in context.items() if not isinstance(v, list)}
            if ids(bucket.decide(visitor_id, scalars)) != ids(mine.assignments):
                lists_decided += 1
        memo = local.decision_manager.memo
    finally:
        http.close()
        local.stop()
        remote.stop()

    # Not vacuous: the lists change most decisions, visitors are in campaigns,
    # and the memory answered the repeated questions.
    assert lists_decided > VISITORS * 0.8
    assert assigned > VISITORS * 3
    assert memo.hits >= 60


def test_the_served_api_bounds_a_list_as_the_sdk_does(served, api):
    """At most 100 values, as the SDK keeps: more is a 400 naming the key, nothing sent."""
    longest = {"visitorId": "v", "context": {"tags": [f"t{n}" for n in range(100)]}}
    assert api.post(f"{PREFIX_V2}/campaigns", longest).status_code == 200
    (segment,) = [h for h in served.client.tracker.hits if h.payload["t"] == "SEGMENT"]
    assert segment.payload["s"]["tags"].count(" ") == 99
    too_long = {"visitorId": "w", "context": {"tags": ["t"] * 101}}
    response = api.post(f"{PREFIX_V2}/campaigns", too_long)
    assert response.status_code == 400
    assert "'tags'" in response.json()["message"]
    assert "at most 100" in response.json()["message"]
    assert [h.visitor_id for h in served.client.tracker.hits] == ["v"]
    assert [a.visitor_id for a in served.activations] == ["v"] * len(served.activations)
