"""The one bucket poller, the store protocol it writes into, and the change channel."""

import copy
import logging

import pytest

from django_flagship.sdk import Config, Flagship, Mode
from django_flagship.sdk.bucket_download import Download
from django_flagship.sdk.bucket_limits import BucketLimits
from django_flagship.sdk.bucket_poller import BucketPoller
from django_flagship.sdk.bucket_store import (
    Baseline,
    BucketStore,
    MemoryBucketStore,
    bucket_text,
    bucket_version,
)
from django_flagship.sdk.bucketing import BucketError
from django_flagship.sdk.tracking import MemoryTracker
from django_flagship.sdk.updates import UpdateListeners

from .conftest import SAMPLE_BUCKET


class Fetch:
    """A document handed over as a download would be."""

    def __init__(self, *documents):
        self.documents = list(documents)
        self.asked = []

    def __call__(self, last_modified):
        self.asked.append(last_modified)
        if not self.documents:
            return Download(modified=False, last_modified=last_modified)
        data, stamp = self.documents.pop(0)
        return Download(modified=True, data=data, last_modified=stamp)


def changed_bucket():
    changed = copy.deepcopy(SAMPLE_BUCKET)
    changed["campaigns"].pop()
    return changed


def test_the_memory_store_meets_the_protocol_and_tells_only_of_new_versions():
    store: BucketStore = MemoryBucketStore()
    fetch = Fetch((SAMPLE_BUCKET, "a"), (SAMPLE_BUCKET, "b"), (changed_bucket(), "c"))
    seen = []
    poller = BucketPoller(store, fetch=fetch, on_update=seen.append)
    assert poller.refresh().updated
    assert store.version == bucket_version(bucket_text(SAMPLE_BUCKET))
    assert not poller.refresh().updated  # the same text again: nobody told
    assert poller.refresh().updated
    assert [bucket.campaign_count for bucket in seen] == [3, 2]
    assert fetch.asked == [None, "a", "b"]  # If-Modified-Since from the store
    assert poller.current() is seen[-1] is poller.installed
    assert not poller.refresh().updated  # "not modified"
    assert store.prepare(force=False, lock_ttl=1) == Baseline(last_modified="c")


def test_a_bad_document_never_replaces_the_last_good_bucket():
    broken = {"campaigns": [{"id": "c", "variationGroups": "not a list"}]}
    fetch = Fetch((SAMPLE_BUCKET, "a"), (broken, "b"), ({"campaigns": 7}, "c"))
    poller = BucketPoller(MemoryBucketStore(), fetch=fetch)
    poller.refresh()
    good = poller.current()
    with pytest.raises(BucketError, match="none of the 1 campaigns"):
        poller.refresh()
    assert poller.current() is good
    assert poller.last_modified == "a"


def test_a_fetched_document_meets_the_download_limits():
    limits = BucketLimits(max_bytes=100)
    poller = BucketPoller(MemoryBucketStore(), fetch=Fetch((SAMPLE_BUCKET, "a")), limits=limits)
    with pytest.raises(BucketError, match="larger than the limit"):
        poller.refresh()
    assert poller.current() is None


class BusyStore(MemoryBucketStore):
    """A shared store whose download lock another process holds."""

    def prepare(self, *, force, lock_ttl):
        return super().prepare(force=force, lock_ttl=lock_ttl) if force else None


def test_a_store_that_says_another_process_downloads_skips_the_download():
    fetch = Fetch((SAMPLE_BUCKET, "a"))
    poller = BucketPoller(BusyStore(), fetch=fetch)
    assert poller.refresh().skipped
    assert fetch.asked == []
    assert poller.refresh(force=True).updated


def test_no_source_at_all_is_an_error():
    with pytest.raises(BucketError, match="no bucketing URL"):
        BucketPoller(MemoryBucketStore()).refresh()


class CheckingStore(MemoryBucketStore):
    """A shared store's reads: each one looks at the shared copy."""

    def attach(self, *, changed, empty, checked):
        super().attach(changed=changed, empty=empty, checked=checked)
        self.checked = checked

    def current(self):
        self.checked()
        return super().current()


def test_autostart_starts_the_thread_when_the_store_first_checks_and_once_per_process():
    fetch = Fetch((SAMPLE_BUCKET, "a"))
    store = CheckingStore()
    poller = BucketPoller(store, fetch=fetch, polling_interval=0, autostart=True)
    try:
        assert poller._thread is None  # nothing polls before the first read
        assert poller.current == store.current  # a read costs no extra call
        poller.current()
        thread = poller._thread
        assert thread is not None
        thread.join(5)
        assert poller.current() is not None  # downloaded once, then the thread ended
        assert not poller.polling
        poller.forked()  # a child process: no thread of its own yet
        poller.current()
        assert poller._thread is None  # "download once" and a bucket is there
        assert fetch.asked == [None]
    finally:
        poller.close()


def test_without_autostart_reads_start_nothing():
    poller = BucketPoller(CheckingStore(), fetch=Fetch((SAMPLE_BUCKET, "a")))
    poller.current()
    assert poller._thread is None


def test_a_failing_listener_is_logged_and_the_others_still_run(caplog):
    seen = []
    poller = BucketPoller(MemoryBucketStore(), fetch=Fetch((SAMPLE_BUCKET, "a")))
    poller.watch(lambda bucket: 1 / 0)
    poller.watch(seen.append)
    with caplog.at_level(logging.ERROR, "django_flagship"):
        poller.refresh()
    assert len(seen) == 1
    assert any("listener failed" in r.getMessage() for r in caplog.records)


def test_update_listeners_add_remove_and_report():
    listeners = UpdateListeners()
    seen, reported = [], []
    remove = listeners.add(seen.append)
    listeners.add(lambda bucket: 1 / 0)
    listeners.notify(None, reported.append)
    assert seen == [None]
    assert [type(exc) for exc in reported] == [ZeroDivisionError]
    remove()
    remove()  # twice is harmless
    assert len(listeners) == 1


def test_a_client_on_a_poller_hears_its_store_and_stops_listening_when_stopped():
    poller = BucketPoller(
        MemoryBucketStore(), fetch=Fetch((SAMPLE_BUCKET, "a"), (changed_bucket(), "b"))
    )
    shared = UpdateListeners()
    client = Flagship(
        Config("env7", mode=Mode.BUCKETING, polling_interval=0),
        bucket_source=poller,
        tracker=MemoryTracker(),
        updates=shared,
    )
    seen = []
    client.on_update(seen.append)
    poller.refresh()
    assert [bucket.campaign_count for bucket in seen] == [3]
    client.stop()
    poller.refresh()
    assert len(seen) == 1  # a stopped client no longer relays the poller
    # Another client given the same listeners reaches them too.
    other = BucketPoller(MemoryBucketStore(), fetch=Fetch((SAMPLE_BUCKET, "a")))
    again = Flagship(
        Config("env7", mode=Mode.BUCKETING, polling_interval=0),
        bucket_source=other,
        tracker=MemoryTracker(),
        updates=shared,
    )
    other.refresh()
    assert len(seen) == 2
    again.stop()


def test_the_stored_text_keeps_a_nan_the_parser_skips():
    document = copy.deepcopy(SAMPLE_BUCKET)
    document["campaigns"][0]["weight"] = float("nan")
    assert "NaN" in bucket_text(document)
    assert bucket_text({"a": "é"}) == '{"a":"é"}'
