"""gunicorn --preload with 2 workers serving the example shop; a loopback collector gets its hits.

Real processes end to end: the master imports ``example_project.wsgi`` in
online BUCKETING mode (an env id and an API key, the bundled bucketing file,
no download), with its hits and activations pointed at the tests' collector
through the environment ``example_project/settings.py`` reads. Shoppers (one
HTTP session each, so one visitor each) open the home page, put two products
in the basket, check out (a ``Transaction`` hit and an ``Item`` hit per
product) and post events the way ``flagship.track()`` does. gunicorn's access
log tells which worker served each request. A SIGTERM to the master must lose
nothing: what is pending is flushed at exit, or spooled when the collector is
down and sent when gunicorn starts again, with no command run.
"""

import collections
import importlib.util
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import pytest
import requests

from .collector import ACTIVATE_PATH, EVENTS_PATH
from .conftest import ROOT, all_once, example_env, online_example_env, tally

if importlib.util.find_spec("gunicorn") is None:
    if os.environ.get("CI") == "true":
        pytest.fail("gunicorn is required under CI (pip install -e '.[test]')")
    pytest.skip("gunicorn is not installed", allow_module_level=True)

if not hasattr(os, "fork"):
    pytest.skip("gunicorn needs os.fork", allow_module_level=True)

EXAMPLE = ROOT / "example_project"
#: A gunicorn config file: the master sends a hit after --preload, before forking.
MASTER_HIT = ROOT / "tests" / "hits" / "site" / "gunicorn_master_hit.py"
#: The action of the shop's "Buy" buttons (data-flagship-event in home.html).
ACTION = "Buy button click"
PRODUCTS = ("canvas-tote", "enamel-mug")


