"""The assignment history's synchronisation, on a store given from outside."""

from django_flagship.sdk import history
from django_flagship.sdk.history import MIRROR_KEY, LoadedHistory


class DictStore:
    """An AssignmentHistory in a dict; ``down`` makes it unreadable."""

    def __init__(self, records=None, *, down=False):
        self.records = dict(records or {})
        self.down = down
        self.loads = []
        self.saves = []

    def load(self, visitor_ids):
        self.loads.append(list(visitor_ids))
        if self.down:
            return None
        return {v: self.records[v] for v in visitor_ids if v in self.records}

    def save(self, visitor_id, record):
        self.saves.append(visitor_id)
        self.records[visitor_id] = record


class FakeVisitor:
    """The attributes of an SDK visitor the history reads and writes."""

    def __init__(self, visitor_id, anonymous_id=None):
        self.visitor_id = visitor_id
        self.anonymous_id = anonymous_id
        self.assignment_history = {}
        self.segment_digest = "fresh"
        self.synchronized = True
        self.history_changed = False
        self.history_digest = None


def record(variation, segment="s1"):
    assignments = {"vg": variation}
    return {
        "assignments": assignments,
        "segment": segment,
        "digest": history.history_digest(assignments),
    }


def test_the_mirror_of_this_visitor_costs_no_store_round_trip():
    store = DictStore({"v": record("from-store")})
    visitor = FakeVisitor("v")
    mirror = {MIRROR_KEY: {"owner": "v", **record("from-mirror")}}
    loaded = history.load(store, visitor, mirror)
    assert loaded == LoadedHistory("s1", copied=False, mirrored=True)
    assert visitor.assignment_history == {"vg": "from-mirror"}
    assert visitor.segment_digest == "s1"
    assert store.loads == []


def test_another_visitors_mirror_sends_to_the_store():
    store = DictStore({"v": record("from-store")})
    visitor = FakeVisitor("v")
    loaded = history.load(store, visitor, {MIRROR_KEY: {"owner": "w", **record("x")}})
    assert loaded == LoadedHistory("s1", copied=False, mirrored=False)
    assert visitor.assignment_history == {"vg": "from-store"}


def test_no_history_yet():
    visitor = FakeVisitor("v")
    assert history.load(DictStore(), visitor) == LoadedHistory(None, copied=False, mirrored=False)
    assert visitor.assignment_history == {}


def test_at_login_the_anonymous_history_is_copied_without_its_segment():
    store = DictStore({"anon": record("seen-anonymously")})
    visitor = FakeVisitor("user", anonymous_id="anon")
    loaded = history.load(store, visitor)
    assert store.loads == [["user", "anon"]]
    assert loaded == LoadedHistory(None, copied=True, mirrored=False)
    assert visitor.assignment_history == {"vg": "seen-anonymously"}
    assert visitor.segment_digest is None


def test_at_login_the_anonymous_history_in_the_mirror_is_used():
    store = DictStore()
    visitor = FakeVisitor("user", anonymous_id="anon")
    mirror = {MIRROR_KEY: {"owner": "anon", **record("mirrored-anonymously")}}
    loaded = history.load(store, visitor, mirror)
    assert store.loads == [["user"]]  # the anonymous id's copy is at hand
    assert loaded == LoadedHistory(None, copied=True, mirrored=False)
    assert visitor.assignment_history == {"vg": "mirrored-anonymously"}


def test_the_users_own_history_beats_the_anonymous_one():
    store = DictStore({"user": record("own"), "anon": record("anonymous")})
    visitor = FakeVisitor("user", anonymous_id="anon")
    assert history.load(store, visitor).copied is False
    assert visitor.assignment_history == {"vg": "own"}


def test_an_unreadable_store_means_hashing_alone():
    visitor = FakeVisitor("v")
    assert history.load(DictStore(down=True), visitor) is None
    assert visitor.assignment_history == {}


def test_a_changed_history_is_saved_to_the_store_and_the_mirror():
    store, mirror = DictStore(), {}
    visitor = FakeVisitor("v")
    visitor.history_changed = True
    visitor.assignment_history = {"vg": "new"}
    history.save(store, visitor, LoadedHistory("fresh", copied=False, mirrored=False), mirror)
    digest = history.history_digest({"vg": "new"})
    assert store.records["v"] == {
        "assignments": {"vg": "new"},
        "segment": "fresh",
        "digest": digest,
    }
    assert mirror[MIRROR_KEY] == {"owner": "v", **store.records["v"]}


