"""``flags_for``: flags in tasks, commands and scripts, with the site's visitor rules."""

import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import mmh3
import pytest
import responses
from django.contrib.auth.models import AnonymousUser, User

import django_flagship
from django_flagship.flags import Flags, RequestFlags
from django_flagship.identity import ANONYMOUS_ID_SESSION_KEY
from django_flagship.sdk.hits import Event, EventCategory
from django_flagship.shortcuts import flags_for
from django_flagship.testing import override_flags

pytestmark = [pytest.mark.urls("tests.django.urls"), pytest.mark.django_db]

REPO = Path(__file__).resolve().parents[2]


def site_read(client, key, kind="str"):
    response = client.get("/read/", {"key": key, "type": kind})
    assert response.status_code == 200
    return response.json()


def ab_variation(visitor_id):
    return mmh3.hash(f"vg-ab{visitor_id}".encode(), 0, False) % 100 < 50


# -- the same visitor as on the site --------------------------------------------------


def test_users_get_their_site_variation(client, configured):
    colors = set()
    for n in range(8):
        user = User.objects.create_user(f"user{n}")
        client.force_login(user)
        on_site = site_read(client, "ab_color")
        flags = flags_for(user)
        assert flags.get("ab_color", "") == on_site["values"]["ab_color"]
        assert flags.visitor_id == on_site["visitor_id"] == str(user.pk)
        colors.add(on_site["values"]["ab_color"])
    assert colors == {"blue", "green"}  # both variations were exercised


def test_the_variation_seen_before_login_follows_the_user_into_tasks(client, configured):
    user = User.objects.create_user("ada")
    anonymous = next(
        f"anon-{n}" for n in range(1000) if ab_variation(f"anon-{n}") != ab_variation(str(user.pk))
    )
    session = client.session
    session[ANONYMOUS_ID_SESSION_KEY] = anonymous
    session.save()
    before = site_read(client, "ab_color")["values"]["ab_color"]
    client.force_login(user)
    assert site_read(client, "ab_color")["values"]["ab_color"] == before
    # The user's own hash says otherwise; the stored assignment wins, as on the site.
    assert flags_for(user).get("ab_color", "") == before


def test_an_anonymous_visitor_handed_to_a_task(client, configured):
    on_site = site_read(client, "ab_color")
    flags = flags_for(visitor_id=on_site["visitor_id"])
    assert flags.get("ab_color", "") == on_site["values"]["ab_color"]


def test_the_visitor_id_hook_decides_for_users_too(client, configured):
    configured.FLAGSHIP_VISITOR_ID = "tests.django.beyond_support.email_visitor_id"
    user = User.objects.create_user("ada", email="ada@example.com")
    client.force_login(user)
    assert site_read(client, "ab_color")["visitor_id"] == "ada@example.com"
    assert flags_for(user).visitor_id == "ada@example.com"


# -- context and consent -----------------------------------------------------------------


def test_the_user_context_and_extra_keys(configured):
    staff = User.objects.create_user("boss", is_staff=True)
    plain = User.objects.create_user("pat")
    assert flags_for(staff).get("staff_tool", False) is True
    assert flags_for(plain).get("staff_tool", False) is False
    # Request-only keys (language, device type) can be given explicitly.
    assert flags_for(plain).get("greeting", "hello") == "hello"
    assert flags_for(plain, context={"language": "fr"}).get("greeting", "hello") == "bonjour"
    mobile = flags_for(plain, context={"device_type": "mobile"})
    assert mobile.get("mobile_layout", False) is True
    context = mobile.visitor.context
    assert context["is_authenticated"] is True
    assert context["is_staff"] is False
    # The extra keys were the task's alone: the context others share is unchanged.
    assert flags_for(plain).get("greeting", "hello") == "hello"
    assert flags_for(plain).visitor.context.get("device_type") != "mobile"


def test_the_context_hook_sees_the_user(configured):
    configured.FLAGSHIP_CONTEXT = "tests.django.beyond_support.plan_from_user"
    flags = flags_for(User.objects.create_user("pro-ann"))
    flags.get("vip_feature", False)
    assert flags.visitor.context["plan"] == "pro"


def test_consent_comes_from_the_hook_unless_given(configured, tracker):
    configured.FLAGSHIP_CONSENT = "tests.django.beyond_support.consent_from_user"
    refused = User.objects.create_user("no-consent")
    event = Event(EventCategory.ACTION_TRACKING, "digest_sent")
    assert flags_for(refused).send_hit(event) is False
    assert flags_for(User.objects.create_user("ok")).send_hit(event) is True
    assert flags_for(refused, consent=True).send_hit(event) is True
    assert [h.payload["ea"] for h in tracker.hits if h.hit_type == "EVENT"] == [
        "digest_sent",
        "digest_sent",
    ]


# -- the accessor ---------------------------------------------------------------------------


