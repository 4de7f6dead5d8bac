import json
import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
import responses
from django.core.management import CommandError, call_command

from django_flagship.client import get_bucket, get_store
from django_flagship.history import history_key
from django_flagship.management.commands.flagship_decide import parse_context_item
from tests.conftest import DATA


def run(*args):
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


@pytest.fixture
def shared_cache(configured, tmp_path):
    """A file-based cache: one every process of a site can share."""
    configured.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(tmp_path / "cache"),
        }
    }
    return configured


def test_refresh_from_a_file(shared_cache):
    output = run("flagship_refresh_bucket", "--file", str(DATA / "bucketing-v2.json"))
    assert output.startswith("Bucket updated: 5 campaigns, 5 variation groups")
    assert "Last-Modified unknown" in output
    assert get_store().cached_entry()["source"] == "file"


def test_refresh_with_a_bad_file_fails_and_keeps_the_bucket(shared_cache):
    before = get_bucket()
    with pytest.raises(CommandError, match=r"not refreshed.*not valid JSON"):
        run("flagship_refresh_bucket", "--file", str(DATA / "not-json.json"))
    assert get_bucket() is before


@pytest.mark.parametrize(
    ("backend", "why"),
    [
        ("django.core.cache.backends.locmem.LocMemCache", "LocMemCache, which lives in the memory"),
        ("django.core.cache.backends.dummy.DummyCache", "DummyCache, which keeps nothing"),
    ],
)
def test_refresh_refuses_a_cache_private_to_the_process(configured, backend, why):
    configured.CACHES = {"default": {"BACKEND": backend}}
    before = get_bucket()
    version = get_store().version
    with pytest.raises(CommandError) as info:
        run("flagship_refresh_bucket", "--file", str(DATA / "bucketing-v2.json"))
    message = str(info.value)
    assert message.startswith("The file is a valid bucketing file, but it was not stored")
    assert f"the cache 'default' holding the Flagship bucket is a {why}" in message
    for advice in ("Redis", "Memcached", "database cache", "file-based cache", "W004"):
        assert advice in message
    assert "--this-process-only" in message
    assert get_bucket() is before  # nothing was installed, even in this process
    assert get_store().version == version
    entry = get_store().cached_entry()
    assert entry is None or entry["version"] == version  # DummyCache keeps nothing


def test_refresh_private_cache_with_a_bad_file_names_the_file_first(configured):
    with pytest.raises(CommandError, match=r"not refreshed.*not valid JSON"):
        run("flagship_refresh_bucket", "--file", str(DATA / "not-json.json"))


@responses.activate
def test_refresh_download_refuses_a_private_cache_without_downloading(configured):
    configured.FLAGSHIP_ENV_ID = "env-cmd"
    configured.FLAGSHIP_POLLING_INTERVAL = 0
    responses.get("https://cdn.flagship.io/env-cmd/bucketing.json", body="{}")
    with pytest.raises(CommandError, match=r"LocMemCache.*--this-process-only") as info:
        run("flagship_refresh_bucket")
    assert "valid bucketing file" not in str(info.value)
    assert len(responses.calls) == 0


def test_refresh_this_process_only_says_so(configured):
    output = run(
        "flagship_refresh_bucket", "--file", str(DATA / "bucketing-v2.json"), "--this-process-only"
    )
    first, second = output.splitlines()
    assert first == (
        "Only this process was updated: the cache 'default' is a LocMemCache, which lives "
        "in the memory of one process. No running site sees this bucket."
    )
    assert second.startswith("Bucket updated: 5 campaigns, 5 variation groups")
    assert get_bucket().campaign_count == 5


def test_refresh_this_process_only_refuses_a_shared_cache(shared_cache):
    with pytest.raises(CommandError, match="'default' is shared, so every process"):
        run(
            "flagship_refresh_bucket",
            "--file",
            str(DATA / "bucketing-v2.json"),
            "--this-process-only",
        )
    assert get_store().cached_entry() is None


def test_private_cache_still_warns_at_deploy_check(configured):
    from django_flagship.checks import check_deploy

    assert [m.id for m in check_deploy()] == ["django_flagship.W004"]


def test_refresh_unconfigured(settings):
    with pytest.raises(CommandError, match="FLAGSHIP_ENV_ID"):
        run("flagship_refresh_bucket")


def test_refresh_without_env_id_cannot_download(configured):
    with pytest.raises(CommandError, match="FLAGSHIP_ENV_ID is not set"):
        run("flagship_refresh_bucket")


