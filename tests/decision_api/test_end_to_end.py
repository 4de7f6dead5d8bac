"""End to end: the SDK in DECISION_API mode against this server on a live socket.

For 1,000 generated visitors with varied contexts, the SDK pointed at the
server must get exactly what BUCKETING mode computes from the same bucket:
the same campaigns, variation groups, variations and metadata, and the same
flag values (``exposeAllKeys`` only adds the sibling keys, as ``null``).
"""

from __future__ import annotations

import random
from typing import Any

import pytest

from django_flagship.sdk import Config, Flagship, Mode
from django_flagship.sdk.bucket_source import StaticBucketSource
from django_flagship.sdk.bucketing import Bucket
from django_flagship.sdk.tracking import MemoryTracker

from .conftest import API_KEY, ENV_ID

VISITORS = 1000
PLANS = ["free", "pro", "Pro", "enterprise", "ÉLITE"]
COUNTRIES = ["fr", "FR", "de", "us", "jp", "br"]
KINDS = ["FLAG", "FLAG", "JSON", "TEXT", "HTML", "IMAGE", "REDIRECT"]


def _targeting(rng: random.Random, visitor_ids: list[str]) -> dict[str, Any]:
    """One to three OR-ed groups of one or two AND-ed conditions."""
    choices = [
        lambda: ("fs_all_users", "EQUALS", ""),
        lambda: ("age", rng.choice(["GREATER_THAN", "LOWER_THAN_OR_EQUALS"]), rng.randint(18, 70)),
        lambda: ("age", "EQUALS", [rng.randint(18, 70) for _ in range(5)]),
        lambda: ("plan", rng.choice(["EQUALS", "NOT_EQUALS"]), rng.choice(PLANS)),
        lambda: ("plan", "CONTAINS", rng.choice(["pr", "ENT", "é"])),
        lambda: ("country", rng.choice(["EQUALS", "NOT_CONTAINS"]), rng.sample(COUNTRIES, 2)),
        lambda: ("country", "STARTS_WITH", rng.choice(["f", "D", "u"])),
        lambda: ("vip", "EQUALS", rng.choice([True, False])),
        lambda: ("score", "GREATER_THAN_OR_EQUALS", round(rng.uniform(0, 1), 2)),
        lambda: ("beta", rng.choice(["EXISTS", "NOT_EXISTS"]), True),
        lambda: ("fs_users", "EQUALS", rng.sample(visitor_ids, 40)),
        lambda: ("appVersion", "SEMVER_GREATER_THAN", rng.choice(["1.2.0", "2.0.0"])),
        lambda: ("age", "EQUALS", "30"),  # a type mismatch: the whole targeting fails
    ]
    groups = []
    for _ in range(rng.randint(1, 3)):
        conditions = [rng.choice(choices)() for _ in range(rng.randint(1, 2))]
        groups.append(
            {"targetings": [{"key": k, "operator": o, "value": v} for k, o, v in conditions]}
        )
    return {"targetingGroups": groups}


def generated_bucket(rng: random.Random, visitor_ids: list[str], size: int = 30) -> dict:
    campaigns = []
    for c in range(size):
        groups = []
        for g in range(rng.randint(1, 3)):
            keys = [f"c{c}g{g}k{j}" for j in range(rng.randint(1, 3))]
            count = rng.randint(1, 4)
            cuts = sorted(rng.sample(range(101), count - 1)) if count > 1 else []
            total = 100 if rng.random() < 0.7 else rng.randint(30, 99)
            bounds = [0, *[min(x, total) for x in cuts], total]
            kind = rng.choice(KINDS)
            variations = []
            for v in range(count):
                if v == 0:  # the reference: explicit nulls, as real files carry
                    value = dict.fromkeys(keys[:1])
                else:
                    # each variation sets some of the keys: the others are its siblings'
                    chosen = rng.sample(keys, rng.randint(1, len(keys)))
                    value = {k: rng.choice([f"{k}-{v}", v, v * 1.5, v % 2 == 0]) for k in chosen}
                variations.append(
                    {
                        "id": f"c{c}g{g}v{v}",
                        "name": rng.choice([f"Variation {v}", None]),
                        "reference": v == 0,
                        "allocation": bounds[v + 1] - bounds[v],
                        "modifications": {"type": kind, "value": value},
                    }
                )
            groups.append(
                {
                    "id": f"c{c}g{g}",
                    "name": f"group {g}",
                    "targeting": _targeting(rng, visitor_ids),
                    "variations": variations,
                }
            )
        campaign = {
            "id": f"c{c}",
            "name": f"campaign {c}",
            "slug": rng.choice([None, f"slug-{c}"]),
            "type": rng.choice(["ab", "toggle", "perso"]),
            "variationGroups": groups,
        }
        if rng.random() < 0.3:
            start = rng.randint(0, 50)
            campaign["bucketRanges"] = [{"r": [start, start + rng.randint(20, 50)]}]
        campaigns.append(campaign)
    return {"panic": False, "accountSettings": {"enabled1V1T": False}, "campaigns": campaigns}


