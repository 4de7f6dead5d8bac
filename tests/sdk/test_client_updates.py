"""The client's readiness and its decision-data update listeners."""

import copy

import responses

from django_flagship.sdk import Config, Flagship, Mode
from django_flagship.sdk.bucket_source import CdnBucketSource, StaticBucketSource
from django_flagship.sdk.tracking import MemoryTracker

from .conftest import SAMPLE_BUCKET

CDN = "https://cdn.flagship.io/env7/bucketing.json"


def cdn_client(handler):
    return Flagship(
        Config("env7", mode=Mode.BUCKETING, polling_interval=0, event_handler=handler),
        tracker=MemoryTracker(),
    )


@responses.activate
def test_a_new_bucketing_file_reaches_every_listener(handler):
    changed = copy.deepcopy(SAMPLE_BUCKET)
    changed["campaigns"].pop()
    responses.get(CDN, json=SAMPLE_BUCKET, headers={"Last-Modified": "a"})
    responses.get(CDN, status=304)
    responses.get(CDN, json=changed, headers={"Last-Modified": "b"})
    client = cdn_client(handler)
    try:
        seen, also = [], []
        client.on_update(seen.append)
        client.on_update(also.append)
        source = client.decision_manager.source
        assert isinstance(source, CdnBucketSource)
        assert source.refresh() is False  # 304: nothing new, nobody told
        assert seen == []
        assert source.refresh() is True
        assert [bucket.campaign_count for bucket in seen] == [2]
        assert also == seen
    finally:
        client.stop()


@responses.activate
def test_a_removed_or_failing_listener_does_not_stop_the_others(handler):
    responses.get(CDN, json=SAMPLE_BUCKET)
    client = cdn_client(handler)
    try:
        calls = []

        def broken(bucket):
            raise RuntimeError("listener bug")

        client.on_update(broken)
        remove = client.on_update(calls.append)
        client.notify_update(None)
        assert calls == [None]
        assert any("listener bug" in str(exc) for exc in handler.exceptions)
        remove()
        remove()  # twice is harmless
        client.notify_update(None)
        assert calls == [None]
    finally:
        client.stop()


@responses.activate
def test_bucketing_client_is_ready_only_with_a_bucket(handler):
    responses.get(CDN, status=503)
    client = cdn_client(handler)
    try:
        assert client.ready is False
        responses.replace(responses.GET, CDN, json=SAMPLE_BUCKET)
        assert client.decision_manager.source.refresh() is True
        assert client.ready is True
    finally:
        client.stop()
    assert client.ready is False


def test_decision_api_client_is_ready_once_started(handler):
    client = Flagship()
    assert client.ready is False
    client.start(Config("env", "key", event_handler=handler), tracker=MemoryTracker())
    assert client.ready is True
    client.stop()
    assert client.ready is False


def test_a_static_source_without_bucket_is_not_ready(handler):
    client = Flagship(
        Config("env", mode=Mode.BUCKETING, event_handler=handler),
        bucket_source=StaticBucketSource(None),
        tracker=MemoryTracker(),
    )
    assert client.ready is False
    client.stop()
