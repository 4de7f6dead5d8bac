"""trigger_hit, consent and decision groups."""

from __future__ import annotations

import base64

import mmh3
import pytest

from .conftest import ENV_ID, PREFIX, PREFIX_V2
from .test_v2_contract import ALWAYS, red, visitor

pytestmark = pytest.mark.django_db(databases=[])


def assigned(served):
    return [(a.visitor_id, a.variation_group_id, a.variation_id) for a in served.activations]


def test_trigger_hit_defaults_to_true_one_activation_per_campaign(served, api):
    vid = visitor(True)
    body = api.post(f"{PREFIX}/campaigns", {"visitor_id": vid}).json()
    expected = [(vid, c["variationGroupId"], c["variation"]["id"]) for c in body["campaigns"]]
    assert len(expected) == 1 + len(ALWAYS)
    assert assigned(served) == expected


@pytest.mark.parametrize("field", ["trigger_hit", "triggerHit", "activate"])
def test_trigger_hit_false_sends_nothing(served, api, field):
    api.post(f"{PREFIX_V2}/campaigns", {"visitorId": "v", field: False})
    assert served.activations == []


def test_no_consent_sends_nothing(served, api):
    api.post(f"{PREFIX_V2}/campaigns", {"visitorId": "v", "visitor_consent": False})
    assert served.activations == []


def test_anonymous_id_goes_with_the_activation(served, api):
    api.post(f"{PREFIX_V2}/campaigns/c-text", {"visitorId": "logged", "anonymousId": "anon"})
    (activation,) = served.activations
    assert (activation.visitor_id, activation.anonymous_id) == ("logged", "anon")


def test_single_campaign_activates_that_campaign_only(served, api):
    api.post(f"{PREFIX}/campaigns/c-html", {"visitor_id": "v"})
    assert assigned(served) == [("v", "vg-c-html", "var-c-html")]


def test_a_broken_tracker_does_not_break_the_answer(served, api, caplog):
    class Broken:
        def add_activation(self, item):
            raise RuntimeError("queue is gone")

    served.client.tracker = Broken()
    response = api.post(f"{PREFIX_V2}/campaigns", {"visitorId": "v"})
    assert response.status_code == 200
    assert "could not be queued" in caplog.text


def test_missing_tracker_is_logged(served, api, caplog):
    served.client.tracker = None
    assert api.post(f"{PREFIX_V2}/campaigns", {"visitorId": "v"}).status_code == 200
    assert "dropped" in caplog.text


# -- decision groups -------------------------------------------------------------------


def decision_group_key(group: str) -> str:
    return base64.b64encode(group.encode()).decode()


def group_is_red(group: str) -> bool:
    """Independent oracle: the group hashes as vgId + base64(group) (protocol 3.5)."""
    return mmh3.hash("vg-ab" + decision_group_key(group), 0, signed=False) % 100 >= 50


def ab_variation(api, vid, group, prefix=PREFIX_V2):
    body = api.post(f"{prefix}/campaigns", {"visitorId": vid, "decision_group": group}).json()
    return body["campaigns"][0]["variation"]["id"]


def test_decision_group_hash_matches_the_protocol_example():
    assert decision_group_key("team-42") == "dGVhbS00Mg=="
    assert mmh3.hash("bs8qvmo4nlr01fl9bbbb" + "dGVhbS00Mg==", 0, signed=False) == 2589847122


def test_members_of_a_group_share_the_variation(served, api):
    group = next(f"g{i}" for i in range(1000) if group_is_red(f"g{i}"))
    expected = "var-ab-red"
    # visitors that alone would get the other variation follow the group
    loners = [f"v{i}" for i in range(200) if not red(f"v{i}")][:20]
    assert loners
    assert {ab_variation(api, vid, group) for vid in loners} == {expected}
    other = next(f"g{i}" for i in range(1000) if not group_is_red(f"g{i}"))
    assert {ab_variation(api, vid, other, PREFIX) for vid in loners[:5]} == {"var-ab-ref"}


def test_group_keeps_its_variation_when_allocation_changes(served, api):
    group = next(f"g{i}" for i in range(1000) if group_is_red(f"g{i}"))
    assert ab_variation(api, "first", group) == "var-ab-red"
    # the allocation moves everyone to the reference, as a new bucket would
    data = served.data
    variations = data["campaigns"][0]["variationGroups"][0]["variations"]
    variations[0]["allocation"], variations[1]["allocation"] = 100, 0
    served.replace(data)
    assert ab_variation(api, "later", group) == "var-ab-red"
    assert ab_variation(api, "later", None) == "var-ab-ref"
    # a group first seen after the change gets the new allocation
    newcomer = next(f"n{i}" for i in range(1000) if group_is_red(f"n{i}"))
    assert ab_variation(api, "later", newcomer) == "var-ab-ref"


