"""A real browser for the end-to-end tests: Debian's Chromium driven by Playwright.

Without Chromium or Playwright the tests are skipped with the reason, except
under ``CI=true``, where that is a failure: CI must run them. ``make test``
installs Chromium when it can. ``FLAGSHIP_TEST_CHROMIUM`` names another binary.
"""

import os
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("FLAGSHIP_TEST_CHROMIUM") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts"
#: What a desktop Chrome says; Chromium's headless user agent reads as a bot.
DESKTOP_USER_AGENT = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36"
)


def unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}; under CI=true the browser tests must run", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser():
    """One Chromium per test module (each test gets its own context: no shared cookies)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("Playwright is not installed: pip install -e '.[test]'")
    if not os.access(CHROMIUM, os.X_OK):
        unavailable(f"no Chromium at {CHROMIUM}: apt-get install chromium")
    with pytest.MonkeyPatch.context() as patch:
        # Playwright's sync API keeps an event loop running in the test thread
        # while the browser is open; the tests' own ORM calls are synchronous on
        # purpose (the server under test runs in its own thread).
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            yield chromium
            chromium.close()


class Tab:
    """A page of a fresh browser context, its JavaScript errors and its screenshots."""

    def __init__(self, page, name: str) -> None:
        self.page = page
        self.name = name
        self.errors: list[str] = []
        self.screenshots: list[Path] = []
        page.on("pageerror", lambda exc: self.errors.append(f"page error: {exc}"))
        page.on("console", self._console)

    def _console(self, message) -> None:
        if message.type == "error":
            self.errors.append(f"console: {message.text}")

    def screenshot(self, label: str) -> Path:
        """Save the whole page as ``test-artifacts/<test>-<n>-<label>.png``."""
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"{self.name}-{len(self.screenshots) + 1:02d}-{label}.png"
        self.page.screenshot(path=str(path), full_page=True)
        self.screenshots.append(path)
        return path


@pytest.fixture
def tab(browser, request):
    """A new context (no cookies) with one page; pass a user agent with indirect params.

    Ask for the server before ``tab``: the browser's keep-alive connections
    must close before the server stops.
    """
    context = browser.new_context(
        viewport={"width": 1200, "height": 900},
        locale="en-US",
        user_agent=getattr(request, "param", None),
    )
    context.set_default_timeout(10_000)
    name = request.node.name.replace("[", "-").replace("]", "")
    yield Tab(context.new_page(), name)
    context.close()
