"""Activations recorded on the request path: built by the background thread, or not at all."""

import logging
import time

from django_flagship.sdk import Config, Flagship, Mode
from django_flagship.sdk.events import ActivationRecord
from django_flagship.sdk.hits import Activation
from django_flagship.sdk.spool import Spool
from django_flagship.sdk.tracking import LogTracker

from .conftest import ENV

T0 = 1_700_000_000.0


def test_a_recorded_activation_is_queued_unbuilt_and_sent_by_the_thread(
    make_tracker, collector, urandom_calls
):
    tracker = make_tracker(batch_size=1000)
    tracker.record_activation("v1", "vg-1", "var-1", "anon-1", time.time())
    assert urandom_calls == []  # no id, no item on the request path
    assert tracker.stats()["pending"] == 1
    assert tracker.flush(5)
    [sent] = collector.activations()
    assert (sent["vid"], sent["aid"], sent["caid"], sent["vaid"]) == (
        "v1",
        "anon-1",
        "vg-1",
        "var-1",
    )
    assert urandom_calls == [16]  # the id, built on the way out


def test_a_visitor_activation_costs_no_item_on_the_request_path(
    make_tracker, collector, urandom_calls, tmp_path
):
    bucket = tmp_path / "bucketing.json"
    bucket.write_text('{"panic": false, "campaigns": []}')
    tracker = make_tracker(batch_size=1000)
    client = Flagship(Config(ENV, mode=Mode.BUCKETING, bucket_file=bucket), tracker=tracker)
    from django_flagship.sdk.model import Assignment

    flag = Assignment("c1", "vg-1", "var-1", {"k": True}).flag_infos["k"]
    visitor = client.create_visitor("v1")
    assert visitor.activate_flag(flag)
    assert not visitor.activate_flag(flag)  # once per variation
    assert urandom_calls == []
    assert tracker.flush(5)
    assert [a["vaid"] for a in collector.activations()] == ["var-1"]


def test_recorded_activations_are_built_when_spooled(make_tracker, collector, spool):
    collector.stop()
    tracker = make_tracker(spool=spool, shutdown_timeout=0.3, max_retries=100)
    tracker.record_activation("v1", "vg-1", "var-1", None, time.time())
    tracker.close()
    assert tracker.stats()["spooled"] == 1
    [item] = [item for claim in Spool(spool.directory, env_id=ENV).claim() for item in claim.items]
    assert isinstance(item, Activation)
    assert (item.visitor_id, item.variation_id, len(item.id)) == ("v1", "var-1", 32)


def test_a_record_is_what_identifies_an_activation():
    record = ActivationRecord("v1", "vg", "var", "anon", T0)
    built = record.build()
    assert (built.visitor_id, built.variation_group_id, built.variation_id) == ("v1", "vg", "var")
    assert (built.anonymous_id, built.created_at) == ("anon", T0)
    assert built.id != record.build().id  # a new random id each time


def test_a_log_nobody_reads_discards_without_building(urandom_calls, caplog):
    logger = logging.getLogger("tests.recorded.quiet")
    logger.setLevel(logging.WARNING)
    tracker = LogTracker(logger)
    assert tracker.discards
    tracker.record_activation("v1", "vg", "var", None, T0)
    assert urandom_calls == []
    logger.setLevel(logging.INFO)
    assert not tracker.discards
    with caplog.at_level(logging.INFO, logger=logger.name):
        tracker.record_activation("v1", "vg", "var", None, T0)
    assert '"vaid": "var"' in caplog.text
    assert urandom_calls == [16]