def no_control_socket():
    """gunicorn >= 25.1 opens a control socket in ``$HOME/.gunicorn`` by default: not here."""
    from gunicorn import config

    return ["--no-control-socket"] if hasattr(config, "ControlSocketDisable") else []


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def migrated_db(tmp_path_factory):
    """The example's database, migrated once in a subprocess; each test copies it."""
    directory = tmp_path_factory.mktemp("example-db")
    result = subprocess.run(
        [sys.executable, str(EXAMPLE / "manage.py"), "migrate", "--noinput"],
        cwd=ROOT,
        env=example_env(directory),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return directory / "db.sqlite3"


@pytest.fixture
def shop_env(collector, tmp_path, migrated_db):
    """The environment of an online example shop whose hits go to ``collector``."""
    shutil.copy(migrated_db, tmp_path / "db.sqlite3")

    def make(*, flush_interval, batch_size=100, **extra):
        return online_example_env(
            tmp_path,
            collector,
            FLAGSHIP_HIT_FLUSH_INTERVAL=str(flush_interval),
            FLAGSHIP_HIT_BATCH_SIZE=str(batch_size),
            FLAGSHIP_HIT_SPOOL_DIR=str(tmp_path / "spool"),
            FLAGSHIP_BROWSER_RATE_LIMIT="1000",
            **extra,
        )

    return make


@dataclass
class Shopper:
    """One visitor: what it sent, to compare with what the collector received."""

    name: str
    labels: list[str] = field(default_factory=list)
    products: tuple[str, ...] = ()


class Shop:
    """``gunicorn --preload -w 2 example_project.wsgi`` in a process group of its own."""

    def __init__(self, env, tmp_path, run, config=None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tmp_path / f"gunicorn-{run}.log"
        self.access_log = tmp_path / f"access-{run}.log"
        self.shoppers = 0
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--preload",
                "--workers",
                "2",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--graceful-timeout",
                "20",
                "--access-logfile",
                str(self.access_log),
                "--access-logformat",
                "%(p)s %(m)s %(U)s %(s)s",
                *no_control_socket(),
                *(["--config", str(config)] if config else []),
                "example_project.wsgi:application",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=self.log.open("w"),
            start_new_session=True,
        )
        self._wait_until_ready()

    def _wait_until_ready(self, timeout=20.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"gunicorn exited early:\n{self.log.read_text()}")
            try:
                # The admin's login page reads no flag: no visitor, no hit.
                if requests.get(self.url + "/admin/login/", timeout=1).ok:
                    return
            except requests.ConnectionError:
                pass
            time.sleep(0.05)  # polling a server that is starting
        raise AssertionError(f"gunicorn did not start:\n{self.log.read_text()}")

    def shop(self, shopper, events):
        """Home page, two products in the basket, checkout, then ``events`` tracked events."""
        with requests.Session() as browser:

            def post(path, **kwargs):
                response = browser.post(
                    self.url + path,
                    headers={"X-CSRFToken": browser.cookies["csrftoken"]},
                    allow_redirects=False,
                    timeout=10,
                    **kwargs,
                )
                assert response.status_code < 400, (path, response.status_code, response.text)
                return response

            home = browser.get(self.url + "/", timeout=10)
            assert home.status_code == 200, home.text
            for slug in PRODUCTS:
                post(f"/basket/add/{slug}/")
            done = post("/checkout/")
            assert done.headers["Location"].endswith("/order/complete/")
            shopper.products = PRODUCTS
            for n in range(events):
                label = f"{shopper.name}-{n}"
                response = post("/flagship/events/", json={"action": ACTION, "label": label})
                assert response.status_code == 202
                assert response.json() == {"sent": True}
                shopper.labels.append(label)
        return shopper

    def served(self):
        """The pids of the workers that served a request sending hits (POST)."""
        pids = set()
        if self.access_log.exists():
            for line in self.access_log.read_text().splitlines():
                pid, method, *_ = line.split()
                if method == "POST":
                    pids.add(int(pid.strip("<>")))
        return pids

    def shoppers_in_both_workers(self, count=8, events=20):
        """``count`` shoppers at a time until both workers served some of their requests."""
        shoppers = []
        with ThreadPoolExecutor(max_workers=count) as pool:
            while not shoppers or len(self.served()) < 2:
                assert len(shoppers) < 10 * count, "one worker served every request"
                batch = [Shopper(f"s{self.port}-{len(shoppers) + n}") for n in range(count)]
                shoppers.extend(pool.map(lambda s: self.shop(s, events), batch))
        return shoppers

    def terminate(self, timeout=30):
        """SIGTERM to the master, as a deploy or ``docker stop`` does."""
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            raise

    def kill(self):
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


@pytest.fixture
def run_shop(tmp_path):
    started = []

    def run(env, config=None):
        shop = Shop(env, tmp_path, len(started), config)
        started.append(shop)
        return shop

    yield run
    for shop in started:
        shop.kill()


def event_labels(collector):
    return collections.Counter(
        h["el"] for h in collector.hits() if h["t"] == "EVENT" and h.get("ea") == ACTION
    )


def assert_all_arrived_once(collector, shoppers):
    """Every event, order and activation of ``shoppers`` arrived exactly once, and nothing else."""
    hits = collector.hits()
    labels = [label for s in shoppers for label in s.labels]
    assert event_labels(collector) == dict.fromkeys(labels, 1)

    # Each shopper is one visitor: the id on its events.
    vid_of = {h["el"]: h["vid"] for h in hits if h["t"] == "EVENT"}
    visitors = {}
    for shopper in shoppers:
        ids = {vid_of[label] for label in shopper.labels}
        assert len(ids) == 1, (shopper.name, ids)
        visitors[ids.pop()] = shopper
    assert len(visitors) == len(shoppers)

    # One order each: one Transaction, one Item per product, all of one transaction id.
    orders = collections.defaultdict(list)
    for h in hits:
        if h["t"] in ("TRANSACTION", "ITEM"):
            orders[h["vid"]].append(h)
    assert orders.keys() == visitors.keys()
    for order in orders.values():
        transactions = [h for h in order if h["t"] == "TRANSACTION"]
        items = [h for h in order if h["t"] == "ITEM"]
        assert len(transactions) == 1, order
        assert transactions[0]["icn"] == len(PRODUCTS)
        assert collections.Counter(h["ic"] for h in items) == dict.fromkeys(PRODUCTS, 1)
        assert {h["tid"] for h in order} == {transactions[0]["tid"]}

    # Activations: each variation group a visitor is in is activated by the
    # same requests for every visitor (one per request reading it), so its count
    # is the same for all; the A/B test read on the home page alone counts 1.
    activations = collections.defaultdict(collections.Counter)
    for item in collector.activations():
        activations[item["vid"]][item["caid"]] += 1
    assert activations.keys() == visitors.keys()
    counts = collections.defaultdict(set)
    for groups in activations.values():
        for group, count in groups.items():
            counts[group].add(count)
    assert all(len(values) == 1 for values in counts.values()), dict(activations)
    assert min(min(values) for values in counts.values()) == 1, dict(activations)


def spool_files(tmp_path):
    return sorted((tmp_path / "spool").glob("*.json"))


def test_hits_from_both_workers_all_arrive_once(collector, shop_env, run_shop):
    shop = run_shop(shop_env(flush_interval=0.2))
    shoppers = shop.shoppers_in_both_workers()
    expected = sum(len(s.labels) for s in shoppers)
    assert collector.wait_for(lambda c: len(event_labels(c)) == expected, timeout=15)
    assert shop.terminate() == 0
    assert len(shop.served()) == 2
    assert_all_arrived_once(collector, shoppers)


def test_sigterm_flushes_what_is_pending_and_the_preload_master_sends_its_own_hit_once(
    collector, shop_env, run_shop, tmp_path
):
    # Nothing wakes the threads: every hit is still queued in its worker at
    # SIGTERM, and in the master, whose thread was started before the fork.
    shop = run_shop(shop_env(flush_interval=600, batch_size=5000), config=MASTER_HIT)
    shoppers = shop.shoppers_in_both_workers()
    assert collector.requests == []
    assert shop.terminate() == 0
    assert len(shop.served()) == 2
    assert_all_arrived_once(collector, shoppers)
    master = [h for h in collector.hits() if h["t"] == "EVENT" and h.get("ea") == "preload"]
    assert [(h["vid"], h["el"]) for h in master] == [("master-visitor", "master")]
    assert spool_files(tmp_path) == []


def test_sigterm_with_the_collector_down_spools_and_the_next_start_sends_it(
    collector, shop_env, run_shop, tmp_path
):
    env = shop_env(flush_interval=600, batch_size=5000)
    shop = run_shop(env)
    before = shop.shoppers_in_both_workers(events=10)
    collector.stop()
    started = time.monotonic()
    assert shop.terminate() == 0
    assert time.monotonic() - started < 15
    assert collector.requests == []  # nothing reached the collector
    # One file per worker at least, named <ms>-<pid>-<random>.json.
    writers = {int(re.match(r"\d+-(\d+)-", f.name).group(1)) for f in spool_files(tmp_path)}
    assert writers == shop.served()

    # gunicorn again, the collector back: the first hit of a worker starts its
    # thread, which sends the spool before anything else. No command is run.
    collector.start()
    again = run_shop(env)
    after = again.shoppers_in_both_workers(count=4, events=5)
    expected = sum(len(s.labels) for s in before)
    spooled = {label for s in before for label in s.labels}
    assert collector.wait_for(
        lambda c: len(spooled & event_labels(c).keys()) == expected, timeout=15
    )
    assert spool_files(tmp_path) == []
    assert again.terminate() == 0
    assert_all_arrived_once(collector, before + after)
    assert list((tmp_path / "spool").iterdir()) == []  # no claimed or bad file left either


def spooled_labels(tmp_path):
    """The event labels held in the spool, written files and interrupted writes alike."""
    found = collections.Counter()
    directory = tmp_path / "spool"
    for path in directory.iterdir() if directory.exists() else ():
        try:
            body = json.loads(path.read_text())
        except ValueError:
            continue
        for entry in body["hits"].values():
            label = entry["data"]["content"].get("el")
            if label is not None:
                found[label] += 1
    return found


def test_sigterm_while_the_collector_hangs_spools_every_unanswered_item_within_the_deadline(
    collector, shop_env, run_shop, tmp_path
):
    # The collector reads each request and never answers: the one batch each
    # worker has in flight at SIGTERM (everything it queued) is unacknowledged.
    # Each POST may wait FLAGSHIP_TIMEOUT (5 s), and a batch makes two of them
    # (activations, then hits); the shutdown deadline is 1 s.
    env = shop_env(
        flush_interval=600,
        batch_size=5000,
        FLAGSHIP_TIMEOUT="5",
        FLAGSHIP_HIT_SHUTDOWN_TIMEOUT="1",
    )
    shop = run_shop(env)
    before = shop.shoppers_in_both_workers(events=10)
    collector.hang()
    started = time.monotonic()
    assert shop.terminate() == 0
    stopped_in = time.monotonic() - started
    assert collector.hung(), "the workers sent nothing before exiting"
    assert collector.accepted(EVENTS_PATH) == collector.accepted(ACTIVATE_PATH) == []
    # Every event is in the spool, once, in files a reader picks up.
    labels = [label for s in before for label in s.labels]
    assert spooled_labels(tmp_path) == dict.fromkeys(labels, 1)
    assert [p.name for p in (tmp_path / "spool").iterdir() if not p.name.endswith(".json")] == []
    assert "Spooled" in shop.log.read_text()
    # The deadline, not the HTTP timeout, bounds the exit (gunicorn's own stop included).
    assert stopped_in < 1.0 + 2.5, stopped_in

    collector.answer()
    again = run_shop(env)
    after = again.shoppers_in_both_workers(count=4, events=5)
    spooled = set(labels)
    assert collector.wait_for(
        lambda c: len(spooled & event_labels(c).keys()) == len(spooled), timeout=15
    ), tally(event_labels(collector), labels)
    assert again.terminate() == 0
    sent = [label for s in before + after for label in s.labels]
    assert tally(event_labels(collector), sent) == all_once(len(sent))
    assert_all_arrived_once(collector, before + after)
    assert list((tmp_path / "spool").iterdir()) == []