def generated_visitors(rng: random.Random) -> list[tuple[str, dict[str, Any]]]:
    visitors = []
    for i in range(VISITORS):
        vid = rng.choice([f"user-{i}", f"visiteur-é-{i}", f"{i}-" + "x" * 200, f"匿名-{i}"])
        context: dict[str, Any] = {
            "age": rng.choice([rng.randint(10, 80), float(rng.randint(10, 80))]),
            "plan": rng.choice(PLANS),
            "country": rng.choice(COUNTRIES),
            "vip": rng.random() < 0.3,
            "score": rng.random(),
            "appVersion": rng.choice(["1.0.0", "1.5.2", "2.1.0", "v3.0.0"]),
        }
        if rng.random() < 0.4:
            context["beta"] = True
        for key in rng.sample(sorted(context), rng.randint(0, 2)):
            del context[key]
        visitors.append((vid, context))
    return visitors


def sibling_keys(data: dict) -> dict[str, set[str]]:
    keys: dict[str, set[str]] = {}
    for campaign in data["campaigns"]:
        for group in campaign["variationGroups"]:
            keys[group["id"]] = {
                k for v in group["variations"] for k in v["modifications"]["value"]
            }
    return keys


def metadata(assignment) -> tuple:
    return (
        assignment.campaign_id,
        assignment.variation_group_id,
        assignment.variation_id,
        assignment.campaign_name,
        assignment.campaign_type,
        assignment.slug,
        assignment.variation_group_name,
        assignment.variation_name,
        assignment.reference,
        assignment.modification_type,
    )


@pytest.mark.slow
def test_sdk_in_decision_api_mode_agrees_with_bucketing_mode(served, live_server):
    rng = random.Random(20240611)
    visitors = generated_visitors(rng)
    data = generated_bucket(rng, [vid for vid, _ in visitors])
    served.replace(data)
    served.client.tracker = MemoryTracker(maxlen=100_000)
    bucket = Bucket.parse(data)

    base = live_server.url + "/decision-api"
    api_mode = Flagship(
        Config(
            ENV_ID,
            API_KEY,
            mode=Mode.DECISION_API,
            decision_api_url=base + "/v2",
            activate_url=base + "/v2/activate",
            events_url=base + "/no-hits-expected/",
            timeout=10.0,
        )
    )
    local = Flagship(
        Config(ENV_ID, mode=Mode.BUCKETING),
        bucket_source=StaticBucketSource(bucket),
        tracker=MemoryTracker(),
    )
    siblings = sibling_keys(data)
    assigned_campaigns = 0
    activated = []
    try:
        for position, (vid, context) in enumerate(visitors):
            remote = api_mode.create_visitor(vid, context)
            mine = local.create_visitor(vid, context)
            assert remote.synchronize_modifications(), remote.last_error
            assert mine.synchronize_modifications(), mine.last_error
            assert [metadata(a) for a in remote.assignments] == [
                metadata(a) for a in mine.assignments
            ], vid
            for theirs, ours in zip(remote.assignments, mine.assignments, strict=True):
                filler = siblings[ours.variation_group_id] - set(ours.flags)
                assert dict(theirs.flags) == {**ours.flags, **dict.fromkeys(filler)}
            # merged values: the generated keys are per campaign, so no null filler of a
            # later campaign can hide an earlier value (see the docs on exposeAllKeys)
            expected = {k: f.value for k, f in mine.flags.items()}
            got = {k: f.value for k, f in remote.flags.items() if f.value is not None}
            assert got == {k: v for k, v in expected.items() if v is not None}
            for key in expected:
                assert remote.get_modification(key, "default") == mine.get_modification(
                    key, "default"
                )
            assigned_campaigns += len(mine.assignments)
            if position % 10 == 0 and mine.assignments:
                key = next(iter(remote.flags))
                assert remote.activate_modification(key)
                info = remote.flags[key].assignment
                activated.append((vid, info.variation_group_id, info.variation_id))
    finally:
        api_mode.stop()
        local.stop()

    # the comparison is not vacuous: most visitors are in several campaigns
    assert assigned_campaigns > VISITORS * 3
    # the SDK asked for trigger_hit false: only its own activations reached the pipeline
    received = [(a.visitor_id, a.variation_group_id, a.variation_id) for a in served.activations]
    assert received == activated
    assert len(activated) > 50
    # the server sent each synchronization's context, as Flagship's server does
    sent = [h.visitor_id for h in served.client.tracker.hits if h.payload["t"] == "SEGMENT"]
    assert sent == [vid for vid, _ in visitors]