def test_group_memory_is_shared_through_the_django_cache(served, api, monkeypatch):
    """Another process has only the cache in common: a fresh bucket object, a cleared index."""
    from django.core.cache import caches

    from django_flagship.decision_api import index

    group = next(f"g{i}" for i in range(1000) if group_is_red(f"g{i}"))
    assert ab_variation(api, "a", group) == "var-ab-red"
    keys = list(caches["default"]._cache)  # locmem internals: exactly one group entry
    assert len(keys) == 1
    data = served.data
    variations = data["campaigns"][0]["variationGroups"][0]["variations"]
    variations[0]["allocation"], variations[1]["allocation"] = 100, 0
    served.replace(data)
    monkeypatch.setattr(index, "_index_slot", None)
    assert ab_variation(api, "b", group) == "var-ab-red"
    caches["default"].clear()
    assert ab_variation(api, "b", group) == "var-ab-ref"


def test_group_cache_is_per_environment(served, api, settings):
    settings.FLAGSHIP_DECISION_API_ENVIRONMENTS = {ENV_ID: ["k"], "second": ["k2"]}
    group = next(f"g{i}" for i in range(1000) if group_is_red(f"g{i}"))
    assert (
        api.post(
            f"{PREFIX_V2}/campaigns", {"visitorId": "a", "decision_group": group}, key="k"
        ).status_code
        == 200
    )
    data = served.data
    variations = data["campaigns"][0]["variationGroups"][0]["variations"]
    variations[0]["allocation"], variations[1]["allocation"] = 100, 0
    served.replace(data)
    other = api.post(
        "/decision-api/v2/second/campaigns", {"visitorId": "a", "decision_group": group}, key="k2"
    ).json()
    assert other["campaigns"][0]["variation"]["id"] == "var-ab-ref"


def group_entry(group: str, env_id: str = ENV_ID) -> dict | None:
    from django.core.cache import caches

    from django_flagship.decision_api.groups import group_cache_key

    return caches["default"].get(group_cache_key("flagship", env_id, group))


def test_a_group_decided_at_once_by_two_processes_keeps_one_variation(served, api, monkeypatch):
    """The other process writes the group between this one's read and its write: it wins."""
    from django.core.cache import caches

    from django_flagship.decision_api.groups import group_cache_key

    cache = caches["default"]
    group = next(f"g{i}" for i in range(1000) if group_is_red(f"g{i}"))
    key = group_cache_key("flagship", ENV_ID, group)
    real_add = cache.add
    raced = []

    def add_after_the_other_process(k, value, timeout=None, version=None):
        if k == key and not raced:
            # the other process hashed the group under an older allocation
            raced.append(value)
            cache.set(key, {"vg-ab": "var-ab-ref"}, timeout)
        return real_add(k, value, timeout, version)

    monkeypatch.setattr(cache, "add", add_after_the_other_process)
    body = api.post(f"{PREFIX_V2}/campaigns", {"visitorId": "a", "decision_group": group}).json()
    assert len(raced) == 1
    assert raced[0]["vg-ab"] == "var-ab-red"  # this process had decided red
    assert body["campaigns"][0]["variation"]["id"] == "var-ab-ref"
    entry = group_entry(group)
    assert entry["vg-ab"] == "var-ab-ref"
    # what the winner had not decided is added, and answered consistently
    assert entry == {c["variationGroupId"]: c["variation"]["id"] for c in body["campaigns"]}
    assert ab_variation(api, "b", group) == "var-ab-ref"
    # every activation was for the winner's variation
    assert ("vg-ab", "var-ab-red") not in {
        (a.variation_group_id, a.variation_id) for a in served.activations
    }


def test_the_first_decision_of_a_group_is_written_with_add(served, api, monkeypatch):
    from django.core.cache import caches

    cache = caches["default"]
    calls = []
    real_add, real_set = cache.add, cache.set
    monkeypatch.setattr(cache, "add", lambda *a, **k: calls.append("add") or real_add(*a, **k))
    monkeypatch.setattr(cache, "set", lambda *a, **k: calls.append("set") or real_set(*a, **k))
    group = next(f"g{i}" for i in range(1000) if group_is_red(f"g{i}"))
    assert ab_variation(api, "a", group) == "var-ab-red"
    assert calls == ["add"]
    assert ab_variation(api, "b", group) == "var-ab-red"
    assert calls == ["add"]  # nothing new: no write at all