@responses.activate
def test_refresh_downloads(shared_cache):
    shared_cache.FLAGSHIP_ENV_ID = "env-cmd"
    shared_cache.FLAGSHIP_POLLING_INTERVAL = 0
    responses.get(
        "https://cdn.flagship.io/env-cmd/bucketing.json",
        body=(DATA / "bucketing.json").read_text(),
        headers={"Last-Modified": "Wed, 21 Oct 2026 07:28:00 GMT"},
    )
    output = run("flagship_refresh_bucket")
    assert "Bucket updated" in output
    assert "Last-Modified Wed, 21 Oct 2026 07:28:00 GMT" in output


def test_decide_table(configured):
    output = run("flagship_decide", "--visitor", "v1", "--context", "is_staff=true")
    lines = output.splitlines()
    assert lines[0] == "Visitor 'v1' (BUCKETING), anonymous."
    staff = next(line for line in lines if line.startswith("c-staff"))
    assert staff.split()[:6] == ["c-staff", "(Staff", "tools)", "vg-staff", "(Staff)", "v-staff-on"]
    assert staff.split()[6] == "matched"
    lang = next(line for line in lines if line.startswith("c-lang"))
    assert "targeting" in lang or "not" in lang
    assert any(line.split()[:2] == ["staff_tool", "true"] for line in lines)
    assert any(line.split()[:2] == ["btn_color", '"red"'] for line in lines)


def test_decide_verbose_shows_targeting_details(configured):
    output = run("flagship_decide", "--visitor", "v1", "--verbosity", "2")
    assert any(
        line.startswith("  c-lang: variation group 'vg-lang'") for line in output.splitlines()
    )


def test_decide_json(configured):
    output = run("flagship_decide", "--visitor", "v1", "--context", "language=fr", "--json")
    report = json.loads(output)
    assert report["mode"] == "BUCKETING"
    assert report["context"]["language"] == "fr"
    by_id = {c["campaign_id"]: c for c in report["campaigns"]}
    assert by_id["c-lang"]["variation_id"] == "v-lang-fr"
    assert by_id["c-staff"]["variation_id"] is None
    assert by_id["c-ab"]["bucket"] is not None
    assert report["flags"]["greeting"] == {
        "value": "bonjour",
        "campaign_id": "c-lang",
        "campaign_name": "French greeting",
        "variation_id": "v-lang-fr",
        "variation_name": "v-lang-fr",
        "source": "hash",
    }


def test_decide_with_a_list_context_decides_like_the_site(configured):
    """``language`` as a list: EQUALS matches when one element does (protocol 4.2)."""
    output = run(
        "flagship_decide", "--visitor", "v1", "--context", 'language=["de", "fr"]', "--json"
    )
    report = json.loads(output)
    assert report["context"]["language"] == ["de", "fr"]
    by_id = {c["campaign_id"]: c for c in report["campaigns"]}
    assert by_id["c-lang"]["variation_id"] == "v-lang-fr"


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        ("age=31", ("age", 31)),
        ("ratio=0.5", ("ratio", 0.5)),
        ("vip=true", ("vip", True)),
        ("name=bob", ("name", "bob")),
        ('zip="75001"', ("zip", "75001")),
        ("tags=[1,2]", ("tags", (1, 2))),
        ('tags=["beta", "news"]', ("tags", ("beta", "news"))),
        ("tags=[]", ("tags", ())),
        ('obj={"a": 1}', ("obj", '{"a": 1}')),
        ("nothing=null", ("nothing", "null")),
        ("empty=", ("empty", "")),
        ("eq=a=b", ("eq", "a=b")),
    ],
)
def test_context_parsing(item, expected):
    assert parse_context_item(item) == expected


@pytest.mark.parametrize(
    "item", ["novalue", "=x", "fs_client=x", "tags=[[1]]", "tags=[null]", f"tags={[1] * 101}"]
)
def test_context_parsing_errors(item):
    with pytest.raises(CommandError):
        parse_context_item(item)


def test_decide_unconfigured(settings):
    with pytest.raises(CommandError, match="not configured"):
        run("flagship_decide", "--visitor", "v1")


def test_decide_without_a_bucket(settings, tmp_path):
    settings.FLAGSHIP_BUCKET_FILE = str(tmp_path / "missing.json")
    with pytest.raises(CommandError, match="flagship_refresh_bucket"):
        run("flagship_decide", "--visitor", "v1")


