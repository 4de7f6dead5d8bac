"""The django-debug-toolbar panel: its data, through the toolbar's own machinery.

Requests run through the real middleware chain (sessions, auth, Flagship)
under a real ``DebugToolbar``; the panel's ``generate_stats`` reads what the
request did. The last tests go through ``DebugToolbarMiddleware`` and the
toolbar's ``render_panel`` view with the test client.
"""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.sessions.middleware import SessionMiddleware
from django.core.cache import caches
from django.http import HttpResponse

from django_flagship import client as flagship_client
from django_flagship import flags as flags_module
from django_flagship.contrib._debug_report import request_report
from django_flagship.history import history_key
from django_flagship.middleware import FlagshipMiddleware
from django_flagship.testing import override_flags

pytestmark = pytest.mark.django_db

PANEL = "django_flagship.contrib.debug_toolbar.FlagshipPanel"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def toolbar_settings(configured, monkeypatch):
    """The test settings with the toolbar and this panel; reads are recorded."""
    monkeypatch.setattr(flags_module, "_recording", False)  # restored after the test
    # The toolbar's models need its app installed before its panels are loaded.
    configured.INSTALLED_APPS = [*configured.INSTALLED_APPS, "debug_toolbar"]
    configured.DEBUG_TOOLBAR_PANELS = [PANEL]
    configured.DEBUG_TOOLBAR_CONFIG = {"IS_RUNNING_TESTS": False}
    from django_flagship.contrib.debug_toolbar import FlagshipPanel

    FlagshipPanel.ready()  # what the toolbar's AppConfig.ready() does
    return configured


def chain(view):
    """The project's middleware around ``view``, as Django builds it."""
    return SessionMiddleware(AuthenticationMiddleware(FlagshipMiddleware(view)))


def run_panel(rf, view, path="/", **headers):
    """One request through a real ``DebugToolbar``; the panel after ``generate_stats``."""
    from debug_toolbar.toolbar import DebugToolbar

    request = rf.get(path, **headers)
    toolbar = DebugToolbar(request, chain(view))
    panel = toolbar.get_panel_by_id("FlagshipPanel")
    response = toolbar.process_request(request)
    panel.generate_stats(request, response)
    return request, response, panel


def by_key(rows, field):
    return {row[field]: row for row in rows}


def reading(*reads):
    """A view making the ``(key, default[, activate])`` reads."""

    def view(request):
        for key, default, *activate in reads:
            request.flags.get(key, default, *activate)
        return HttpResponse("<html><body>shop</body></html>")

    return view


def test_each_flag_read_with_its_value_type_campaign_and_activation(rf, toolbar_settings, tracker):
    view = reading(
        ("btn_color", "blue"),
        ("max_items", 0),
        ("btn_color", "blue"),
        ("ratio", 0),  # a float flag read with an int default
        ("no_such_flag", "fallback"),
        ("ab_color", "none", False),
    )
    request, _, panel = run_panel(rf, view)
    stats = panel.get_stats()
    assert panel.nav_subtitle == "5 flags read"
    reads = by_key(stats["reads"], "key")
    assert list(reads) == ["btn_color", "max_items", "ratio", "no_such_flag", "ab_color"]

    color = reads["btn_color"]
    assert (color["value"], color["type"], color["count"]) == ('"red"', "str", 2)
    assert (color["default"], color["default_type"]) == ('"blue"', "str")
    assert color["campaign_id"] == "c-toggles"
    assert color["campaign_name"] == "Toggles"
    assert (color["variation_group_id"], color["variation_group_name"]) == (
        "vg-toggles",
        "Everyone",
    )
    assert color["variation_id"] == "v-toggles-on"
    assert (color["activated"], color["activation"]) == (True, "activated")
    assert (reads["max_items"]["value"], reads["max_items"]["type"]) == ("5", "int")

    ratio = reads["ratio"]
    assert (ratio["value"], ratio["type"], ratio["from_flag"]) == ("0", "int", False)
    assert (ratio["flag_value"], ratio["flag_type"]) == ("0.5", "float")
    assert "the flag is a float, not an int like the default" in ratio["why"]
    # Same variation as btn_color, which was activated: the variation counts.
    assert ratio["activated"] is True

    missing = reads["no_such_flag"]
    assert missing["value"] == '"fallback"'
    assert "campaign_id" not in missing
    assert missing["why"].startswith("no campaign of this visitor sets this flag")
    assert missing["activation"] == "nothing to activate"

    ab = reads["ab_color"]
    assert ab["campaign_name"] == "Checkout colour"
    assert ab["variation_name"] in {"Original", "Green"}
    assert ab["value"] == json.dumps(request.flags.flag("ab_color").value)
    assert (ab["activated"], ab["activation"]) == (False, "read with activate=False")
    # One activation, by the view's read; the panel added none.
    assert [a.variation_group_id for a in tracker.activations] == ["vg-toggles"]


