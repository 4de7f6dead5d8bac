"""``flagship_decide`` against the site: 200 generated visitors decided both ways.

Each visitor makes real requests through the Django test client (sessions,
authentication, the Flagship middleware, a view printing its flags); then the
command is asked about the same visitor, described the way a person debugging
would describe it (``--visitor``/``--user``/``--session``, ``--user-agent``,
``--language``). Visitor id, context and flags must be the same.
"""

import json
import random
from io import StringIO

import pytest
from django.core.management import call_command
from django.http import JsonResponse
from django.test import Client
from django.urls import path
from django.utils import translation

from django_flagship.history import history_key
from django_flagship.identity import ANONYMOUS_ID_SESSION_KEY

pytestmark = [pytest.mark.urls(__name__), pytest.mark.django_db]


def site_view(request):
    flags = request.flags.all()
    return JsonResponse(
        {
            "flags": flags,
            "visitor_id": request.flags.visitor_id,
            "anonymous_id": request.flags.anonymous_id,
            "context": request.flags.visitor.decision_context,
        }
    )


urlpatterns = [path("site/", site_view)]


def beta_context(request):
    """A project's FLAGSHIP_CONTEXT: the command must run it too."""
    user = getattr(request, "user", None)
    name = user.get_username() if user is not None and user.is_authenticated else ""
    return {"beta": name.startswith("beta")}


def _rule(key, operator, value):
    return {"key": key, "operator": operator, "value": value}


def _group(vg_id, rules, variations):
    return {
        "id": vg_id,
        "name": f"group {vg_id}",
        "targeting": {"targetingGroups": [{"targetings": rules}]},
        "variations": [
            {
                "id": var_id,
                "name": f"variation {var_id}",
                "reference": index == 0,
                "allocation": allocation,
                "modifications": {"type": "FLAG", "value": flags},
            }
            for index, (var_id, allocation, flags) in enumerate(variations)
        ],
    }


def _campaign(campaign_id, kind, groups):
    return {
        "id": campaign_id,
        "name": f"campaign {campaign_id}",
        "type": kind,
        "variationGroups": groups,
    }


EVERYONE = [_rule("fs_all_users", "EQUALS", "")]

BUCKET = {
    "panic": False,
    "campaigns": [
        _campaign(
            "c-newsletter",
            "toggle",
            [
                _group(
                    "vg-newsletter",
                    [
                        _rule("is_authenticated", "EQUALS", False),
                        _rule("device_type", "EQUALS", "desktop"),
                    ],
                    [("v-newsletter", 100, {"newsletter": True})],
                )
            ],
        ),
        _campaign(
            "c-members",
            "toggle",
            [
                _group(
                    "vg-members",
                    [_rule("is_authenticated", "EQUALS", True)],
                    [("v-members", 100, {"members": True})],
                )
            ],
        ),
        _campaign(
            "c-device",
            "perso",
            [
                _group(
                    "vg-phone",
                    [_rule("device_type", "EQUALS", "mobile")],
                    [("v-phone", 100, {"layout": "compact"})],
                ),
                _group(
                    "vg-tablet",
                    [_rule("device_type", "EQUALS", "tablet")],
                    [("v-tablet", 100, {"layout": "wide"})],
                ),
                _group(
                    "vg-bot",
                    [_rule("device_type", "EQUALS", "bot")],
                    [("v-bot", 100, {"layout": "plain"})],
                ),
            ],
        ),
        _campaign(
            "c-lang",
            "perso",
            [
                _group(
                    "vg-fr",
                    [_rule("language", "EQUALS", "fr")],
                    [("v-fr", 100, {"greeting": "bonjour"})],
                ),
                _group(
                    "vg-de",
                    [_rule("language", "STARTS_WITH", "de")],
                    [("v-de", 100, {"greeting": "hallo"})],
                ),
                _group(
                    "vg-pt",
                    [_rule("language", "EQUALS", "pt-br")],
                    [("v-pt", 100, {"greeting": "olá"})],
                ),
            ],
        ),
        _campaign(
            "c-staff",
            "toggle",
            [
                _group(
                    "vg-staff",
                    [_rule("is_staff", "EQUALS", True)],
                    [("v-staff", 100, {"staff_tool": True})],
                )
            ],
        ),
        _campaign(
            "c-beta",
            "toggle",
            [
                _group(
                    "vg-beta",
                    [_rule("beta", "EQUALS", True)],
                    [("v-beta", 100, {"beta_banner": True})],
                )
            ],
        ),
        _campaign(
            "c-ab",
            "ab",
            [
                _group(
                    "vg-ab",
                    EVERYONE,
                    [
                        ("v-ab-blue", 34, {"ab_color": "blue"}),
                        ("v-ab-green", 33, {"ab_color": "green"}),
                        ("v-ab-red", 33, {"ab_color": "red"}),
                    ],
                )
            ],
        ),
        _campaign(
            "c-cta",
            "ab",
            [
                _group(
                    "vg-cta",
                    [
                        _rule("is_authenticated", "EQUALS", True),
                        _rule("device_type", "NOT_EQUALS", "desktop"),
                    ],
                    [("v-cta-ref", 50, {"cta": "Buy"}), ("v-cta-new", 50, {"cta": "Get it now"})],
                )
            ],
        ),
    ],
}

