"""An activation flood against gunicorn (2 workers, Redis) while shoppers use the site.

The example shop runs online (its hits to a loopback collector of the test's
own), with its cache, and so the rate limits' counts, in Redis. From one
address, on a new connection each (so both workers take some):

* the flood of the report, 40 ``v2/activate`` batches of 780 items: every
  batch is over the cap (``400``);
* 80 batches of 100 items: the address may put 6,000 activations through,
  counted across both workers, so exactly 60 batches are accepted (``204``)
  and 20 refused (``429``).

Meanwhile shoppers load the home page and send events, the site's own hits.
The collector is slow while this goes on (each request waits 0.2 s), so the
workers' queues fill as they would in an outage: the flood may fill only its
own queue. Then the collector speeds up and must receive every shopper's
event and exactly the 6,000 accepted activations.
"""

import json
import shutil
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests import redis_support
from tests.hits.collector import Collector
from tests.hits.test_gunicorn import (  # noqa: F401 - migrated_db is a fixture
    EXAMPLE,
    Shop,
    example_env,
    migrated_db,
)

ENV = "env-flood"
SHOPPERS = 8
EVENTS = 20
BUCKET = json.loads((EXAMPLE / "bucketing.json").read_text())
GROUP = BUCKET["campaigns"][0]["variationGroups"][0]
ITEM = {"caid": GROUP["id"], "vaid": GROUP["variations"][0]["id"]}


class SlowCollector(Collector):
    """Answers each request after ``delay`` seconds."""

    delay = 0.0

    def _answer(self, path):
        time.sleep(self.delay)  # a collector that is slow to answer
        return super()._answer(path)


@pytest.fixture
def collector():
    server = SlowCollector()
    yield server
    server.close()


@pytest.fixture
def site(collector, tmp_path, migrated_db, redis_url):  # noqa: F811
    """``gunicorn --preload -w 2`` serving the example shop with its cache in Redis."""
    shutil.copy(migrated_db, tmp_path / "db.sqlite3")
    env = example_env(
        tmp_path,
        DJANGO_SETTINGS_MODULE="tests.decision_api.site.flood_settings",
        CACHE_URL=redis_url,
        # example_env leaves out FLAGSHIP_*: the workers' keys go under the run's prefix.
        FLAGSHIP_TEST_REDIS_PREFIX=redis_support.PREFIX,
        FLAGSHIP_ENV_ID=ENV,
        FLAGSHIP_API_KEY="flood-test-key",
        FLAGSHIP_BUCKET_FILE=str(EXAMPLE / "bucketing.json"),
        FLAGSHIP_POLLING_INTERVAL="0",
        FLAGSHIP_EVENTS_URL=collector.events_url,
        FLAGSHIP_ACTIVATE_URL=collector.activate_url,
        FLAGSHIP_HIT_SINK="collector",
        FLAGSHIP_HIT_FLUSH_INTERVAL="1.0",
        FLAGSHIP_HIT_SPOOL_DIR=str(tmp_path / "spool"),
        FLAGSHIP_BROWSER_RATE_LIMIT="1000",
    )
    shop = Shop(env, tmp_path, "flood")
    yield shop
    shop.kill()


def workers_of(shop, path):
    """The pids of the workers that answered ``path``, from gunicorn's access log."""
    pids = set()
    for line in shop.access_log.read_text().splitlines():
        pid, _, logged_path, _ = line.split()
        if logged_path == path:
            pids.add(pid)
    return pids


def flood(url, size, count, prefix):
    body = {"cid": ENV, "batch": [{**ITEM, "vid": f"{prefix}-{n}"} for n in range(size)]}

    def send(_):
        # No session: a connection of its own, so the two workers share the flood.
        return requests.post(url + "/decision-api/v2/activate", json=body, timeout=30).status_code

    with ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(send, range(count)))


def shop(url, name):
    with requests.Session() as browser:
        assert browser.get(url + "/", timeout=10).status_code == 200
        for n in range(EVENTS):
            response = browser.post(
                url + "/flagship/events/",
                json={"action": "Buy button click", "label": f"{name}-{n}"},
                headers={"X-CSRFToken": browser.cookies["csrftoken"]},
                timeout=10,
            )
            assert response.json() == {"sent": True}, response.text
    return name


def test_a_flood_neither_passes_the_limits_nor_drops_the_sites_hits(site, collector):
    collector.delay = 0.2
    with ThreadPoolExecutor(max_workers=SHOPPERS + 2) as pool:
        oversized = pool.submit(flood, site.url, 780, 40, "old")
        capped = pool.submit(flood, site.url, 100, 80, "new")
        shoppers = list(pool.map(lambda n: shop(site.url, f"shopper-{n}"), range(SHOPPERS)))
        oversized, capped = oversized.result(), capped.result()
    assert oversized == [400] * 40
    assert sorted(capped) == [204] * 60 + [429] * 20
    assert len(workers_of(site, "/decision-api/v2/activate")) == 2  # both workers counted
    collector.delay = 0.0
    expected = {f"{name}-{n}" for name in shoppers for n in range(EVENTS)}

    def events(c):
        return {hit.get("el") for hit in c.hits() if hit.get("t") == "EVENT"} & expected

    def flooded(c):
        return [a for a in c.activations() if a["vid"].startswith(("old-", "new-"))]

    arrived = collector.wait_for(
        lambda c: len(events(c)) == len(expected) and len(flooded(c)) == 6000, timeout=30.0
    )
    assert arrived, (len(events(collector)), len(flooded(collector)))
    assert site.terminate() == 0
    assert len(flooded(collector)) == 6000  # nothing more at exit, nothing twice
    assert {a["vid"] for a in flooded(collector)} == {f"new-{n}" for n in range(100)}
    assert "dropping new hits" not in site.log.read_text()