def test_the_visitor_context_mode_and_bucket(rf, toolbar_settings, tracker):
    request, _, panel = run_panel(
        rf, reading(("vip_feature", False)), HTTP_ACCEPT_LANGUAGE="fr-FR,fr;q=0.9"
    )
    stats = panel.get_stats()
    assert stats["mode"] == "BUCKETING"
    assert stats["visitor"]["id"] == request.flags.visitor_id
    assert stats["visitor"]["consent"] is True
    context = by_key(stats["context"], "key")
    assert context["language"] == {"key": "language", "value": '"fr"', "type": "str"}
    assert context["is_authenticated"]["value"] == "false"
    assert context["is_authenticated"]["type"] == "bool"
    assert "fs_client" in context
    assert set(context) == set(request.flags.visitor.decision_context)

    store = flagship_client.get_store()
    bucket = stats["bucket"]
    assert bucket["version"] == store.version
    assert bucket["campaigns"] == 5
    assert bucket["last_modified"] is None  # seeded from the file
    assert bucket["age"] is not None
    assert 0 <= bucket["age"] <= 5
    assert bucket["age_text"].endswith(" s")


def test_campaigns_not_entered_say_why(rf, toolbar_settings):
    _, _, panel = run_panel(rf, reading(("vip_feature", False)), HTTP_ACCEPT_LANGUAGE="fr")
    campaigns = by_key(panel.get_stats()["campaigns"], "id")
    assert list(campaigns) == ["c-toggles", "c-staff", "c-ab", "c-lang", "c-mobile"]

    staff = campaigns["c-staff"]
    assert (staff["entered"], staff["name"], staff["type"]) == (False, "Staff tools", "toggle")
    assert staff["reason"] == "no variation group matched targeting"
    assert staff["detail"] == ["variation group 'vg-staff': no targeting group matched"]
    assert campaigns["c-mobile"]["entered"] is False

    # A new visitor: every variation came from the hash, none from a history.
    entered = [c for c in campaigns.values() if c["entered"]]
    assert [c["id"] for c in entered] == ["c-toggles", "c-ab", "c-lang"]
    assert not any("cached variation" in line for c in entered for line in c["detail"])

    lang = campaigns["c-lang"]
    assert lang["entered"] is True
    assert (lang["variation_group_name"], lang["variation_id"]) == ("French", "v-lang-fr")
    assert campaigns["c-ab"]["variation_name"] in {"Original", "Green"}
    assert campaigns["c-ab"]["bucket"] is not None