USER_AGENTS = [
    None,
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/124.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 Version/17.4 Safari/605",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Chrome/124.0 Mobile Safari/537.36",
    "Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
    "Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 Chrome/124.0 Safari/537.36",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
]
LANGUAGES = [
    None,
    "fr",
    "fr-FR,fr;q=0.9,en;q=0.5",
    "de-DE",
    "de-AT,de;q=0.9",
    "pt-BR",
    "es",
    "en-US,en;q=0.8",
    "xx",
]


def _visitors(count, seed):
    rng = random.Random(seed)
    for index in range(count):
        kind = rng.choice(["anonymous", "anonymous", "user", "login"])
        yield {
            "index": index,
            "kind": kind,
            "user_agent": rng.choice(USER_AGENTS),
            "language": rng.choice(LANGUAGES),
            "by_session": rng.random() < 0.3,
            "by_pk": rng.random() < 0.5,
            "beta": rng.random() < 0.25,
            "staff": rng.random() < 0.25,
        }


def _headers(visitor):
    headers = {}
    if visitor["user_agent"] is not None:
        headers["HTTP_USER_AGENT"] = visitor["user_agent"]
    if visitor["language"] is not None:
        headers["HTTP_ACCEPT_LANGUAGE"] = visitor["language"]
    return headers


def _decide(*args):
    out = StringIO()
    call_command("flagship_decide", *args, "--json", stdout=out)
    return json.loads(out.getvalue())


def _visit(visitor, django_user_model, seed):
    """The site's answer, and the command-line description of the visitor."""
    client = Client()
    headers = _headers(visitor)
    user = None
    if visitor["kind"] != "anonymous":
        name = f"{'beta' if visitor['beta'] else 'user'}-{seed}-{visitor['index']}"
        user = django_user_model.objects.create_user(name, is_staff=visitor["staff"])
    anonymous_id = None
    if visitor["kind"] == "login":
        # An anonymous visit first: its variations follow the visitor at login.
        anonymous_id = client.get("/site/", **headers).json()["visitor_id"]
    if user is not None:
        client.force_login(user)
    site = client.get("/site/", **headers).json()
    if visitor["by_session"]:
        who = ["--session", client.session.session_key]
    elif user is None:
        who = ["--visitor", site["visitor_id"]]
    else:
        who = ["--user", str(user.pk) if visitor["by_pk"] else user.get_username()]
        if anonymous_id is not None:
            who += ["--anonymous-id", anonymous_id]
    if visitor["user_agent"] is not None:
        who += ["--user-agent", visitor["user_agent"]]
    if visitor["language"] is not None:
        who += ["--language", visitor["language"]]
    return site, who, anonymous_id


def _compare(visitors, django_user_model, seed, seen_flags):
    """Decide each visitor on the site and with the command; the count moved by history."""
    moved_by_history = 0
    for visitor in visitors:
        site, who, anonymous_id = _visit(visitor, django_user_model, seed)
        report = _decide(*who)
        described = f"visitor {visitor} asked as {who}"
        assert report["visitor_id"] == site["visitor_id"], described
        assert report["anonymous_id"] == site["anonymous_id"] == anonymous_id, described
        assert report["context"] == site["context"], described
        assert {key: flag["value"] for key, flag in report["flags"].items()} == site["flags"], (
            described
        )
        seen_flags.update((key, json.dumps(value)) for key, value in site["flags"].items())
        if anonymous_id is not None:
            hashed = _decide(*who, "--no-history")
            if {k: f["value"] for k, f in hashed["flags"].items()} != site["flags"]:
                moved_by_history += 1
    return moved_by_history


