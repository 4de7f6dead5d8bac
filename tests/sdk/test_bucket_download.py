"""Downloads of the bucketing file from a CDN of the test's own: bounded in time and size.

Before these bounds, a CDN trickling 50 bytes every 0.8 s kept
``flagship_refresh_bucket`` busy (and then succeeding) for as long as it
liked, since the timeout applies to each read, and a 100 MB file was read,
stored and parsed whole.
"""

import gzip
import json
import threading
import time

import pytest
import requests

from django_flagship.sdk.bucket_limits import BucketLimits
from django_flagship.sdk.bucket_source import CdnBucketSource, download_bucketing_file
from django_flagship.sdk.bucketing import BucketError
from tests.cdn import serving

from .conftest import SAMPLE_BUCKET

BODY = json.dumps(SAMPLE_BUCKET).encode()


def big_body(size: int) -> bytes:
    """A valid bucketing file of about ``size`` bytes (one long flag value)."""
    head = b'{"campaigns": [], "padding": "'
    return head + b"x" * (size - len(head) - 2) + b'"}'


def download(cdn, **limits):
    with requests.Session() as session:
        return download_bucketing_file(
            session, cdn.url, timeout=limits.pop("timeout", 1.0), limits=BucketLimits(**limits)
        )


def test_a_trickling_cdn_is_given_up_at_the_deadline():
    with serving(BODY * 4) as cdn:
        cdn.chunk, cdn.pause = 50, 0.05  # the whole file would take about 8 s
        started = time.monotonic()
        with pytest.raises(BucketError, match=r"download deadline of 0\.5 s"):
            download(cdn, download_deadline=0.5, timeout=1.0)
        elapsed = time.monotonic() - started
        # Never past the deadline plus one read's timeout, whatever the CDN does.
        assert elapsed < 0.5 + 1.0 + 0.5
        assert cdn.sent < len(cdn.body) / 2


def test_a_slow_but_steady_download_within_the_deadline_succeeds():
    with serving(BODY) as cdn:
        cdn.chunk, cdn.pause = 400, 0.01
        result = download(cdn, download_deadline=5.0)
    assert result.modified is True
    assert result.data == SAMPLE_BUCKET


def test_a_cdn_that_stalls_longer_than_the_timeout_is_given_up():
    with serving(BODY) as cdn:
        cdn.chunk, cdn.pause = len(BODY) // 2, 0.6
        with pytest.raises(BucketError, match=r"stalled for more than 0\.3 s"):
            download(cdn, timeout=0.3)


def test_a_declared_length_over_the_limit_is_refused_before_reading():
    with serving(big_body(200_000)) as cdn:
        cdn.chunk, cdn.pause = 1_000, 0.01
        with pytest.raises(BucketError, match=r"by its Content-Length.*limit of 65,536 bytes"):
            download(cdn, max_bytes=65_536)
        # Refused on the headers: at most what was in flight had been sent.
        assert cdn.sent < 10_000


def test_an_undeclared_length_is_refused_once_the_limit_is_passed():
    with serving(big_body(2_000_000)) as cdn:
        cdn.send_length = False  # the body ends when the connection closes
        cdn.chunk = 16_384
        with pytest.raises(BucketError, match=r"larger than the limit of 100,000 bytes"):
            download(cdn, max_bytes=100_000)


def test_a_declared_length_under_the_limit_reads_no_more_than_declared():
    with serving(big_body(300_000)) as cdn:
        cdn.content_length = 50_000  # the CDN says 50 KB and sends 300 KB
        with pytest.raises(BucketError, match="not valid JSON"):
            download(cdn, max_bytes=100_000)


def test_gzip_is_asked_for_inflated_here_and_bounded_after_inflation():
    with serving(BODY) as cdn:
        cdn.gzip = True
        assert download(cdn).data == SAMPLE_BUCKET
        assert cdn.requests[-1]["accept-encoding"] == "gzip"
        # 5 MB of JSON compress to about 5 KB: the bound counts what it inflates to.
        cdn.body = big_body(5_000_000)
        assert len(gzip.compress(cdn.body)) < 50_000
        with pytest.raises(BucketError, match="larger than the limit of 1,000,000 bytes"):
            download(cdn, max_bytes=1_000_000)


def test_a_body_that_says_gzip_but_is_not_is_an_error_not_a_crash():
    with serving(b"not gzip at all") as cdn:
        cdn.content_encoding = "gzip"
        with pytest.raises(BucketError, match="could not be downloaded: error"):
            download(cdn)


def test_not_modified_and_error_statuses_are_read_no_further_than_needed():
    with serving(BODY) as cdn:
        cdn.not_modified = True
        with requests.Session() as session:
            result = download_bucketing_file(
                session, cdn.url, timeout=1.0, last_modified="Wed, 21 Oct 2026 07:28:00 GMT"
            )
        assert result.modified is False
        cdn.status, cdn.body = 503, b"unavailable " * 100_000
        with pytest.raises(BucketError, match="answered 503: unavailable unavailable"):
            download(cdn)


def test_stop_abandons_a_download_in_progress():
    stop = threading.Event()
    with serving(BODY * 4) as cdn, requests.Session() as session:
        cdn.chunk, cdn.pause = 50, 0.05
        threading.Timer(0.3, stop.set).start()
        started = time.monotonic()
        with pytest.raises(BucketError, match="stopped"):
            download_bucketing_file(session, cdn.url, timeout=1.0, stop=stop)
        assert time.monotonic() - started < 0.3 + 1.0 + 0.5


def test_the_polling_source_keeps_its_bucket_through_slow_and_huge_answers():
    errors = []
    with serving(BODY) as cdn:
        source = CdnBucketSource(
            cdn.url,
            timeout=1.0,
            polling_interval=0,
            on_error=errors.append,
            limits=BucketLimits(max_bytes=50_000, download_deadline=0.5),
        )
        try:
            assert source.refresh() is True
            good = source.current()
            cdn.body = big_body(60_000)
            assert source.refresh() is False
            cdn.body, cdn.chunk, cdn.pause = BODY * 2, 50, 0.05
            assert source.refresh() is False
            assert source.current() is good
        finally:
            source.close()
    assert len(errors) == 2
    assert "larger than the limit of 50,000 bytes" in errors[0]
    assert "download deadline of 0.5 s" in errors[1]
    assert all("keeping the current bucket" in error for error in errors)


def test_closing_the_source_ends_a_download_in_progress():
    with serving(BODY * 4) as cdn:
        cdn.chunk, cdn.pause = 50, 0.05
        source = CdnBucketSource(cdn.url, timeout=1.0, polling_interval=60.0)
        thread = threading.Thread(target=source.start)
        thread.start()
        time.sleep(0.3)
        started = time.monotonic()
        source.close()
        thread.join(5)
        assert not thread.is_alive()
        assert time.monotonic() - started < 1.0 + 0.5
        assert source.current() is None
