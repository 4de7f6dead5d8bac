import json
import threading
import time

import pytest
import requests
import responses

from django_flagship.sdk import Config, Flagship, Mode
from django_flagship.sdk.bucket_source import (
    CdnBucketSource,
    download_bucketing_file,
    load_bucketing_file,
)
from django_flagship.sdk.bucketing import BucketError
from django_flagship.sdk.tracking import MemoryTracker

from .conftest import SAMPLE_BUCKET

URL = "https://cdn.example.test/env/bucketing.json"
LAST_MODIFIED = "Wed, 21 Oct 2026 07:28:00 GMT"


def make_source(errors, **kwargs):
    return CdnBucketSource(
        URL,
        timeout=1.0,
        polling_interval=kwargs.pop("polling_interval", 0),
        on_error=errors.append,
        **kwargs,
    )


@responses.activate
def test_first_download_without_if_modified_since_then_304_keeps_bucket():
    responses.get(URL, json=SAMPLE_BUCKET, headers={"Last-Modified": LAST_MODIFIED})
    responses.get(URL, status=304)
    errors = []
    source = make_source(errors)
    assert source.refresh() is True
    first = source.current()
    assert first is not None
    assert first.campaign_count == 3
    assert "If-Modified-Since" not in responses.calls[0].request.headers
    assert source.refresh() is False
    assert responses.calls[1].request.headers["If-Modified-Since"] == LAST_MODIFIED
    assert source.current() is first
    assert errors == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"status": 500, "body": "oops"}, "answered 500"),
        ({"status": 200, "body": "<html>"}, "not valid JSON"),
        ({"status": 200, "json": {"nothing": 1}}, "no campaigns list"),
        ({"status": 200, "json": [1]}, "not a JSON object"),
        ({"body": requests.ConnectionError()}, "could not be downloaded"),
        ({"body": requests.ReadTimeout()}, "did not arrive within 1 s"),
    ],
)
@responses.activate
def test_bad_answers_keep_the_good_bucket(kwargs, message):
    responses.get(URL, json=SAMPLE_BUCKET, headers={"Last-Modified": LAST_MODIFIED})
    responses.get(URL, **kwargs)
    errors = []
    source = make_source(errors)
    source.refresh()
    good = source.current()
    assert source.refresh() is False
    assert source.current() is good
    assert source.last_modified == LAST_MODIFIED
    assert len(errors) == 1
    assert message in errors[0]
    assert "keeping the current bucket" in errors[0]


@responses.activate
def test_panic_file_is_installed():
    responses.get(URL, json={"panic": True})
    source = make_source([])
    assert source.refresh()
    assert source.current().panic is True


@responses.activate
def test_download_helper_reports_not_modified():
    responses.get(URL, status=304)
    with requests.Session() as session:
        result = download_bucketing_file(session, URL, timeout=1, last_modified=LAST_MODIFIED)
    assert result.modified is False
    assert result.last_modified == LAST_MODIFIED


def test_polling_thread_refreshes_and_stops_at_once():
    calls = []
    ready = threading.Event()

    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:

        def callback(request):
            calls.append(time.monotonic())
            if len(calls) >= 3:
                ready.set()
            return (200, {"Last-Modified": LAST_MODIFIED}, json.dumps(SAMPLE_BUCKET))

        mock.add_callback(responses.GET, URL, callback=callback)
        source = make_source([], polling_interval=0.01)
        source.start()
        assert source.polling
        assert ready.wait(5)
        started = time.monotonic()
        source.close()
        assert time.monotonic() - started < 1.0
        assert not source.polling
        count = len(calls)
        time.sleep(0.05)
        assert len(calls) == count


def test_load_file_errors(tmp_path):
    with pytest.raises(BucketError, match="cannot read"):
        load_bucketing_file(str(tmp_path / "missing.json"))
    bad = tmp_path / "bad.json"
    bad.write_text("[]")
    with pytest.raises(BucketError, match="not a JSON object"):
        load_bucketing_file(str(bad))


@responses.activate
def test_bucketing_client_from_cdn(handler):
    responses.get(
        "https://cdn.flagship.io/env42/bucketing.json",
        json=SAMPLE_BUCKET,
        headers={"Last-Modified": LAST_MODIFIED},
    )
    client = Flagship(
        Config("env42", mode=Mode.BUCKETING, polling_interval=0, event_handler=handler),
        tracker=MemoryTracker(),  # the visitor's SEGMENT stays here
    )
    try:
        visitor = client.create_visitor("v", {"isVip": True})
        visitor.synchronize_modifications()
        assert visitor.get_modification("vip_feature", False) is True
    finally:
        client.stop()


def _with_nan_allocation() -> dict:
    bucket = json.loads(json.dumps(SAMPLE_BUCKET))
    bucket["campaigns"][1]["variationGroups"][0]["variations"][1]["allocation"] = float("nan")
    bucket["campaigns"][2]["bucketRanges"] = [{"r": [0, float("inf")]}]
    return bucket


@pytest.mark.parametrize("number", [float("nan"), float("inf"), float("-inf")])
def test_a_non_finite_number_skips_only_its_campaign_part(number):
    from django_flagship.sdk.bucketing import Bucket

    bucket = json.loads(json.dumps(SAMPLE_BUCKET))
    bucket["campaigns"][1]["variationGroups"][0]["variations"][1]["allocation"] = number
    bucket["campaigns"][2]["bucketRanges"] = [{"r": [0, number]}]
    problems = []
    parsed = Bucket.parse(bucket, on_error=problems.append)
    # The toggle stays; the A/B test loses its group and the ranged campaign is skipped.
    assert parsed.campaign_count == 2
    assert parsed.variation_group_count == 1
    assert any("allocation must be an integer" in p for p in problems)
    assert any("bucketRanges[0]" in p for p in problems)


def test_the_polling_thread_survives_every_kind_of_bad_answer():
    """200, 304, 500, garbage, a NaN-laden file and a raising parser, then 200 again."""
    answers = [
        (200, {"Last-Modified": LAST_MODIFIED}, json.dumps(SAMPLE_BUCKET)),
        (304, {}, ""),
        (500, {}, "oops"),
        (200, {"Last-Modified": "x"}, "<html>"),
        (200, {"Last-Modified": "y"}, json.dumps(_with_nan_allocation())),
        "raise",
        (200, {"Last-Modified": "z"}, json.dumps({"panic": True})),
    ]
    seen = []
    done = threading.Event()
    errors = []

    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:

        def callback(request):
            answer = answers[min(len(seen), len(answers) - 1)]
            seen.append(request.headers.get("If-Modified-Since"))
            if len(seen) >= len(answers):
                done.set()
            if answer == "raise":
                raise RuntimeError("a bug in the transport")
            return answer

        mock.add_callback(responses.GET, URL, callback=callback)
        source = make_source(errors, polling_interval=0.01)
        source.start()
        assert done.wait(5)
        deadline = time.monotonic() + 5
        while not (source.current() and source.current().panic) and time.monotonic() < deadline:
            time.sleep(0.01)
        source.close()
    assert source.current().panic is True  # the last answer was installed: still polling
    assert seen[0] is None
    assert seen[1] == LAST_MODIFIED
    assert any("answered 500" in e for e in errors)
    assert any("not valid JSON" in e for e in errors)
    assert any("allocation must be an integer" in e for e in errors)
    assert any("RuntimeError: a bug in the transport" in e for e in errors)