@pytest.mark.parametrize(
    ("locale", "seed"),
    [(False, 1301), (True, 1302)],
    ids=["accept-language", "locale-middleware"],
)
def test_200_visitors_get_the_same_flags_from_the_command_and_the_site(
    settings, tmp_path, django_user_model, locale, seed
):
    bucket_file = tmp_path / "bucketing.json"
    bucket_file.write_text(json.dumps(BUCKET))
    settings.FLAGSHIP_BUCKET_FILE = str(bucket_file)
    settings.FLAGSHIP_TRACKER = "tests.django.support.memory_tracker"
    settings.FLAGSHIP_CONTEXT = f"{__name__}.beta_context"
    if locale:
        middleware = list(settings.MIDDLEWARE)
        middleware.insert(1, "django.middleware.locale.LocaleMiddleware")
        settings.MIDDLEWARE = middleware
    seen_flags = set()
    # LocaleMiddleware activates each request's language in this thread: restore it.
    with translation.override(translation.get_language()):
        moved_by_history = _compare(_visitors(100, seed), django_user_model, seed, seen_flags)
    # The generated visitors reach every branch of every campaign...
    for flag in [
        ("newsletter", "true"),
        ("members", "true"),
        ("layout", '"compact"'),
        ("layout", '"wide"'),
        ("layout", '"plain"'),
        ("greeting", '"bonjour"'),
        ("greeting", '"hallo"'),
        ("greeting", '"ol\\u00e1"'),
        ("staff_tool", "true"),
        ("beta_banner", "true"),
        ("ab_color", '"blue"'),
        ("ab_color", '"green"'),
        ("ab_color", '"red"'),
        ("cta", '"Buy"'),
        ("cta", '"Get it now"'),
    ]:
        assert flag in seen_flags
    # ...and some visitors who logged in keep the variations they had before,
    # which only the stored history tells.
    assert moved_by_history > 0


def test_the_session_copy_of_the_history_is_used_as_on_the_site(settings, tmp_path):
    """The cache lost the history (evicted, flushed): the site uses the session's copy."""
    bucket = json.loads(json.dumps(BUCKET))
    bucket_file = tmp_path / "bucketing.json"
    bucket_file.write_text(json.dumps(bucket))
    settings.FLAGSHIP_BUCKET_FILE = str(bucket_file)
    settings.FLAGSHIP_TRACKER = "tests.django.support.memory_tracker"
    settings.FLAGSHIP_BUCKET_CHECK_INTERVAL = 0
    client = Client()
    first = client.get("/site/").json()
    color = first["flags"]["ab_color"]
    # The traffic split changes so that the hash now gives every visitor another
    # colour; then the cache loses the visitor's history.
    other = next(c for c in ("blue", "green", "red") if c != color)
    ab = next(c for c in bucket["campaigns"] if c["id"] == "c-ab")
    for variation in ab["variationGroups"][0]["variations"]:
        variation["allocation"] = (
            100 if variation["modifications"]["value"]["ab_color"] == other else 0
        )
    bucket_file.write_text(json.dumps(bucket))
    call_command(
        "flagship_refresh_bucket",
        "--file",
        str(bucket_file),
        "--this-process-only",
        stdout=StringIO(),
    )
    from django.core.cache import caches

    from django_flagship.client import runtime

    rt = runtime()
    caches["default"].delete(history_key(rt.namespace, first["visitor_id"]))
    assert client.session[ANONYMOUS_ID_SESSION_KEY] == first["visitor_id"]

    site = client.get("/site/").json()
    assert site["flags"]["ab_color"] == color  # the session's copy kept the variation

    report = _decide("--session", client.session.session_key)
    assert report["flags"]["ab_color"]["value"] == color
    assert report["history"]["status"] == "stored"
    assert report["history"]["read_from"] == "session"
    # Without the session, only the cache is there, and it has nothing.
    by_id = _decide("--visitor", first["visitor_id"])
    assert by_id["history"]["status"] == "none"
    assert by_id["flags"]["ab_color"]["value"] == other
