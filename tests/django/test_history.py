"""The assignment history on the Django cache (django_flagship.history)."""

import logging

import pytest
from django.core.cache import caches

from django_flagship.client import runtime
from django_flagship.history import CacheHistory, history_key


def test_the_runtime_carries_a_cache_history_in_bucketing_mode(configured):
    store = runtime().history
    assert isinstance(store, CacheHistory)
    assert (store.cache_alias, store.namespace) == ("default", runtime().namespace)


def test_no_history_when_it_is_off_or_unconfigured(configured, settings):
    settings.FLAGSHIP_ASSIGNMENT_HISTORY = False
    assert runtime().history is None
    settings.FLAGSHIP_ASSIGNMENT_HISTORY = True
    del settings.FLAGSHIP_BUCKET_FILE
    assert runtime().history is None


def test_records_are_kept_under_a_digest_of_the_id():
    store = CacheHistory("default", "ns", timeout=None)
    store.save("ada", {"assignments": {"vg": "v"}, "segment": None})
    key = history_key("ns", "ada")
    assert key.startswith("ns:history:")
    assert "ada" not in key
    assert caches["default"].get(key) == {"assignments": {"vg": "v"}, "segment": None}
    assert store.load(["ada", "bob"]) == {"ada": {"assignments": {"vg": "v"}, "segment": None}}


def test_a_cache_down_is_logged_rarely_and_never_raises(monkeypatch, caplog):
    def down(*args, **kwargs):
        raise ConnectionError("cache down")

    cache = caches["default"]
    monkeypatch.setattr(cache, "get_many", down)
    monkeypatch.setattr(cache, "set", down)
    store = CacheHistory("default", "ns", timeout=None)
    with caplog.at_level(logging.WARNING, "django_flagship"):
        assert store.load(["ada"]) is None
        assert store.load(["ada"]) is None
        store.save("ada", {"assignments": {}, "segment": None})
    messages = [r.getMessage() for r in caplog.records]
    assert messages == [
        "Flagship: assignment history unavailable (ConnectionError: cache down); hashing alone"
    ]


@pytest.mark.parametrize("timeout", [None, 60.0])
def test_the_timeout_is_the_caches(monkeypatch, timeout):
    calls = []
    cache = caches["default"]
    monkeypatch.setattr(cache, "set", lambda key, value, timeout: calls.append(timeout))
    CacheHistory("default", "ns", timeout=timeout).save("ada", {})
    assert calls == [timeout]