def test_a_stored_variation_is_explained_as_the_decision_used_it(rf, toolbar_settings):
    """The history wins over the hash in the decision, and so in the explanation."""
    toolbar_settings.FLAGSHIP_VISITOR_ID = "tests.django.support.header_visitor_id"
    visitor_id = "panel-history"
    (hashed,) = [
        a.variation_id
        for a in flagship_client.get_bucket().decide(visitor_id, {})
        if a.campaign_id == "c-ab"
    ]
    other = "v-ab-green" if hashed == "v-ab-ref" else "v-ab-ref"
    key = history_key(flagship_client.runtime().namespace, visitor_id)
    caches["default"].set(key, {"assignments": {"vg-ab": other}, "segment": None})

    _, _, panel = run_panel(rf, reading(("ab_color", "")), HTTP_X_VISITOR=visitor_id)
    stats = panel.get_stats()
    ab = by_key(stats["campaigns"], "id")["c-ab"]
    assert (ab["entered"], ab["variation_id"]) == (True, other)
    assert f"cached variation {other!r}" in ab["detail"]
    assert by_key(stats["reads"], "key")["ab_color"]["variation_id"] == other


def test_a_request_that_read_no_flag_is_not_decided_by_the_panel(rf, toolbar_settings, tracker):
    request, response, panel = run_panel(rf, lambda request: HttpResponse("no flags"))
    assert panel.get_stats() == {"state": "not-decided", "subtitle": "no flag read", "reads": []}
    assert panel.nav_subtitle == "no flag read"
    assert request.flags.decided is False
    assert request.flags.used is False  # not even the visitor was resolved
    assert not response.has_header("Vary")
    assert tracker.activations == []
    assert tracker.hits == []


def test_the_panel_activates_nothing(rf, toolbar_settings, tracker):
    toolbar_settings.FLAGSHIP_AUTO_ACTIVATE = False
    _, _, panel = run_panel(rf, reading(("vip_feature", False), ("btn_color", "")))
    reads = by_key(panel.get_stats()["reads"], "key")
    assert reads["vip_feature"]["activated"] is False
    assert reads["vip_feature"]["activation"] == "FLAGSHIP_AUTO_ACTIVATE is False"
    assert tracker.activations == []


def test_without_consent_the_note_says_so(rf, toolbar_settings, tracker):
    toolbar_settings.FLAGSHIP_CONSENT = "tests.django.support.no_consent"
    _, _, panel = run_panel(rf, reading(("vip_feature", False)))
    stats = panel.get_stats()
    assert stats["visitor"]["consent"] is False
    assert stats["reads"][0]["activation"] == "no consent: nothing is activated"
    assert tracker.activations == []


def test_a_null_flag_keeps_the_default_and_is_activated(rf, toolbar_settings, tracker):
    _, _, panel = run_panel(rf, reading(("nothing", "fallback")))
    (row,) = panel.get_stats()["reads"]
    assert (row["value"], row["flag_value"]) == ('"fallback"', "null")
    assert row["why"] == "the variation keeps the default (null)"
    assert row["activated"] is True


def test_under_override_flags_the_reads_are_shown_without_a_visitor(rf, toolbar_settings):
    with override_flags({"btn_color": "green"}):
        _, _, panel = run_panel(rf, reading(("btn_color", "blue")))
    stats = panel.get_stats()
    assert stats["visitor"] is None
    (row,) = stats["reads"]
    assert (row["key"], row["value"]) == ("btn_color", '"green"')


def test_unconfigured_flagship_reads_defaults(rf, toolbar_settings):
    toolbar_settings.FLAGSHIP_BUCKET_FILE = None
    _, _, panel = run_panel(rf, reading(("vip_feature", False)))
    stats = panel.get_stats()
    assert stats["mode"] == "not configured"
    assert stats["bucket"] is None
    assert stats["campaigns"] == []
    assert stats["campaigns_note"].startswith("Flagship is not configured")
    assert stats["reads"][0]["why"].startswith("no campaign")


