"""``runtime_reset``: what was built for a runtime hears when it is closed."""

from __future__ import annotations

import pytest

from django_flagship import client
from django_flagship.signals import runtime_reset

pytestmark = pytest.mark.django_db(databases=[])


@pytest.fixture
def resets():
    received = []

    def listen(sender, **kwargs):
        received.append((sender, kwargs["runtime"]))

    runtime_reset.connect(listen)
    yield received
    runtime_reset.disconnect(listen)


def test_sent_with_the_closed_runtime_when_it_is_reset(configured, resets):
    built = client.runtime()
    client.reset()
    assert resets == [(client.Runtime, built)]
    assert client.runtime() is not built


def test_sent_when_a_setting_change_rebuilds_the_runtime(configured, resets):
    built = client.runtime()
    configured.FLAGSHIP_HIT_FLUSH_INTERVAL = 60.0
    assert resets == [(client.Runtime, built)]


def test_not_sent_when_no_runtime_was_built(configured, resets):
    client.reset()
    assert resets == []


def test_a_failing_receiver_does_not_stop_the_reset(configured, resets, caplog):
    def fail(sender, **kwargs):
        raise RuntimeError("receiver failed")

    runtime_reset.connect(fail)
    try:
        built = client.runtime()
        client.reset()
    finally:
        runtime_reset.disconnect(fail)
    assert resets == [(client.Runtime, built)]
    assert client.runtime() is not built
    assert "receiver failed" in caplog.text
