"""The official ``flagship==3.0.1`` SDK, pointed at the site's bucketing endpoint, decides as we do.

The site serves its authored campaigns at ``/flagship/<env>/bucketing.json``
on a live server; the SDK (BUCKETING mode) downloads the file from there
instead of Flagship's CDN, over real HTTP, and polls it with
``If-Modified-Since``. For 1,000 visitors its flags (value, campaign,
variation group, variation, reference) must equal ours.

The campaigns avoid the documented differences between the official SDK and
the decision engine (``docs/differences.md``) by construction: random files
from :func:`benchmarks.official.agreeing_bucket` (fully allocated variation
groups but the last, lower-case strings that are not JSON, one kind per key,
no EXISTS/SEMVER, no bucket ranges but ``[0, 100]``, explicit references),
plus flags made by ``flagship_flag`` (one variation group each, so the
official SDK's fall-through to the next group never applies) and by
``FLAGSHIP_LOCAL_FLAGS``.
"""

import random
import threading
import time
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import TestCase
from pytest_django.live_server_helper import LiveServer

from benchmarks.official import (
    OfficialSDK,
    agreeing_bucket,
    our_flags,
    random_context,
    random_visitor_id,
)
from django_flagship import client
from django_flagship.authoring.transfer import import_document
from django_flagship.client import get_bucket, get_store

flagship = pytest.importorskip("flagship")

VISITORS = 1000
ENV = "site-env"


@pytest.fixture
def site_server(local, transactional_db):
    local.ROOT_URLCONF = "tests.authoring.urls"
    local.FLAGSHIP_ENV_ID = ENV
    local.FLAGSHIP_LOCAL_FLAGS = {"settings_flag": {"left": 30, "right": 70}}
    server = LiveServer("localhost")
    yield server
    client.reset()
    deadline = time.monotonic() + 10.0
    while time.monotonic() < deadline and any(
        "process_request_thread" in thread.name for thread in threading.enumerate()
    ):
        time.sleep(0.02)
    server.stop()


def flag_command(*args):
    with TestCase.captureOnCommitCallbacks(execute=True):
        call_command("flagship_flag", *args, stdout=StringIO())


def test_the_official_sdk_decides_as_we_do_from_the_site(site_server):
    rng = random.Random(1616)
    visitors = [random_visitor_id(rng, n) for n in range(VISITORS)]
    import_document(agreeing_bucket(rng, 25, visitors, prefix="site", realistic=True))
    flag_command("create", "vip_feature", "--value", "true", "--percent", "50",
                 "--target", "plan=pro")  # fmt: skip
    flag_command("create", "btn_color", "--split", "red=34", "--split", "blue=33",
                 "--split", "green=33")  # fmt: skip
    flag_command("create", "max_items", "--type", "int", "--value", "12", "--percent", "40",
                 "--target", "age>=30", "--target", "country CONTAINS e")  # fmt: skip
    bucket = get_bucket()
    assert get_store().entry_key.endswith(f"{ENV}:bucket")

    url = f"{site_server.url}/flagship/{{}}/bucketing.json"
    compared = agreed = 0
    mismatches = []
    seen = set()
    with OfficialSDK(None, env_id=ENV, bucketing_url=url) as sdk:
        manager = sdk.poll()
        assert manager.last_modified == get_store().last_modified
        for visitor_id in visitors:
            context = random_context(rng, visitor_id)
            theirs = sdk.flags(visitor_id, context)
            ours = our_flags(bucket, visitor_id, context)
            compared += 1
            seen.update(ours)
            if theirs == ours:
                agreed += 1
            else:
                mismatches.append((visitor_id[:30], context, theirs, ours))
    assert mismatches == [], f"{len(mismatches)} of {compared} visitors differ: {mismatches[:2]}"
    assert agreed == compared == VISITORS
    # Every kind of authored flag was decided for someone.
    assert {"vip_feature", "btn_color", "max_items", "settings_flag"} <= seen


def test_the_official_sdk_polls_the_site_and_sees_a_change(site_server):
    flag_command("create", "banner", "--value", "summer")
    url = f"{site_server.url}/flagship/{{}}/bucketing.json"
    with OfficialSDK(None, env_id=ENV, bucketing_url=url) as sdk:
        assert sdk.flags("v-1", {})["banner"][0] == "summer"
        first = sdk.poll().last_modified  # a 304: nothing changes
        assert sdk.flags("v-1", {})["banner"][0] == "summer"
        flag_command("update", "banner", "--value", "winter")
        manager = sdk.poll()
        assert manager.last_modified != first
        assert sdk.flags("v-1", {})["banner"][0] == "winter"
