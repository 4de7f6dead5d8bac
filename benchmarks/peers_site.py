"""The page every library serves in ``benchmarks/peers.py``: settings, views, URLs.

One Django project holds every library, each set up as its documentation
recommends (the choices are listed in ``peers.py``): django-flagship from a
bucketing file, django-flags from settings, GrowthBook from an API host on
127.0.0.1, django-waffle from its tables in an in-memory SQLite database.
This module is the URLconf and the template library of the GrowthBook tag.
"""

from __future__ import annotations

import collections
import json
import random
import threading
import urllib.request
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import django
from django import template
from django.conf import settings

from benchmarks.middleware import TEMPLATE_PLAIN, TEMPLATE_WITH_FLAGS

__all__ = [
    "FLAG_COUNT",
    "OURS",
    "PEERS",
    "PERCENT_PREFIX",
    "READS",
    "FeaturesServer",
    "GrowthBookFeaturesMiddleware",
    "GrowthBookMiddleware",
    "configure",
    "make_django_flags",
    "make_flags_in_database",
    "make_growthbook_features",
]

#: The flags the view reads, with their defaults (the template reads the first 3 again).
READS = {
    "hero_title": "Welcome",
    "btn_color": "blue",
    "vip_feature": False,
    "max_items": 3,
    "discount": 0.0,
}
#: The values a boolean library serves for an active flag.
ON_VALUES = {
    "hero_title": "Hello",
    "btn_color": "red",
    "vip_feature": True,
    "max_items": 9,
    "discount": 0.2,
}
FLAG_COUNT = 50
PEERS = ("django-flags", "growthbook", "growthbook-features", "waffle", "waffle-percent")
OURS = {"flagship": "baseline", "flagship-new": "baseline-crowd"}
PERCENT_PREFIX = "pct_"
CLIENT_KEY = "sdk-benchmark"

WAFFLE_TEMPLATE = """{% load waffle_tags %}<html><body>
<h1>{% flag "PREFIXhero_title" %}Hello{% else %}Welcome{% endflag %}</h1>
<button style="color: {% flag 'PREFIXbtn_color' %}red{% else %}blue{% endflag %}">Buy</button>
{% flag "PREFIXvip_feature" %}<p>Welcome, VIP</p>{% else %}<p>Join VIP</p>{% endflag %}
<ul>{% for item in items %}<li>{{ item }}</li>{% endfor %}</ul>
<p>Up to {{ max_items }} items, {{ discount }} off</p>
</body></html>"""
DJANGO_FLAGS_TEMPLATE = """{% load feature_flags %}<html><body>
{% flag_enabled "hero_title" as hero %}<h1>{% if hero %}Hello{% else %}Welcome{% endif %}</h1>
{% flag_enabled 'btn_color' as red %}<button style="color: {% if red %}red{% else %}blue{% endif %}">Buy</button>
{% flag_enabled "vip_feature" as vip %}{% if vip %}<p>Welcome, VIP</p>{% else %}<p>Join VIP</p>{% endif %}
<ul>{% for item in items %}<li>{{ item }}</li>{% endfor %}</ul>
<p>Up to {{ max_items }} items, {{ discount }} off</p>
</body></html>"""  # noqa: E501
GROWTHBOOK_TEMPLATE = """{% load bench_growthbook %}<html><body>
<h1>{% feature_value "hero_title" "Welcome" %}</h1>
<button style="color: {% feature_value 'btn_color' 'blue' %}">Buy</button>
{% feature_value "vip_feature" False as vip %}{% if vip %}<p>Welcome, VIP</p>{% else %}<p>Join VIP</p>{% endif %}
<ul>{% for item in items %}<li>{{ item }}</li>{% endfor %}</ul>
<p>Up to {{ max_items }} items, {{ discount }} off</p>
</body></html>"""  # noqa: E501


# -- what each library is configured with ------------------------------------------