def test_in_decision_api_mode_the_campaigns_are_those_the_api_returned(
    rf, toolbar_settings, live_server
):
    """The site asks the Decision API it serves itself (in the live server's thread)."""
    base = f"{live_server.url}/decision-api/v2"
    toolbar_settings.ROOT_URLCONF = "tests.decision_api.urls"
    toolbar_settings.FLAGSHIP_MODE = "DECISION_API"
    toolbar_settings.FLAGSHIP_ENV_ID = "panel-env"
    toolbar_settings.FLAGSHIP_API_KEY = "panel-key"
    toolbar_settings.FLAGSHIP_DECISION_API_URL = base
    toolbar_settings.FLAGSHIP_ACTIVATE_URL = f"{base}/activate"
    toolbar_settings.FLAGSHIP_DECISION_API_ENVIRONMENTS = {"panel-env": ["panel-key"]}
    # The served API decides from the bucket file; nothing is ever downloaded.
    toolbar_settings.FLAGSHIP_BUCKETING_URL = f"{live_server.url}/no-bucket/{{env_id}}.json"
    toolbar_settings.FLAGSHIP_POLLING_INTERVAL = 0

    _, _, panel = run_panel(rf, reading(("btn_color", "blue")))
    stats = panel.get_stats()
    assert stats["mode"] == "DECISION_API"
    assert stats["bucket"] is None
    campaigns = by_key(stats["campaigns"], "id")
    assert list(campaigns) == ["c-toggles", "c-ab"]  # no language, not staff, no phone
    assert {c["reason"] for c in campaigns.values()} == {"returned by the Decision API"}
    assert stats["campaigns_note"].startswith("The Decision API decided")
    assert campaigns["c-ab"]["name"] == "Checkout colour"
    (row,) = stats["reads"]
    assert (row["value"], row["campaign_name"], row["activated"]) == ('"red"', "Toggles", True)


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_an_async_view_under_the_toolbar(async_rf, toolbar_settings, tracker):
    """Under ASGI the panel is enabled (is_async) and reports the async reads."""
    from debug_toolbar.toolbar import DebugToolbar

    async def view(request):
        color = await request.flags.aget("btn_color", "blue")
        return HttpResponse(f"<html><body>{color}</body></html>")

    request = async_rf.get("/")
    toolbar = DebugToolbar(request, chain(view))
    panel = toolbar.get_panel_by_id("FlagshipPanel")
    assert panel.enabled
    response = await toolbar.process_request(request)
    panel.generate_stats(request, response)
    (row,) = panel.get_stats()["reads"]
    assert (row["key"], row["value"], row["activated"]) == ("btn_color", '"red"', True)
    assert len(tracker.activations) == 1


def test_bucketing_without_a_bucket_yet(rf, toolbar_settings, unused_tcp_port):
    toolbar_settings.FLAGSHIP_BUCKET_FILE = None
    toolbar_settings.FLAGSHIP_ENV_ID = "env"
    # Nothing listens there: the first download fails at once, on loopback.
    toolbar_settings.FLAGSHIP_BUCKETING_URL = f"http://127.0.0.1:{unused_tcp_port}/{{env_id}}"
    toolbar_settings.FLAGSHIP_POLLING_INTERVAL = 0
    _, _, panel = run_panel(rf, reading(("vip_feature", False)))
    stats = panel.get_stats()
    assert (stats["mode"], stats["bucket"], stats["campaigns"]) == ("BUCKETING", None, [])
    assert stats["campaigns_note"] == "No bucket yet: every flag serves its default."
    assert stats["reads"][0]["value"] == "false"


def test_a_request_without_the_middleware(rf):
    assert request_report(rf.get("/"))["state"] == "no-middleware"


def test_the_bucket_age_comes_from_when_it_was_stored(rf, toolbar_settings):
    request, _, _ = run_panel(rf, reading(("vip_feature", False)))
    stored_at = flagship_client.get_store().stored_at
    report = request_report(request, clock=lambda: stored_at + 3 * 3600 + 5)
    assert report["bucket"]["age"] == 3 * 3600 + 5
    assert report["bucket"]["age_text"] == "3 h"


def test_reads_are_not_recorded_unless_the_panel_is_ready(rf, configured, monkeypatch):
    monkeypatch.setattr(flags_module, "_recording", False)
    request = rf.get("/")
    chain(reading(("vip_feature", False)))(request)
    assert request.flags.decided
    assert request.flags.reads == ()
    report = request_report(request)
    assert report["reads"] == []
    assert report["subtitle"] == "no flag read"
    assert report["recording"] is False


