"""Two gunicorn workers sharing the bucket in Redis: a change reaches both in time.

Real processes: ``gunicorn -w 2`` serving ``tests.authoring.site`` (its
campaigns authored in a SQLite file, the bucket in Redis), the admin driven
over HTTP as a person would. An admin change is published when its
transaction commits, so both workers serve it within
``FLAGSHIP_BUCKET_CHECK_INTERVAL``; a change that sends no signal (a raw SQL
write) reaches them at the next poll, within ``FLAGSHIP_POLLING_INTERVAL``.
Both report the same new version and a later ``Last-Modified``.
"""

import os
import re
import sqlite3
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from django.utils.http import parse_http_date

from tests import redis_support
from tests.hits.test_gunicorn import free_port, no_control_socket

from .conftest import REPO_FILES, ROOT

POLLING = 3.0
CHECK = 0.5
VIP_WELCOME = "cp3h9c2jq7a0004ka3o0"


@pytest.fixture
def site(tmp_path, redis_url):
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("FLAGSHIP_", "DJANGO_"))
    }
    env.update(
        {
            "PYTHONPATH": str(ROOT),
            "DJANGO_SETTINGS_MODULE": "tests.authoring.site.settings",
            "SITE_DATABASE": str(tmp_path / "site.sqlite3"),
            "FLAGSHIP_TEST_REDIS_URL": redis_url,
            # The workers' keys go under the run's prefix (FLAGSHIP_* is left out above).
            "FLAGSHIP_TEST_REDIS_PREFIX": redis_support.PREFIX,
            "FLAGSHIP_POLLING_INTERVAL": str(POLLING),
            "FLAGSHIP_BUCKET_CHECK_INTERVAL": str(CHECK),
        }
    )
    subprocess.run(
        [sys.executable, "-m", "tests.authoring.site.prepare", str(REPO_FILES[0])],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        timeout=60,
    )
    port = free_port()
    log = tmp_path / "gunicorn.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--workers", "2", "--bind", f"127.0.0.1:{port}",
         *no_control_socket(), "tests.authoring.site.wsgi:application"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log.open("w"),
        start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        assert process.poll() is None, log.read_text()
        try:
            if requests.get(url + "/admin/login/", timeout=5).ok:
                break
        except requests.RequestException:
            pass  # still starting
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.05)
    try:
        yield url, tmp_path / "site.sqlite3"
    finally:
        os.killpg(process.pid, 9)
        process.wait()


def answers(url):
    """One answer from each worker (new connections until both pids answered).

    The requests go 4 at a time: one after another, the kernel may hand every
    connection to the worker that is waiting already, and the other never answers.
    """
    by_pid = {}
    with ThreadPoolExecutor(4) as pool:
        for n in range(0, 400, 4):
            urls = [f"{url}/flag/vipBanner?v=v{n + k}" for k in range(4)]
            for body in pool.map(lambda u: requests.get(u, timeout=5).json(), urls):
                by_pid.setdefault(body["pid"], body)
            if len(by_pid) == 2:
                return list(by_pid.values())
    raise AssertionError(f"one worker answered every request: {by_pid}")


def wait_for(url, value, limit):
    """Seconds until both workers serve ``value``; fails after ``limit``."""
    started = time.monotonic()
    while True:
        found = answers(url)
        if all(body["value"] == value for body in found):
            return time.monotonic() - started, found
        assert time.monotonic() - started < limit, found
        time.sleep(0.05)


def admin_session(url):
    session = requests.Session()
    session.get(f"{url}/admin/login/", timeout=5)
    response = session.post(
        f"{url}/admin/login/?next=/admin/",
        data={
            "username": "admin",
            "password": "admin-password",
            "csrfmiddlewaretoken": session.cookies["csrftoken"],
            "next": "/admin/",
        },
        timeout=5,
    )
    assert response.ok
    assert "Log out" in response.text
    return session


def test_admin_and_raw_changes_reach_both_workers_in_time(site):
    url, database = site
    before = wait_for(url, True, POLLING)[1]
    assert len({b["version"] for b in before}) == 1

    # An admin action, over HTTP, served by one of the workers.
    session = admin_session(url)
    listing = session.get(f"{url}/admin/flagship_authoring/campaign/", timeout=5)
    row = r'name="_selected_action" value="(\d+)"[^>]*>\s*</td>\s*<th[^>]*><a [^>]*>VIP welcome'
    pk = re.search(row, listing.text)
    assert pk, listing.text[:500]
    changed = session.post(
        f"{url}/admin/flagship_authoring/campaign/",
        data={
            "action": "disable",
            "_selected_action": pk.group(1),
            "csrfmiddlewaretoken": session.cookies["csrftoken"],
        },
        timeout=5,
    )
    assert changed.ok
    assert "Disabled 1 campaign(s)." in changed.text
    took, after = wait_for(url, None, CHECK + 2.0)
    assert took < POLLING, f"{took:.2f} s: published at commit, not at the next poll"
    assert len({b["version"] for b in after}) == 1
    assert after[0]["version"] != before[0]["version"]
    assert parse_http_date(after[0]["last_modified"]) > parse_http_date(before[0]["last_modified"])

    # A write no signal sees: picked up by the poll, within the polling interval.
    with sqlite3.connect(database) as db:
        db.execute("UPDATE flagship_authoring_campaign SET enabled = 1")
        db.execute(
            "UPDATE flagship_authoring_bucketsettings SET changed_at = ?",
            (time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()),),
        )
    took, again = wait_for(url, True, POLLING * 1.1 + CHECK + 2.0)
    assert len({b["version"] for b in again}) == 1
    assert again[0]["version"] == before[0]["version"]  # the same state, the same document
    assert parse_http_date(again[0]["last_modified"]) > parse_http_date(after[0]["last_modified"])
    served = requests.get(f"{url}/flagship/site-env/bucketing.json", timeout=5)
    assert served.headers["Last-Modified"] == again[0]["last_modified"]
    assert served.headers["ETag"] == f'"{again[0]["version"]}"'