def _flag_names(count: int) -> list[str]:
    """``count`` flag names; the read ones every 10th, as in the bucketing file."""
    read = list(READS)
    return [
        read[c // 10] if c % 10 == 0 and c // 10 < len(read) else f"flag_{c}" for c in range(count)
    ]


def make_django_flags(count: int = FLAG_COUNT, seed: int = 7) -> dict[str, list[dict]]:
    """django-flags' ``FLAGS`` setting: one or two conditions a flag, the read ones on."""
    rng = random.Random(seed)
    choices = [
        {"condition": "boolean", "value": True},
        {"condition": "boolean", "value": False},
        {"condition": "parameter", "value": "beta=on"},
        {"condition": "path matches", "value": r"^/shop/"},
        {"condition": "anonymous", "value": False},
        {"condition": "user", "value": "alice"},
    ]
    flags = {}
    for name in _flag_names(count):
        if name in READS:  # a request condition first, then on for everyone
            flags[name] = [choices[2], choices[0]]
        else:
            flags[name] = rng.sample(choices, rng.randint(1, 2))
    return flags


def _typed(rng: random.Random, default: Any) -> Any:
    if isinstance(default, bool):
        return rng.random() < 0.5
    if isinstance(default, int):
        return rng.randint(1, 9)
    if isinstance(default, float):
        return rng.choice([0.1, 0.2, 0.3])
    return f"{rng.choice(['red', 'green', 'Hello'])} #{rng.randint(0, 99)}"


def make_growthbook_features(count: int = FLAG_COUNT, seed: int = 7) -> dict[str, Any]:
    """A GrowthBook SDK payload: features with targeted force rules and experiments.

    Shaped like the bucketing file: one to three rules a feature, each with a
    condition on the visitor's attributes but the last (everyone), which is an
    experiment of two to four variations hashed on the visitor id.
    """
    rng = random.Random(seed)
    conditions = [
        {"deviceType": "desktop"},
        {"loggedIn": False},
        {"language": {"$regex": "^en"}},
        {"staff": True},
        {"plan": {"$in": ["gold", "platinum"]}},
    ]
    features: dict[str, Any] = {}
    for c, name in enumerate(_flag_names(count)):
        default = READS.get(name, rng.choice([False, "blue", 3, 0.5]))
        rules: list[dict[str, Any]] = []
        for r in range(rng.randint(0, 2)):
            rules.append(
                {
                    "id": f"fr_{c}_{r}",
                    "condition": rng.choice(conditions),
                    "force": _typed(rng, default),
                }
            )
        variations = [_typed(rng, default) for _ in range(rng.randint(2, 4))]
        key = f"exp-{c}"
        rules.append(
            {
                "id": f"fr_{c}_exp",
                "key": key,
                "seed": key,
                "hashAttribute": "id",
                "hashVersion": 2,
                "coverage": 1.0,
                "variations": variations,
                "weights": [1 / len(variations)] * len(variations),
                "meta": [{"key": str(v), "name": f"Variation {v}"} for v in range(len(variations))],
                "phase": "0",
                "name": f"Experiment {c}",
            }
        )
        features[name] = {"defaultValue": default, "rules": rules}
    return {"status": 200, "features": features, "dateUpdated": "2026-01-01T00:00:00Z"}


class FeaturesServer:
    """GrowthBook's API host on 127.0.0.1: serves one payload, counts the SDK's fetches."""

    def __init__(self, payload: dict[str, Any]) -> None:
        body = json.dumps(payload).encode()
        served = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path.split("?")[0] != f"/api/features/{CLIENT_KEY}":
                    self.send_error(404)
                    return
                if self.headers.get("User-Agent", "").startswith("Gb-Python"):
                    served.fetches += 1
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("ETag", '"benchmark"')
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.fetches = 0
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FeaturesServer:
        self.thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.server.shutdown()
        self.server.server_close()


# -- GrowthBook in Django, as its documentation shows -------------------------------

#: Where GrowthBook's exposures go: a bounded hand-off, as a real callback would make.
EXPOSURES: collections.deque = collections.deque(maxlen=10_000)
GROWTHBOOK_API_HOST = ""
#: The features fetched once from the API host, for GrowthBookFeaturesMiddleware.
GROWTHBOOK_FEATURES: dict[str, Any] = {}


def record_exposure(experiment: Any, result: Any, user_context: Any = None) -> None:
    EXPOSURES.append((experiment.key, result.variationId))


def growthbook_attributes(request) -> dict[str, Any]:
    """The visitor's attributes: the user id, else an id kept in the session."""
    user = request.user
    if user.is_authenticated:
        visitor_id = str(user.pk)
    else:
        visitor_id = request.session.get("gb_visitor")
        if visitor_id is None:
            visitor_id = request.session["gb_visitor"] = uuid.uuid4().hex
    return {
        "id": visitor_id,
        "loggedIn": user.is_authenticated,
        "staff": user.is_staff,
        "deviceType": "mobile" if "Mobi" in request.headers.get("User-Agent", "") else "desktop",
        "language": request.headers.get("Accept-Language", "")[:5].lower(),
    }


class GrowthBookMiddleware:
    """One ``GrowthBook`` a request: made, loaded, used by the view, destroyed.

    With the SDK's own fetching and caching (``api_host``, ``client_key``,
    ``load_features()``), as its documentation shows for Django.
    """

    def __init__(self, get_response: Callable) -> None:
        self.get_response = get_response

    def make(self, request) -> Any:
        from growthbook import GrowthBook

        gb = GrowthBook(
            attributes=growthbook_attributes(request),
            api_host=GROWTHBOOK_API_HOST,
            client_key=CLIENT_KEY,
            on_experiment_viewed=record_exposure,
        )
        gb.load_features()
        return gb

    def __call__(self, request):
        request.gb = self.make(request)
        try:
            return self.get_response(request)
        finally:
            request.gb.destroy()


class GrowthBookFeaturesMiddleware(GrowthBookMiddleware):
    """The same with the features the process already holds, passed in.

    The documentation's other way of loading features (your own fetching and
    caching): no client key, so no refresh check on each evaluation.
    """

    def make(self, request) -> Any:
        from growthbook import GrowthBook

        return GrowthBook(
            attributes=growthbook_attributes(request),
            features=GROWTHBOOK_FEATURES,
            on_experiment_viewed=record_exposure,
        )


register = template.Library()  # {% load bench_growthbook %}


@register.simple_tag(takes_context=True)
def feature_value(context, key: str, default: Any) -> Any:
    return context["request"].gb.get_feature_value(key, default)


# -- settings, views and URLs (this module is the URLconf) ---------------------------


def configure(bucket_file: str, growthbook_host: str, decision_cache_size: int | None) -> None:
    global GROWTHBOOK_API_HOST
    GROWTHBOOK_API_HOST = growthbook_host
    with urllib.request.urlopen(f"{growthbook_host}/api/features/{CLIENT_KEY}") as response:
        GROWTHBOOK_FEATURES.update(json.load(response)["features"])
    extra = {}
    if decision_cache_size is not None:
        extra["FLAGSHIP_DECISION_CACHE_SIZE"] = decision_cache_size
    settings.configure(
        DEBUG=False,
        SECRET_KEY="benchmark-only",
        ALLOWED_HOSTS=["*"],
        ROOT_URLCONF=__name__,
        USE_TZ=True,
        INSTALLED_APPS=[
            "django.contrib.auth",
            "django.contrib.contenttypes",
            "django.contrib.sessions",
            "django_flagship",
            "waffle",
            "flags",
        ],
        MIDDLEWARE=[],
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
        # Room for every visitor's session and history: culling would turn the
        # returning visitors into new ones.
        CACHES={
            "default": {
                "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                "OPTIONS": {"MAX_ENTRIES": 1_000_000},
            }
        },
        SESSION_ENGINE="django.contrib.sessions.backends.cache",
        TEMPLATES=[
            {
                "BACKEND": "django.template.backends.django.DjangoTemplates",
                "OPTIONS": {
                    "context_processors": ["django.template.context_processors.request"],
                    "libraries": {"bench_growthbook": __name__},
                    "loaders": [
                        (
                            "django.template.loaders.cached.Loader",
                            [
                                (
                                    "django.template.loaders.locmem.Loader",
                                    {
                                        "flagship.html": TEMPLATE_WITH_FLAGS,
                                        "plain.html": TEMPLATE_PLAIN,
                                        "waffle.html": WAFFLE_TEMPLATE.replace("PREFIX", ""),
                                        "waffle-percent.html": WAFFLE_TEMPLATE.replace(
                                            "PREFIX", PERCENT_PREFIX
                                        ),
                                        "django-flags.html": DJANGO_FLAGS_TEMPLATE,
                                        "growthbook.html": GROWTHBOOK_TEMPLATE,
                                    },
                                )
                            ],
                        )
                    ],
                },
            }
        ],
        LOGGING_CONFIG=None,
        FLAGSHIP_BUCKET_FILE=bucket_file,
        FLAGS=make_django_flags(),
        FLAG_SOURCES=["flags.sources.SettingsFlagsSource"],
        **extra,
    )
    django.setup()


def _flagship_values(request) -> dict[str, Any]:
    get = request.flags.get
    return {key: get(key, default) for key, default in READS.items()}


def _boolean_values(is_on: Callable[[str], bool]) -> dict[str, Any]:
    return {key: ON_VALUES[key] if is_on(key) else default for key, default in READS.items()}


def _waffle_values(prefix: str) -> Callable:
    def values(request) -> dict[str, Any]:
        from waffle import flag_is_active

        return _boolean_values(lambda key: flag_is_active(request, prefix + key))

    return values


def _django_flags_values(request) -> dict[str, Any]:
    from flags.state import flag_enabled

    return _boolean_values(lambda key: flag_enabled(key, request=request))


def _growthbook_values(request) -> dict[str, Any]:
    get = request.gb.get_feature_value
    return {key: get(key, default) for key, default in READS.items()}


def _page(template_name: str, values: Callable | None, load_user: bool = True) -> Callable:
    def view(request):
        from django.shortcuts import render

        if load_user:
            request.user.is_authenticated  # noqa: B018 - loads the session and the user
        context = dict(READS) if values is None else values(request)
        context["items"] = [f"item {n}" for n in range(5)]
        return render(request, template_name, context)

    return view


VIEWS = {
    "baseline": _page("plain.html", None),
    "flagship": _page("flagship.html", _flagship_values),
    "django-flags": _page("django-flags.html", _django_flags_values),
    "growthbook": _page("growthbook.html", _growthbook_values),
    "waffle": _page("waffle.html", _waffle_values("")),
    "waffle-percent": _page("waffle-percent.html", _waffle_values(PERCENT_PREFIX)),
    "no-read": _page("plain.html", None, load_user=False),
}


def __getattr__(name):  # urlpatterns, built once Django is set up
    if name == "urlpatterns":
        from django.urls import path

        return [path(f"{key}/", view) for key, view in VIEWS.items()]
    raise AttributeError(name)


def make_flags_in_database() -> None:
    """waffle's tables and flags: 50 on for everyone, 50 at 50 percent."""
    from django.core.management import call_command
    from waffle.models import Flag

    call_command("migrate", run_syncdb=True, verbosity=0)
    names = _flag_names(FLAG_COUNT)
    Flag.objects.bulk_create([Flag(name=name, everyone=True) for name in names])
    Flag.objects.bulk_create(
        [Flag(name=PERCENT_PREFIX + name, everyone=None, percent=50) for name in names]
    )