SCRIPT = """
import sys
import django
from django.conf import settings
settings.configure(
    DEBUG=True, SECRET_KEY="x", ROOT_URLCONF="tests.django.urls", ALLOWED_HOSTS=["*"],
    INSTALLED_APPS=["django.contrib.auth", "django.contrib.contenttypes",
                    "django.contrib.sessions", "django.contrib.staticfiles",
                    "django_flagship", *EXTRA_APPS],
    MIDDLEWARE=["django.contrib.sessions.middleware.SessionMiddleware",
                "django.contrib.auth.middleware.AuthenticationMiddleware",
                "django_flagship.middleware.FlagshipMiddleware"],
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
    STATIC_URL="/static/",
    FLAGSHIP_BUCKET_FILE="tests/django/data/bucketing.json",
    FLAGSHIP_HIT_SINK="memory",
    **EXTRA_SETTINGS,
)
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from django.test import Client
import django_flagship.templatetags.flagship, django_flagship.templatetags.flagship_browser
response = Client().get("/read/?key=vip_feature")
assert response.json()["values"] == {"vip_feature": True}, response.content
from django_flagship.flags import recording_reads
print(any(m.startswith("debug_toolbar") for m in sys.modules), recording_reads())
"""


def run_site(extra_apps, extra_settings):
    script = SCRIPT.replace("*EXTRA_APPS", ", ".join(map(repr, extra_apps))).replace(
        "**EXTRA_SETTINGS,", "".join(f"{k}={v!r}," for k, v in extra_settings.items())
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_the_app_never_imports_the_toolbar():
    """Without the panel nothing of the toolbar is loaded, and no read is recorded."""
    assert run_site([], {}) == "False False"


def test_a_site_with_the_toolbar_and_the_panel_records_reads():
    settings = {
        "DEBUG_TOOLBAR_PANELS": [PANEL],
        "DEBUG_TOOLBAR_CONFIG": {"IS_RUNNING_TESTS": False},
    }
    assert run_site(["debug_toolbar"], settings) == "True True"


# -- through DebugToolbarMiddleware and the render_panel view -----------------------


@pytest.fixture
def toolbar_site(toolbar_settings):
    toolbar_settings.DEBUG = True
    toolbar_settings.INTERNAL_IPS = ["127.0.0.1"]
    toolbar_settings.ROOT_URLCONF = "tests.django.toolbar_urls"
    toolbar_settings.MIDDLEWARE = [
        "debug_toolbar.middleware.DebugToolbarMiddleware",
        *toolbar_settings.MIDDLEWARE,
    ]
    return toolbar_settings


def rendered_panel(client, response):
    """The panel's HTML, as the toolbar's JavaScript fetches it."""
    match = re.search(r'data-request-id="([0-9a-f]+)"', response.content.decode())
    assert match, "the toolbar was not inserted"
    answer = client.get(
        "/__debug__/render_panel/", {"request_id": match.group(1), "panel_id": "FlagshipPanel"}
    )
    assert answer.status_code == 200
    return answer.json()["content"]


def test_the_toolbar_shows_the_panel_and_its_rows(client, toolbar_site):
    response = client.get("/toolbar/read/")
    html = response.content.decode()
    assert "Flagship" in html
    assert "2 flags read" in html
    content = rendered_panel(client, response)
    assert 'data-flag="btn_color"' in content
    assert "&quot;red&quot;" in content  # the served value, escaped
    assert "Toggles" in content
    assert "v-toggles-on" in content
    assert 'data-campaign="c-staff"' in content
    assert "no variation group matched targeting" in content
    assert 'id="flagship-bucket-version"' in content


def test_the_toolbar_on_a_page_that_reads_nothing(client, toolbar_site, tracker):
    response = client.get("/toolbar/nothing/")
    assert "no flag read" in response.content.decode()
    assert "read no flag" in rendered_panel(client, response)
    assert tracker.activations == []
    assert "sessionid" not in response.cookies