@responses.activate
@pytest.mark.django_db
def test_decide_in_decision_api_mode(settings, django_user_model):
    settings.FLAGSHIP_MODE = "DECISION_API"
    settings.FLAGSHIP_ENV_ID = "env"
    settings.FLAGSHIP_API_KEY = "key"
    settings.FLAGSHIP_TRACKER = "tests.django.support.memory_tracker"
    responses.post(
        "https://decision.flagship.io/v2/env/campaigns",
        json={
            "visitorId": "v1",
            "campaigns": [
                {
                    "id": "c1",
                    "variationGroupId": "vg1",
                    "variation": {
                        "id": "var1",
                        "name": "Red",
                        "modifications": {"type": "FLAG", "value": {"btn_color": "red"}},
                    },
                }
            ],
        },
    )
    user = django_user_model.objects.create_user("carol")
    args = ("--user", "carol", "--anonymous-id", "a1", "--json")
    report = json.loads(run("flagship_decide", *args))
    assert report["campaigns"][0]["variation_name"] == "Red"
    assert report["flags"]["btn_color"]["value"] == "red"
    assert report["campaigns"][0]["source"] == report["flags"]["btn_color"]["source"]
    assert report["flags"]["btn_color"]["source"] == "decision_api"
    assert "history" not in report
    body = json.loads(responses.calls[0].request.body)
    assert (body["visitorId"], body["anonymousId"]) == (str(user.pk), "a1")
    assert body["context"]["is_authenticated"] is True
    assert report["user"] == {"pk": str(user.pk), "username": "carol"}


@responses.activate
def test_decide_decision_api_failure(settings):
    settings.FLAGSHIP_MODE = "DECISION_API"
    settings.FLAGSHIP_ENV_ID = "env"
    settings.FLAGSHIP_API_KEY = "key"
    responses.post("https://decision.flagship.io/v2/env/campaigns", status=500)
    with pytest.raises(CommandError, match="Decision API call failed"):
        run("flagship_decide", "--visitor", "v1")


# -- flagship_decide and the assignment history (BUCKETING) ---------------------------


def _hash_variation(visitor_id):
    report = json.loads(run("flagship_decide", "--visitor", visitor_id, "--no-history", "--json"))
    return {c["campaign_id"]: c for c in report["campaigns"]}["c-ab"]["variation_id"]


def _store_history(visitor_id, assignments):
    from django.core.cache import caches

    from django_flagship.client import runtime

    key = history_key(runtime().namespace, visitor_id)
    caches["default"].set(key, {"assignments": assignments, "segment": None})


NAMES = {"v-ab-ref": "(Original)", "v-ab-green": "(Green)"}


def _other(variation_id):
    return "v-ab-green" if variation_id == "v-ab-ref" else "v-ab-ref"


def test_decide_applies_the_stored_history_as_the_site_does(configured):
    from django_flagship.flags import Flags

    hashed = _hash_variation("v1")
    pinned = _other(hashed)
    _store_history("v1", {"vg-ab": pinned})
    report = json.loads(run("flagship_decide", "--visitor", "v1", "--json"))
    assert report["history"] == {
        "status": "stored",
        "owner": "v1",
        "read_from": "cache",
        "assignments": {"vg-ab": pinned},
    }
    by_id = {c["campaign_id"]: c for c in report["campaigns"]}
    assert (by_id["c-ab"]["variation_id"], by_id["c-ab"]["source"]) == (pinned, "stored")
    assert "cached variation" in by_id["c-ab"]["detail"][-1]
    assert by_id["c-toggles"]["source"] == "hash"
    assert by_id["c-staff"]["source"] is None
    value = "green" if pinned == "v-ab-green" else "blue"
    assert report["flags"]["ab_color"] == {
        "value": value,
        "campaign_id": "c-ab",
        "campaign_name": "Checkout colour",
        "variation_id": pinned,
        "variation_name": "Green" if pinned == "v-ab-green" else "Original",
        "source": "stored",
    }
    assert report["flags"]["btn_color"]["source"] == "hash"
    # What the site serves the same visitor.
    assert Flags("v1").get("ab_color", "") == value


def test_decide_no_history_shows_the_hash_decision(configured):
    hashed = _hash_variation("v1")
    _store_history("v1", {"vg-ab": _other(hashed)})
    report = json.loads(run("flagship_decide", "--visitor", "v1", "--no-history", "--json"))
    assert report["history"] == {"status": "ignored", "assignments": {}}
    by_id = {c["campaign_id"]: c for c in report["campaigns"]}
    assert (by_id["c-ab"]["variation_id"], by_id["c-ab"]["source"]) == (hashed, "hash")
    assert by_id["c-ab"]["bucket"] is not None
    assert report["flags"]["ab_color"]["source"] == "hash"


