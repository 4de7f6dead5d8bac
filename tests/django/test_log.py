"""Rate-limited warnings (django_flagship.log)."""

import logging

from django_flagship import log


def test_a_topic_warns_once_a_minute(caplog, monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(log.time, "monotonic", lambda: now[0])
    with caplog.at_level(logging.WARNING, logger="django_flagship"):
        log.warn_rarely("cache", "down (%s)", 1)
        log.warn_rarely("cache", "down (%s)", 2)  # within the minute: silent
        log.warn_rarely("other", "another topic")  # its own minute
        now[0] += log.WARN_EVERY
        log.warn_rarely("cache", "down (%s)", 3)
    assert [r.getMessage() for r in caplog.records] == ["down (1)", "another topic", "down (3)"]


def test_forget_warnings_lets_a_topic_warn_again(caplog):
    with caplog.at_level(logging.WARNING, logger="django_flagship"):
        log.warn_rarely("t", "first")
        log.warn_rarely("t", "silent")
        log.forget_warnings()
        log.warn_rarely("t", "again")
    assert [r.getMessage() for r in caplog.records] == ["first", "again"]