def test_an_unchanged_history_is_written_nowhere_once_mirrored():
    store, mirror = DictStore(), {}
    history.save(store, FakeVisitor("v"), LoadedHistory("fresh", False, mirrored=True), mirror)
    assert store.saves == []
    assert mirror == {}


def test_an_unchanged_history_read_from_the_store_is_mirrored_only():
    store, mirror = DictStore(), {}
    history.save(store, FakeVisitor("v"), LoadedHistory("fresh", False, mirrored=False), mirror)
    assert store.saves == []
    assert mirror[MIRROR_KEY]["owner"] == "v"


def test_a_new_segment_or_a_copied_history_counts_as_a_change():
    store = DictStore()
    history.save(store, FakeVisitor("v"), LoadedHistory("old", False, False))
    history.save(store, FakeVisitor("w"), LoadedHistory(None, copied=True, mirrored=False))
    assert store.saves == ["v", "w"]


def test_a_visitor_new_to_this_request_is_kept_in_the_mirror_only():
    store, mirror = DictStore(), {}
    visitor = FakeVisitor("v")
    visitor.history_changed = True
    history.save(store, visitor, LoadedHistory(None, False, False), mirror, remember=False)
    assert store.saves == []
    assert mirror[MIRROR_KEY]["owner"] == "v"


def test_an_unsynchronized_visitor_saves_nothing():
    store, mirror = DictStore(), {}
    visitor = FakeVisitor("v")
    visitor.synchronized = False
    visitor.history_changed = True
    history.save(store, visitor, LoadedHistory(None, False, False), mirror)
    assert store.saves == []
    assert mirror == {}


def test_the_records_digest_comes_with_the_history_it_describes():
    visitor = FakeVisitor("v")
    history.load(DictStore({"v": record("a")}), visitor)
    assert visitor.history_digest == history.history_digest({"vg": "a"})


def test_a_digest_is_not_taken_for_a_history_that_held_something_already():
    visitor = FakeVisitor("v")
    visitor.assignment_history = {"other": "x"}
    history.load(DictStore({"v": record("a")}), visitor)
    assert visitor.assignment_history == {"other": "x", "vg": "a"}
    assert visitor.history_digest is None


def test_a_record_without_a_digest_gets_one_when_next_saved():
    store, mirror = (
        DictStore(),
        {MIRROR_KEY: {"owner": "v", "assignments": {"vg": "a"}, "segment": "s1"}},
    )
    visitor = FakeVisitor("v")
    loaded = history.load(store, visitor, mirror)
    assert loaded.undigested
    assert visitor.history_digest is None
    visitor.segment_digest = "s1"
    history.save(store, visitor, loaded, mirror)
    assert mirror[MIRROR_KEY]["digest"] == history.history_digest({"vg": "a"})
    # Then it is read back as digested, and nothing is written again.
    again = FakeVisitor("v")
    loaded = history.load(store, again, mirror)
    again.segment_digest = "s1"
    assert not loaded.undigested
    history.save(store, again, loaded, {})
    assert store.saves == ["v"]


def test_a_hostile_digest_is_ignored():
    visitor = FakeVisitor("v")
    hostile = {"assignments": {"vg": "a"}, "segment": "s1", "digest": ["not", "a", "str"]}
    loaded = history.load(DictStore({"v": hostile}), visitor)
    assert visitor.history_digest is None
    assert loaded.undigested


def test_the_digest_is_the_same_in_every_process_and_tells_types_apart():
    import subprocess
    import sys

    code = (
        "from django_flagship.sdk.history import history_digest as d; "
        "print(d({'b': '2', 'a': '1'}))"
    )
    digests = {
        subprocess.run(
            [sys.executable, "-c", code],
            env={"PYTHONHASHSEED": seed, "PATH": ""},
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        for seed in ("1", "2")
    }
    assert digests == {history.history_digest({"a": "1", "b": "2"})}
    assert history.history_digest({"a": "1"}) != history.history_digest({"a": 1})
    assert history.history_digest({}) != history.history_digest({"a": "1"})