def test_decide_table_marks_stored_assignments(configured):
    pinned = _other(_hash_variation("v1"))
    _store_history("v1", {"vg-ab": pinned})
    lines = run("flagship_decide", "--visitor", "v1").splitlines()
    assert lines[1] == "Assignment history: 1 stored for 'v1' (read from the cache)."
    ab = next(line for line in lines if line.startswith("c-ab"))
    assert ab.split() == [
        "c-ab",
        "(Checkout",
        "colour)",
        "vg-ab",
        "(Everyone)",
        pinned,
        NAMES[pinned],
        "matched",
        "stored",
    ]
    toggles = next(line for line in lines if line.startswith("c-toggles"))
    assert toggles.split()[-1] == "hash"
    flag = next(line for line in lines if line.startswith("ab_color"))
    assert flag.split()[-3:] == [pinned, NAMES[pinned], "stored"]
    lines = run("flagship_decide", "--visitor", "v1", "--no-history").splitlines()
    assert lines[1].startswith("Assignment history: ignored (--no-history)")
    ab = next(line for line in lines if line.startswith("c-ab"))
    assert ab.split()[5:] == [_other(pinned), NAMES[_other(pinned)], "matched", "hash"]


@pytest.mark.django_db
def test_decide_copies_the_anonymous_history_at_login(configured, django_user_model):
    user_id = str(django_user_model.objects.create_user("dave").pk)
    hashed = _hash_variation(user_id)
    pinned = _other(hashed)
    _store_history("anon-1", {"vg-ab": pinned})
    args = ("flagship_decide", "--user", "dave", "--anonymous-id", "anon-1", "--json")
    report = json.loads(run(*args))
    assert report["history"]["status"] == "copied"
    assert report["history"]["owner"] == "anon-1"
    by_id = {c["campaign_id"]: c for c in report["campaigns"]}
    assert (by_id["c-ab"]["variation_id"], by_id["c-ab"]["source"]) == (pinned, "stored")
    # Once the user has a history of their own, the anonymous one no longer counts.
    _store_history(user_id, {"vg-ab": hashed})
    report = json.loads(run(*args))
    assert report["history"]["status"] == "stored"
    assert {c["campaign_id"]: c for c in report["campaigns"]}["c-ab"]["variation_id"] == hashed


def test_decide_reports_a_stored_variation_that_is_gone(configured):
    _store_history("v1", {"vg-ab": "v-deleted"})
    report = json.loads(run("flagship_decide", "--visitor", "v1", "--json"))
    ab = {c["campaign_id"]: c for c in report["campaigns"]}["c-ab"]
    assert ab["variation_id"] is None
    assert ab["source"] == "stored"
    assert "no longer in the variation group" in ab["result"]
    assert "ab_color" not in report["flags"]


def test_decide_without_history_stored_or_enabled(configured):
    report = json.loads(run("flagship_decide", "--visitor", "v1", "--json"))
    assert report["history"] == {"status": "none", "assignments": {}}
    configured.FLAGSHIP_ASSIGNMENT_HISTORY = False
    _store_history("v1", {"vg-ab": "v-ab-green"})
    report = json.loads(run("flagship_decide", "--visitor", "v1", "--json"))
    assert report["history"] == {"status": "off", "assignments": {}}
    assert "FLAGSHIP_ASSIGNMENT_HISTORY is False" in run("flagship_decide", "--visitor", "v1")


def test_decide_writes_no_history_and_sends_no_hit(configured, tracker):
    from django.core.cache import caches

    from django_flagship.client import runtime

    run("flagship_decide", "--visitor", "v1")
    assert caches["default"].get(history_key(runtime().namespace, "v1")) is None
    assert tracker.hits == []


@responses.activate
def test_decide_decision_api_failure_never_shows_the_key(settings):
    settings.FLAGSHIP_MODE = "DECISION_API"
    settings.FLAGSHIP_ENV_ID = "env"
    settings.FLAGSHIP_API_KEY = "the-real-api-key"
    responses.post(
        "https://decision.flagship.io/v2/env/campaigns",
        status=401,
        json={"message": "bad x-api-key the-real-api-key"},
    )
    with pytest.raises(CommandError, match=r"answered 401: .*bad x-api-key \*\*\*") as info:
        run("flagship_decide", "--visitor", "v1")
    assert "the-real-api-key" not in str(info.value)


def _manage(*args):
    root = Path(__file__).resolve().parents[2]
    return subprocess.run(
        [sys.executable, "-m", "django", *args],
        capture_output=True,
        text=True,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.django.locmem_settings",
            "PYTHONPATH": str(root),
        },
        cwd=root,
        timeout=60,
    )


def test_refresh_in_its_own_process_with_a_private_cache_exits_non_zero():
    """What a user of the README's locmemcache:// runs: it must not report success."""
    done = _manage("flagship_refresh_bucket", "--file", str(DATA / "bucketing-v2.json"))
    assert done.returncode == 1
    assert done.stdout == ""
    assert "CommandError: The file is a valid bucketing file, but it was not stored" in done.stderr
    assert "LocMemCache" in done.stderr
    done = _manage(
        "flagship_refresh_bucket", "--file", str(DATA / "bucketing-v2.json"), "--this-process-only"
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Only this process was updated")
