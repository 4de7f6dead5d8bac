"""The example shop with django-debug-toolbar, as ``make run`` serves it, in Chromium.

The site runs in a process of its own (``manage.py runserver``), configured by
its own settings module from the environment as a developer's shell gives it:
DEBUG on and the toolbar installed, so its settings add the toolbar and the
Flagship panel for requests from 127.0.0.1. The browser opens a shop page,
opens the Flagship panel, and reads what it says; the expected values come from
the bundled bucketing file, decided here for the visitor id the panel shows.
"""

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from django_flagship.sdk.bucketing import Bucket

from ..conftest import BUCKET_FILE, EXAMPLE_DIR

pytestmark = pytest.mark.slow

ROOT = EXAMPLE_DIR.parent
BUY_TEST, VIP_WELCOME = "cp3h8v2jq7a0004ka3lg", "cp3h9c2jq7a0004ka3o0"
#: Variables of the caller's shell that would change how the example runs.
_OWN_PREFIXES = ("FLAGSHIP_", "DJANGO_", "EXAMPLE_", "DATABASE_URL", "CACHE_URL")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def example_site(tmp_path_factory):
    """The example shop under runserver, offline, with the toolbar; its base URL."""
    directory = tmp_path_factory.mktemp("toolbar-site")
    env = {k: v for k, v in os.environ.items() if not k.startswith(_OWN_PREFIXES)}
    env.update(
        PYTHONPATH=str(ROOT),
        DJANGO_DEBUG="true",
        DATABASE_URL=f"sqlite:///{directory / 'db.sqlite3'}",
        CACHE_URL=f"filecache://{directory / 'cache'}",
    )
    manage = [sys.executable, str(EXAMPLE_DIR / "manage.py")]
    migrate = subprocess.run(
        [*manage, "migrate", "--noinput"], env=env, capture_output=True, text=True, timeout=120
    )
    assert migrate.returncode == 0, migrate.stderr
    port = free_port()
    log = directory / "runserver.log"
    with log.open("wb") as output:
        server = subprocess.Popen(
            [*manage, "runserver", "--noreload", f"127.0.0.1:{port}"],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, log.read_text()
            try:
                urllib.request.urlopen(f"{url}/static/shop/favicon.svg", timeout=2).close()
                break
            except (urllib.error.URLError, ConnectionError):
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.2)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def open_flagship_panel(page):
    """Show the toolbar if it is collapsed, then open the Flagship panel."""
    if not page.locator("#djDebugToolbar").is_visible():
        page.locator("#djShowToolBarButton").click()
    button = page.locator("#djdt-FlagshipPanel")
    subtitle = button.inner_text()
    button.locator("a").click()
    panel = page.locator("#FlagshipPanel")
    panel.locator("#flagship-state, #flagship-reads").first.wait_for()
    return subtitle, panel


def test_the_panel_shows_the_flags_the_page_read_and_why(example_site, tab):
    page = tab.page
    page.goto(f"{example_site}/")
    subtitle, panel = open_flagship_panel(page)
    tab.screenshot("flagship-panel")

    visitor_id = panel.locator("#flagship-visitor-id").inner_text()
    assert visitor_id
    assert panel.locator("#flagship-mode").inner_text() == "BUCKETING"
    bucket = Bucket.parse(json.loads(BUCKET_FILE.read_text()))
    (buy,) = [a for a in bucket.decide(visitor_id, {}) if a.campaign_id == BUY_TEST]

    rows = panel.locator("#flagship-reads tbody tr[data-flag]")
    keys = {rows.nth(i).get_attribute("data-flag") for i in range(rows.count())}
    assert {"btnColor", "btnText", "freeShippingThreshold", "vipBanner"} <= keys
    assert re.fullmatch(rf"Flagship\s+{len(keys)} flags read", subtitle.strip())

    # The button's colour, as the home page read it (with its default).
    color = panel.locator('#flagship-reads tr[data-flag="btnColor"]').first
    served = buy.flags["btnColor"] or "#2458d6"
    assert color.locator(".flag-value code").inner_text() == json.dumps(served)
    assert color.locator(".flag-type").inner_text().startswith("str")
    assert "Buy button test" in color.locator(".flag-campaign").inner_text()
    assert BUY_TEST in color.locator(".flag-campaign").inner_text()
    assert buy.variation_group_name in color.locator(".flag-group").inner_text()
    variation = color.locator(".flag-variation").inner_text()
    assert buy.variation_name in variation
    assert buy.variation_id in variation
    assert color.locator(".flag-activated").inner_text() == "activated"

    # A flag no campaign gives this visitor: the default, and why.
    vip = panel.locator('#flagship-reads tr[data-flag="vipBanner"]').first
    assert "no campaign of this visitor sets this flag" in vip.inner_text()
    assert vip.locator(".flag-activated").inner_text() == "nothing to activate"

    # The campaign not entered, and the reason Bucket.explain gives.
    welcome = panel.locator(f'#flagship-campaigns tr[data-campaign="{VIP_WELCOME}"]')
    assert "VIP welcome" in welcome.inner_text()
    assert welcome.locator(".campaign-entered").inner_text() == "no"
    assert (
        welcome.locator(".campaign-why")
        .inner_text()
        .startswith("no variation group matched targeting")
    )
    entered = panel.locator(f'#flagship-campaigns tr[data-campaign="{BUY_TEST}"]')
    assert entered.locator(".campaign-entered").inner_text() == "yes"

    context = panel.locator("#flagship-context")
    assert "is_authenticated" in context.inner_text()
    assert panel.locator("#flagship-bucket-version").inner_text()
    assert tab.errors == []


def test_a_page_that_reads_no_flag_is_left_undecided(example_site, tab):
    page = tab.page
    page.goto(f"{example_site}/admin/login/")
    subtitle, panel = open_flagship_panel(page)
    assert re.fullmatch(r"Flagship\s+no flag read", subtitle.strip())
    assert "read no flag" in panel.locator("#flagship-state").inner_text()
    # (The admin page links no favicon: the browser's /favicon.ico is a 404 there.)
