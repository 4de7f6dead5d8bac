"""The spool directory: format, atomic writes, claims shared by processes."""

import json
import logging
import os
import stat
import tempfile
import threading
import time

import pytest

from django_flagship.sdk.hits import HIT_EXPIRATION_SECONDS, Activation, Page
from django_flagship.sdk.spool import SPOOL_FORMAT, Spool, default_spool_dir
from django_flagship.sdk.tracking import TrackedHit

from .conftest import ENV, event


def test_items_survive_the_round_trip(spool):
    hit = TrackedHit.from_hit(Page("https://shop.example/a"), "user-7", "anon-1")
    act = Activation("user-7", "vg-9", "var-3", "anon-1", created_at=time.time() - 0.5)
    assert spool.write([hit, act]) == 2
    [claimed] = list(spool.claim())
    back_hit, back_act = claimed.items
    assert back_hit.id == hit.id
    assert dict(back_hit.payload) == dict(hit.payload)
    assert (back_hit.visitor_id, back_hit.anonymous_id) == ("user-7", "anon-1")
    assert back_hit.created_at == pytest.approx(hit.created_at, abs=0.001)
    assert back_act.to_payload(now=0) == act.to_payload(now=0)
    assert back_act.id == act.id
    claimed.done()
    assert spool.pending() == []


def test_the_file_uses_the_documented_hit_cache_shape(spool):
    hit = TrackedHit(Page("https://shop.example/").to_payload(), "v1", created_at=1_700_000_000.25)
    act = Activation("v1", "vg", "var", created_at=1_700_000_001.0)
    spool.write([hit, act])
    [path] = spool.pending()
    assert path.name.endswith(".json")
    body = json.loads(path.read_text())
    assert body["format"] == SPOOL_FORMAT
    assert body["version"] == 1
    assert body["envId"] == ENV
    assert isinstance(body["writtenAt"], int)
    assert list(body["hits"]) == [hit.id, act.id]  # order is kept
    assert body["hits"][hit.id] == {
        "version": 1,
        "data": {
            "id": hit.id,
            "type": "PAGEVIEW",
            "timestamp": 1_700_000_000_250,
            "visitorId": "v1",
            "anonymousId": None,
            "content": {"t": "PAGEVIEW", "ds": "APP", "dl": "https://shop.example/"},
        },
    }
    assert body["hits"][act.id]["data"] == {
        "id": act.id,
        "type": "ACTIVATE",
        "timestamp": 1_700_000_001_000,
        "visitorId": "v1",
        "anonymousId": None,
        "content": {"caid": "vg", "vaid": "var"},
    }


def test_writes_leave_no_temporary_files(spool):
    for n in range(5):
        spool.write([event(f"w{n}")])
    names = os.listdir(spool.directory)
    assert len(names) == 5
    assert all(name.endswith(".json") for name in names)


