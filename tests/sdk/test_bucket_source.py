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
        ({"status": 200, "body": "<html>"}, "not JSON"),
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
        Config("env42", mode=Mode.BUCKETING, polling_interval=0, event_handler=handler)
    )
    try:
        visitor = client.create_visitor("v", {"isVip": True})
        visitor.synchronize_modifications()
        assert visitor.get_modification("vip_feature", False) is True
    finally:
        client.stop()