def test_the_same_accessor_as_request_flags(configured, tracker):
    user = User.objects.create_user("ada")
    flags = flags_for(user)
    assert isinstance(flags, RequestFlags)  # what the middleware attaches
    assert isinstance(flags_for(visitor_id="v"), Flags)
    assert flags.get("vip_feature", False) is True
    assert flags.get("vip_feature", False) is True
    assert flags.info("vip_feature")["variationId"] == "v-toggles-on"
    assert flags.all()["max_items"] == 5
    assert "btn_color" in flags
    activations = [(a.visitor_id, a.variation_id) for a in tracker.activations]
    assert activations == [(str(user.pk), "v-toggles-on")]
    assert flags.activate("ab_color") is True
    assert flags.send_hit(Event(EventCategory.ACTION_TRACKING, "task_done")) is True
    events = [h for h in tracker.hits if h.hit_type == "EVENT"]
    assert [(h.visitor_id, h.payload["ea"]) for h in events] == [(str(user.pk), "task_done")]


def test_flag_gives_the_assignment_without_activating(configured, tracker):
    flags = flags_for(visitor_id="v", context={"is_staff": True})
    flag = flags.flag("staff_tool")
    assert (flag.value, flag.assignment.campaign_id) == (True, "c-staff")
    assert flags.flag("no_such_flag") is None
    assert tracker.activations == []


@pytest.mark.asyncio
async def test_async_reads_in_async_tasks(configured):
    flags = flags_for(visitor_id="async-visitor", context={"is_staff": True})
    assert await flags.aget("staff_tool", False) is True


def test_override_flags_applies_in_tasks(configured):
    with override_flags({"vip_feature": False}) as override:
        assert flags_for(visitor_id="v").get("vip_feature", True) is False
    assert override.activations == ["vip_feature"]


def test_decision_api_mode(settings):
    settings.FLAGSHIP_MODE = "DECISION_API"
    settings.FLAGSHIP_ENV_ID = "env"
    settings.FLAGSHIP_API_KEY = "key"
    settings.FLAGSHIP_DECISION_API_URL = "https://decision.example.test/v2"
    settings.FLAGSHIP_TRACKER = "tests.django.support.memory_tracker"
    user = User.objects.create_user("ada", is_staff=True)
    campaign = {
        "id": "c1",
        "variationGroupId": "vg1",
        "variation": {"id": "var1", "modifications": {"type": "FLAG", "value": {"beta": True}}},
    }
    with responses.RequestsMock() as mocked:
        mocked.post(
            "https://decision.example.test/v2/env/campaigns",
            json={"visitorId": str(user.pk), "campaigns": [campaign]},
        )
        flags = flags_for(user, context={"plan": "pro"})
        assert flags.get("beta", False) is True
        assert flags.get("other", "x") == "x"
        assert len(mocked.calls) == 1
        body = json.loads(mocked.calls[0].request.body)
    assert body["visitorId"] == str(user.pk)
    assert body["context"]["is_staff"] is True
    assert body["context"]["plan"] == "pro"


# -- misuse ---------------------------------------------------------------------------------


def test_misuse_is_an_error_at_the_call():
    with pytest.raises(TypeError, match="exactly one"):
        flags_for()
    with pytest.raises(TypeError, match="exactly one"):
        flags_for(User(pk=1), visitor_id="v")
    with pytest.raises(ValueError, match="anonymous user"):
        flags_for(AnonymousUser())
    with pytest.raises(ValueError, match="non-empty"):
        flags_for(visitor_id="")
    with pytest.raises(TypeError, match="anonymous_id"):
        flags_for(User(pk=1), anonymous_id="a")


def test_the_package_exports_it_lazily():
    assert django_flagship.flags_for is flags_for
    code = (
        "import sys, django_flagship\n"
        "assert 'django_flagship.flags' not in sys.modules\n"
        "assert 'django.db' not in sys.modules, 'Django models imported'\n"
        "from django_flagship.sdk import Flagship\n"
        "assert 'django.db' not in sys.modules\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO, env=env, timeout=30)
    with pytest.raises(AttributeError):
        django_flagship.no_such_name  # noqa: B018


# -- a short-lived process -------------------------------------------------------------


class Collector(ThreadingHTTPServer):
    """A loopback stand-in for Flagship's collector and activate endpoints."""

    def __init__(self):
        super().__init__(("127.0.0.1", 0), CollectorHandler)
        self.hits = []
        self.activations = []
        self.lock = threading.Lock()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server_address[1]}"


class CollectorHandler(BaseHTTPRequestHandler):
    def do_GET(self):
        with self.server.lock:
            events = sum(1 for hit in self.server.hits if hit["t"] == "EVENT")
        body = json.dumps({"events": events}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        with self.server.lock:
            if self.path.startswith("/activate"):
                self.server.activations.extend(body["batch"])
            else:
                self.server.hits.extend(body["h"])
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def collector():
    server = Collector()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_a_script_that_exits_at_once_delivers_every_hit(collector, tmp_path):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.django.script_settings",
        "COLLECTOR_URL": collector.url,
        "HITS": "40",
        "PYTHONPATH": str(REPO),
    }
    done = subprocess.run(
        [sys.executable, "-m", "tests.django.flags_for_script"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    sent = sorted(hit["ea"] for hit in collector.hits if hit["t"] == "EVENT")
    assert sent == sorted(f"task-{n}" for n in range(40))
    assert {hit["vid"] for hit in collector.hits if hit["t"] == "EVENT"} == {"script-visitor"}
    assert [(a["vid"], a["vaid"]) for a in collector.activations] == [
        ("script-visitor", "v-toggles-on")
    ]
    # The work was done with the events still queued: the exit flush delivered them.
    assert report["events_before_exit"] < 40