def test_a_group_gets_new_variation_groups_merged_in(served, api):
    from django.core.cache import caches

    from django_flagship.decision_api.groups import group_cache_key

    group = next(f"g{i}" for i in range(1000) if group_is_red(f"g{i}"))
    # an entry from before the other campaigns existed, with the reference
    caches["default"].set(group_cache_key("flagship", ENV_ID, group), {"vg-ab": "var-ab-ref"})
    body = api.post(f"{PREFIX_V2}/campaigns", {"visitorId": "a", "decision_group": group}).json()
    assert body["campaigns"][0]["variation"]["id"] == "var-ab-ref"
    entry = group_entry(group)
    assert entry["vg-ab"] == "var-ab-ref"
    assert len(entry) == len(body["campaigns"]) > 1


# -- the context hit (SEGMENT) -----------------------------------------------------------


def segments(served):
    return [
        (h.visitor_id, h.anonymous_id, dict(h.payload["s"]))
        for h in served.client.tracker.hits
        if h.payload["t"] == "SEGMENT"
    ]


def test_context_is_sent_as_a_segment_hit(served, api):
    context = {"age": 31, "vip": True, "plan": "pro", "score": 0.5, "tags": ["a", "b"]}
    body = {"visitorId": "logged", "anonymousId": "anon", "context": context}
    api.post(f"{PREFIX_V2}/campaigns?exposeAllKeys=true", body)
    assert segments(served) == [
        (
            "logged",
            "anon",
            {"age": "31", "vip": "true", "plan": "pro", "score": "0.5", "tags": "[a b]"},
        )
    ]


def test_a_context_of_lists_alone_is_sent_too(served, api):
    """As Flagship's server does: every context value, a list written as Go's %v writes it."""
    body = {"visitorId": "v", "context": {"groups": ["beta-testers", "staff"], "n": [1, True]}}
    assert api.post(f"{PREFIX_V2}/campaigns", body).status_code == 200
    assert segments(served) == [("v", None, {"groups": "[beta-testers staff]", "n": "[1 true]"})]


@pytest.mark.parametrize(
    ("query", "body"),
    [
        ("?sendContextEvent=false", {"visitorId": "v", "context": {"a": 1}}),
        ("", {"visitorId": "v", "context": {"a": 1}, "visitor_consent": False}),
        ("", {"visitorId": "v", "context": {}}),
    ],
)
def test_no_segment_hit(served, api, query, body):
    assert api.post(f"{PREFIX_V2}/campaigns{query}", body).status_code == 200
    assert segments(served) == []


def test_no_segment_hit_in_panic(served, api):
    data = served.data
    data["panic"] = True
    served.replace(data)
    api.post(f"{PREFIX_V2}/campaigns", {"visitorId": "v", "context": {"a": 1}})
    assert served.client.tracker.hits == []


CHILD = """
import json, sys
from django.conf import settings
settings.configure(CACHES={"default": {
    "BACKEND": "django.core.cache.backends.filebased.FileBasedCache", "LOCATION": sys.argv[1]}})
import django
django.setup()
from django_flagship.decision_api.groups import decide
from django_flagship.decision_api.parsing import DecisionRequest
from django_flagship.served_conf import server_settings
from django_flagship.sdk.bucketing import Bucket
bucket = Bucket.parse(json.loads(sys.stdin.read()))
request = DecisionRequest(visitor_id=sys.argv[2], decision_group=sys.argv[3])
print(decide(bucket, request, env_id="env", conf=server_settings())[0].variation_id)
"""


def test_group_memory_is_shared_between_processes(tmp_path, settings):
    """Two real processes, one file-based Django cache: the first decides, the second follows."""
    import json
    import subprocess
    import sys

    from django_flagship.decision_api.groups import decide
    from django_flagship.decision_api.parsing import DecisionRequest
    from django_flagship.sdk.bucketing import Bucket
    from django_flagship.served_conf import server_settings

    from .conftest import bucket_data

    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(tmp_path),
        }
    }
    group = next(f"g{i}" for i in range(1000) if group_is_red(f"g{i}"))
    data = bucket_data()
    child = subprocess.run(
        [sys.executable, "-c", CHILD, str(tmp_path), "first", group],
        input=json.dumps(data),
        capture_output=True,
        text=True,
        check=True,
    )
    assert child.stdout.strip() == "var-ab-red"
    variations = data["campaigns"][0]["variationGroups"][0]["variations"]
    variations[0]["allocation"], variations[1]["allocation"] = 100, 0
    request = DecisionRequest(visitor_id="second", decision_group=group)
    assignments = decide(Bucket.parse(data), request, env_id="env", conf=server_settings())
    assert assignments[0].variation_id == "var-ab-red"
    alone = DecisionRequest(visitor_id="second", decision_group="never-seen-" + group)
    assert (
        decide(Bucket.parse(data), alone, env_id="env", conf=server_settings())[0].variation_id
        == "var-ab-ref"
    )