def test_each_file_is_claimed_by_exactly_one_reader(spool):
    for n in range(60):
        spool.write([event(f"c{n}")])
    readers = [Spool(spool.directory, env_id=ENV) for _ in range(4)]
    got = [[] for _ in readers]
    start = threading.Barrier(len(readers))

    def read(index):
        start.wait()
        for claimed in readers[index].claim():
            got[index].extend(item.payload["el"] for item in claimed.items)
            claimed.done()

    threads = [threading.Thread(target=read, args=(i,)) for i in range(len(readers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    everything = [label for labels in got for label in labels]
    assert sorted(everything) == sorted(f"c{n}" for n in range(60))
    assert os.listdir(spool.directory) == []


def test_release_puts_back_only_what_is_left(spool):
    spool.write([event("a"), event("b"), event("c")])
    claimed = next(spool.claim())
    claimed.release(claimed.items[1:])
    [again] = list(spool.claim())
    assert [item.payload["el"] for item in again.items] == ["b", "c"]
    again.release(again.items)  # unchanged: the same file goes back
    assert len(spool.pending()) == 1


def test_expired_entries_are_dropped_with_a_log_line(spool, caplog):
    old = time.time() - HIT_EXPIRATION_SECONDS - 5
    spool.write([event("old", created_at=old), event("new")])
    with caplog.at_level(logging.WARNING, logger="django_flagship"):
        [claimed] = list(spool.claim())
    assert [item.payload["el"] for item in claimed.items] == ["new"]
    assert claimed.expired == 1
    assert "Dropped 1 spooled items older than 4 h" in caplog.text


def test_a_malformed_file_is_set_aside(spool, caplog):
    spool.directory.mkdir(parents=True)
    (spool.directory / "0000000000001-1-x.json").write_text("{not json")
    (spool.directory / "0000000000002-1-y.json").write_text(json.dumps({"format": "other"}))
    with caplog.at_level(logging.ERROR, logger="django_flagship"):
        assert list(spool.claim()) == []
    assert sorted(os.listdir(spool.directory)) == [
        "0000000000001-1-x.json.bad",
        "0000000000002-1-y.json.bad",
    ]
    assert "Set aside" in caplog.text


def test_a_malformed_entry_is_dropped_and_the_rest_kept(spool):
    spool.write([event("good")])
    [path] = spool.pending()
    body = json.loads(path.read_text())
    body["hits"]["broken"] = {"version": 1, "data": {"id": "broken"}}
    path.write_text(json.dumps(body))
    [claimed] = list(spool.claim())
    assert [item.payload["el"] for item in claimed.items] == ["good"]
    assert claimed.invalid == 1


def test_another_environments_file_is_left_alone(spool, caplog):
    Spool(spool.directory, env_id="other-env").write([event("theirs")])
    with caplog.at_level(logging.WARNING, logger="django_flagship"):
        assert list(spool.claim()) == []
    assert len(spool.pending()) == 1
    assert "belongs to environment 'other-env'" in caplog.text


def test_the_size_cap_refuses_writes_with_an_error(tmp_path, caplog):
    spool = Spool(tmp_path, env_id=ENV, max_bytes=2000)
    assert spool.write([event("first")]) == 1
    with caplog.at_level(logging.ERROR, logger="django_flagship"):
        assert spool.write([event(f"x{n}") for n in range(20)]) == 0
    assert spool.refused == 20
    assert "is full" in caplog.text


def test_an_unwritable_directory_is_logged_not_raised(tmp_path, caplog):
    blocker = tmp_path / "file"
    blocker.write_text("")
    spool = Spool(blocker / "spool", env_id=ENV)
    with caplog.at_level(logging.ERROR, logger="django_flagship"):
        assert spool.write([event("nowhere")]) == 0
    assert "Could not write 1 items" in caplog.text


def test_reading_a_missing_directory_is_empty(tmp_path):
    spool = Spool(tmp_path / "absent", env_id=ENV)
    assert spool.pending() == []
    assert list(spool.claim()) == []
    assert spool.size() == 0


# -- the spool under the shared temporary directory ----------------------------------


@pytest.fixture
def shared_tmp(tmp_path, monkeypatch):
    """A temporary directory standing for /tmp, as every local user shares it."""
    shared = tmp_path / "shared-tmp"
    shared.mkdir()
    monkeypatch.setattr(tempfile, "gettempdir", lambda: str(shared))
    return shared


def test_the_default_spool_is_private_at_every_level(shared_tmp):
    directory = default_spool_dir("env-x")
    spool = Spool(directory, env_id="env-x")
    assert spool.write([event("one")]) == 1
    level = directory
    while level != shared_tmp:
        assert stat.S_IMODE(level.stat().st_mode) == 0o700, level
        level = level.parent


def test_a_level_of_ours_left_open_is_closed(shared_tmp):
    directory = default_spool_dir("env-x")
    root = directory.parents[1]  # django-flagship-<uid>, as an older version made it
    root.mkdir(mode=0o755)
    os.chmod(root, 0o777)
    assert Spool(directory, env_id="env-x").write([event("one")]) == 1
    assert stat.S_IMODE(root.stat().st_mode) == 0o700


def test_a_planted_link_is_refused_for_writing_and_reading(shared_tmp, tmp_path, caplog):
    elsewhere = tmp_path / "someone-elses"
    elsewhere.mkdir()
    directory = default_spool_dir("env-x")
    directory.parents[1].symlink_to(elsewhere, target_is_directory=True)
    spool = Spool(directory, env_id="env-x")
    with caplog.at_level(logging.ERROR, logger="django_flagship"):
        assert spool.write([event("one")]) == 0
        assert list(spool.claim()) == []
    assert "refusing to spool there" in caplog.text
    assert list(elsewhere.rglob("*.json")) == []


@pytest.mark.skipif(os.getuid() != 0, reason="giving a directory to another user needs root")
def test_a_level_owned_by_another_user_is_refused(shared_tmp, caplog):
    directory = default_spool_dir("env-x")
    root = directory.parents[1]
    root.mkdir(mode=0o700)
    os.chown(root, 65534, 65534)
    with caplog.at_level(logging.ERROR, logger="django_flagship"):
        assert Spool(directory, env_id="env-x").write([event("one")]) == 0
    assert "belongs to uid 65534" in caplog.text


def test_progress_is_kept_for_the_next_reader_and_bad_lines_are_ignored(tmp_path, caplog):
    clock = [time.time()]
    spool = Spool(tmp_path, env_id=ENV, clock=lambda: clock[0])
    spool.write([Activation("v1", "vg", "var-0"), event("a"), Activation("v1", "vg", "var-1")])
    clock[0] += 1
    spool.write([event("b"), event("c")])
    first, second = spool.claim()
    hits = [item for item in first.items if not isinstance(item, Activation)]
    first.settle(hits)  # the hit went; the activations did not
    first.release([item for item in first.items if isinstance(item, Activation)])
    second.settle(second.items[:1])
    second.release(second.items[1:])
    ack = spool.directory / (second.path.name.split(".")[0] + ".ack")
    assert ack.read_text() == "h 1\n"
    with ack.open("ab") as stream:  # damage: a huge number, a stranger, a cut line
        stream.write(b"h 99999999999999999999999\nzz 1\nh 5")
    with caplog.at_level(logging.WARNING, logger="django_flagship"):
        again = list(spool.claim())
    left = [[getattr(i, "variation_id", None) or i.payload["el"] for i in c.items] for c in again]
    assert left == [["var-0", "var-1"], ["c"]]
    assert [c.resumed for c in again] == [1, 1]
    assert "Ignored 2 malformed lines" in caplog.text
    for claimed in again:
        claimed.done()
    assert os.listdir(spool.directory) == []
