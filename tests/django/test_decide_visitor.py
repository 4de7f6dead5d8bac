"""``flagship_decide``: describing the visitor as a request to the site."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import StringIO

import pytest
import responses
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import path

from tests.conftest import DATA
from tests.django.test_decide_matches_site import site_view

urlpatterns = [path("site/", site_view)]

CHROME = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/124.0 Safari/537.36"
IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148"


def run(*args):
    out = StringIO()
    call_command("flagship_decide", *args, stdout=out)
    return out.getvalue()


def decide(*args):
    return json.loads(run(*args, "--json"))


def test_the_default_context_comes_from_the_request(configured):
    report = decide("--visitor", "v1", "--user-agent", IPHONE, "--language", "fr-CA,fr;q=0.8")
    assert report["context"] == {
        **report["context"],
        "is_authenticated": False,
        "is_staff": False,
        "is_superuser": False,
        "device_type": "mobile",
        "language": "fr",
    }
    assert report["user"] is None
    assert report["request"] == {
        "path": "/",
        "user_agent": IPHONE,
        "accept_language": "fr-CA,fr;q=0.8",
        "session": None,
    }
    by_id = {c["campaign_id"]: c for c in report["campaigns"]}
    assert by_id["c-mobile"]["variation_id"] == "v-mobile-on"
    assert by_id["c-lang"]["variation_id"] == "v-lang-fr"


def test_without_a_user_agent_the_device_is_unknown_as_on_the_site(configured):
    report = decide("--visitor", "v1")
    assert report["context"]["device_type"] == "unknown"
    assert "language" in report["context"]  # the site's LANGUAGE_CODE, as Django picks it


def test_the_table_shows_the_context_and_where_each_value_came_from(configured):
    output = run("--visitor", "v1", "--user-agent", CHROME, "--context", "is_staff=true")
    rows = {line.split()[0]: line.split()[1:] for line in output.splitlines() if line.strip()}
    assert rows["context"] == ["value", "from"]
    assert rows["is_authenticated"] == ["false", "request"]
    assert rows["device_type"] == ['"desktop"', "request"]
    assert rows["is_staff"] == ["true", "--context"]
    assert rows["fs_client"][-1] == "SDK"


@pytest.mark.django_db
def test_a_user_by_username_or_pk(configured, django_user_model):
    staff = django_user_model.objects.create_user("erin", is_staff=True)
    for text in ("erin", str(staff.pk)):
        report = decide("--user", text)
        assert report["visitor_id"] == str(staff.pk)
        assert report["user"] == {"pk": str(staff.pk), "username": "erin"}
        assert report["context"]["is_authenticated"] is True
        assert report["context"]["is_staff"] is True
        assert report["flags"]["staff_tool"]["value"] is True
    first = run("--user", "erin").splitlines()[0]
    assert first == f"Visitor '{staff.pk}' (BUCKETING), logged in as 'erin' (pk {staff.pk})."


@pytest.mark.django_db
def test_an_unknown_user(configured):
    with pytest.raises(CommandError, match="--user: no user has the primary key or the username"):
        run("--user", "nobody")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "Say who the visitor is"),
        (("--user", "frank", "--anonymous"), "contradict"),
        (("--visitor", "v1", "--user", "frank"), "pass --user alone"),
        (("--visitor", "v1", "--session", "abc"), "pass one"),
        (("--visitor", "v1", "--anonymous-id", "a1"), "--anonymous-id goes with --user"),
        (("--visitor", "x" * 129), "--visitor must be 1 to 128 characters"),
        (("--session", "no-such-session"), "has no session 'no-such-session'"),
    ],
)
def test_descriptions_no_request_can_have(configured, django_user_model, args, message):
    django_user_model.objects.create_user("frank")
    with pytest.raises(CommandError, match=message):
        run(*args)


@pytest.mark.urls(__name__)
@pytest.mark.django_db
def test_sessions_the_site_gave_out(configured, django_user_model):
    grace = django_user_model.objects.create_user("grace")
    django_user_model.objects.create_user("heidi")
    client = Client()
    session = client.session  # a session in which no flag was read yet
    session["something"] = "else"
    session.save()
    with pytest.raises(CommandError, match="has no visitor id yet"):
        run("--session", session.session_key)
    anonymous = client.get("/site/").json()
    key = client.session.session_key
    assert decide("--session", key)["visitor_id"] == anonymous["visitor_id"]
    # The same session after a login: the user comes from the session.
    client.force_login(grace)
    logged_in = client.get("/site/").json()
    key = client.session.session_key
    report = decide("--session", key)
    assert (report["visitor_id"], report["anonymous_id"]) == (
        str(grace.pk),
        anonymous["visitor_id"],
    )
    assert report["user"]["username"] == "grace"
    assert report["context"] == logged_in["context"]
    assert decide("--session", key, "--user", "grace")["visitor_id"] == str(grace.pk)
    with pytest.raises(CommandError, match="logged in as another user"):
        run("--session", key, "--user", "heidi")
    with pytest.raises(CommandError, match=r"--anonymous: session .* is logged in"):
        run("--session", key, "--anonymous")


@pytest.mark.urls(__name__)
@pytest.mark.django_db
def test_a_site_without_sessions_keeps_the_id_in_a_signed_cookie(configured, django_user_model):
    configured.MIDDLEWARE = ["django_flagship.middleware.FlagshipMiddleware"]
    client = Client()
    site = client.get("/site/", HTTP_USER_AGENT=IPHONE).json()
    assert client.cookies["flagship_visitor"].value  # no session: the cookie holds it
    report = decide("--visitor", site["visitor_id"], "--user-agent", IPHONE)
    assert report["visitor_id"] == site["visitor_id"]
    assert report["context"] == site["context"]
    assert "is_authenticated" in report["context"]  # no request.user: False, as on the site
    django_user_model.objects.create_user("ivan")
    with pytest.raises(CommandError, match="no AuthenticationMiddleware"):
        run("--user", "ivan")
    with pytest.raises(CommandError, match="no SessionMiddleware"):
        run("--session", "abc")


@pytest.mark.django_db
def test_the_sites_visitor_id_callable_decides_the_id(configured, django_user_model):
    configured.FLAGSHIP_VISITOR_ID = "tests.django.support.pair_visitor_id"
    report = decide("--visitor", "v1")
    assert (report["visitor_id"], report["anonymous_id"]) == ("user-from-sso", "device-42")


def test_the_sites_context_callable_runs_with_the_request(configured):
    configured.FLAGSHIP_CONTEXT = "tests.django.support.plan_context"
    report = decide("--visitor", "v1")
    assert report["context"]["plan"] == "free"
    assert report["context_sources"]["plan"] == "request"
    assert report["flags"]["staff_tool"]["value"] is True  # the callable's is_staff wins


def test_the_request_path_reaches_the_context_callable(configured):
    configured.FLAGSHIP_CONTEXT = "tests.django.test_decide_visitor.path_context"
    assert decide("--visitor", "v1", "--path", "/shop/cart/")["context"]["section"] == "shop"


def path_context(request):
    return {"section": request.path.strip("/").split("/")[0]}


@pytest.mark.django_db
def test_decision_api_mode_sends_the_request_context(settings, django_user_model):
    settings.FLAGSHIP_MODE = "DECISION_API"
    settings.FLAGSHIP_ENV_ID = "env"
    settings.FLAGSHIP_API_KEY = "key"
    settings.FLAGSHIP_TRACKER = "tests.django.support.memory_tracker"
    with responses.RequestsMock() as mock:
        mock.post(
            "https://decision.flagship.io/v2/env/campaigns",
            json={
                "visitorId": "v1",
                "campaigns": [
                    {
                        "id": "c1",
                        "name": "Spring sale",
                        "variationGroupId": "vg1",
                        "variationGroupName": "Phones",
                        "variation": {
                            "id": "var1",
                            "name": "Red",
                            "modifications": {"type": "FLAG", "value": {"btn_color": "red"}},
                        },
                    }
                ],
            },
        )
        output = run("--visitor", "v1", "--user-agent", IPHONE, "--language", "de")
        body = json.loads(mock.calls[0].request.body)
    assert body["context"]["device_type"] == "mobile"
    assert body["context"]["language"] == "de"
    assert body["context"]["is_authenticated"] is False
    row = next(line for line in output.splitlines() if line.startswith("c1 "))
    assert row.split() == [
        "c1",
        "(Spring",
        "sale)",
        "vg1",
        "(Phones)",
        "var1",
        "(Red)",
        "matched",
        "decision_api",
    ]


class _Cdn(BaseHTTPRequestHandler):
    """Flagship's CDN on loopback: the test bucket, or a 500 when told so."""

    status = 200
    requests: list[str] = []

    def do_GET(self):
        type(self).requests.append(self.path)
        body = (DATA / "bucketing.json").read_bytes() if self.status == 200 else b"down"
        self.send_response(self.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def cdn(settings):
    _Cdn.requests = []
    _Cdn.status = 200
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Cdn)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    settings.FLAGSHIP_ENV_ID = "env-cdn"
    settings.FLAGSHIP_BUCKETING_URL = (
        f"http://127.0.0.1:{server.server_address[1]}/{{env_id}}/bucketing.json"
    )
    settings.FLAGSHIP_POLLING_INTERVAL = 0
    settings.FLAGSHIP_TRACKER = "tests.django.support.memory_tracker"
    yield _Cdn
    server.shutdown()
    server.server_close()


def test_a_cache_with_no_bucket_gets_it_downloaded_for_the_command(cdn):
    """The README's locmemcache:// is empty in a new process: decide downloads, as the site."""
    output = run("--visitor", "v1", "--user-agent", IPHONE)
    lines = output.splitlines()
    assert lines[1].startswith("The cache held no bucket: it was downloaded from Flagship")
    assert "/env-cdn/bucketing.json" in cdn.requests
    row = next(line for line in lines if line.startswith("c-mobile"))
    assert "matched" in row.split()
    report = decide("--visitor", "v1")
    assert report["bucket"]["downloaded"] is False  # this process has it now
    assert report["bucket"]["version"]


def test_a_failed_download_is_an_error(cdn):
    cdn.status = 500
    with pytest.raises(CommandError, match="No bucket is available, and downloading it failed"):
        run("--visitor", "v1")
