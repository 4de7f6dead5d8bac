"""What FlagshipMiddleware costs a request, measured through Django's WSGI handler.

Four handlers in one process, timed in interleaved rounds:

* flags:      a view reading 5 flags and rendering a template with 3 flag tags,
              with the middleware, a 50-campaign bucket (BUCKETING mode, offline);
* baseline:   the same view and markup without the middleware (constant values);
* no-read:    a view reading no flag, with the middleware;
* no-read-0:  the same view without the middleware;
* user-0:     the baseline view, without the middleware, that also looks at
              ``request.user`` (so it loads the session, as the middleware must
              to identify the visitor, and as any page with a login link does).

Each request carries the session cookie of a returning visitor. Prints requests
per second of the fastest round of each case (like ``timeit``, the least
disturbed by other work on the machine; the median is shown beside it) and
the cost ratios. Targets: the middleware
costs at most 10% of the flag-reading request, and the no-read request stays
within noise of no middleware.

    python benchmarks/middleware.py [--rounds 9] [--requests 400] [--redis URL]
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import django
from django.conf import settings

FLAG_KEYS = ["vip_feature", "btn_color", "max_items", "hero_title", "discount"]
TEMPLATE_WITH_FLAGS = """{% load flagship %}<html><body>
<h1>{% flag "hero_title" "Welcome" %}</h1>
<button style="color: {% flag 'btn_color' 'blue' %}">Buy</button>
{% ifflag "vip_feature" %}<p>Welcome, VIP</p>{% else %}<p>Join VIP</p>{% endifflag %}
<ul>{% for item in items %}<li>{{ item }}</li>{% endfor %}</ul>
<p>Up to {{ max_items }} items, {{ discount }} off</p>
</body></html>"""
TEMPLATE_PLAIN = """<html><body>
<h1>{{ hero_title }}</h1>
<button style="color: {{ btn_color }}">Buy</button>
{% if vip_feature %}<p>Welcome, VIP</p>{% else %}<p>Join VIP</p>{% endif %}
<ul>{% for item in items %}<li>{{ item }}</li>{% endfor %}</ul>
<p>Up to {{ max_items }} items, {{ discount }} off</p>
</body></html>"""


def make_bucket(campaigns: int = 50, seed: int = 7) -> dict:
    """A bucketing file shaped like a real account's: targeting, splits, several flags."""
    rng = random.Random(seed)
    targetings = [
        {"key": "fs_all_users", "operator": "EQUALS", "value": ""},
        {"key": "is_authenticated", "operator": "EQUALS", "value": False},
        {"key": "device_type", "operator": "EQUALS", "value": "desktop"},
        {"key": "language", "operator": "STARTS_WITH", "value": "en"},
        {"key": "is_staff", "operator": "EQUALS", "value": True},
        {"key": "plan", "operator": "EQUALS", "value": ["gold", "platinum"]},
    ]
    out = []
    for c in range(campaigns):
        groups = []
        for g in range(rng.randint(1, 3)):
            count = rng.randint(2, 4)
            share = 100 // count
            variations = []
            for v in range(count):
                flags = {f"c{c}_flag{k}": rng.choice([True, "red", 3, 1.5]) for k in range(3)}
                # The flags the benchmark view reads live in a few campaigns.
                if c % 10 == 0:
                    flags.update(
                        vip_feature=v % 2 == 0,
                        btn_color=rng.choice(["red", "green"]),
                        max_items=rng.randint(1, 9),
                        hero_title=f"Hello #{c}.{v}",
                        discount=rng.choice([0.1, 0.2]),
                    )
                variations.append(
                    {
                        "id": f"c{c}g{g}v{v}",
                        "reference": v == 0,
                        "allocation": share if v < count - 1 else 100 - share * (count - 1),
                        "modifications": {"type": "FLAG", "value": flags},
                    }
                )
            groups.append(
                {
                    "id": f"c{c}g{g}",
                    "targeting": {
                        "targetingGroups": [
                            {"targetings": rng.sample(targetings, rng.randint(1, 2))},
                        ]
                    },
                    "variations": variations,
                }
            )
        groups[-1]["targeting"] = {
            "targetingGroups": [{"targetings": [targetings[0]]}]  # everyone
        }
        out.append(
            {
                "id": f"c{c}",
                "type": rng.choice(["ab", "toggle", "perso"]),
                "variationGroups": groups,
            }
        )
    return {"panic": False, "accountSettings": {"enabled1V1T": False}, "campaigns": out}


def configure(bucket_file: str, redis_url: str | None = None) -> None:
    cache = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    if redis_url:
        cache = {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": redis_url}
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
        ],
        MIDDLEWARE=[],
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
        CACHES={"default": cache},
        SESSION_ENGINE="django.contrib.sessions.backends.cache",
        TEMPLATES=[
            {
                "BACKEND": "django.template.backends.django.DjangoTemplates",
                "OPTIONS": {
                    "context_processors": ["django.template.context_processors.request"],
                    "loaders": [
                        (
                            # Compiled once, as Django's default cached loader does.
                            "django.template.loaders.cached.Loader",
                            [
                                (
                                    "django.template.loaders.locmem.Loader",
                                    {
                                        "flags.html": TEMPLATE_WITH_FLAGS,
                                        "plain.html": TEMPLATE_PLAIN,
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
    )
    django.setup()


# -- views and URLs (this module is the URLconf) --------------------------------------


def flag_view(request):
    from django.shortcuts import render

    flags = getattr(request, "flags", None)
    if flags is not None:
        values = {
            "vip_feature": flags.get("vip_feature", False),
            "btn_color": flags.get("btn_color", "blue"),
            "max_items": flags.get("max_items", 3),
            "hero_title": flags.get("hero_title", "Welcome"),
            "discount": flags.get("discount", 0.0),
        }
        template = "flags.html"
    else:
        values = {
            "vip_feature": False,
            "btn_color": "blue",
            "max_items": 3,
            "hero_title": "Welcome",
            "discount": 0.0,
        }
        template = "plain.html"
    items = [f"item {n}" for n in range(5)]
    return render(request, template, {**values, "items": items})


def user_view(request):
    request.user.is_authenticated  # noqa: B018 - loads the session and the user
    return flag_view(request)


def plain_view(request):
    from django.shortcuts import render

    return render(request, "plain.html", {"hero_title": "Welcome", "items": ["a", "b", "c"]})


def _urls():
    from django.urls import path

    return [path("flags/", flag_view), path("user/", user_view), path("plain/", plain_view)]


def __getattr__(name):  # urlpatterns, built once Django is set up
    if name == "urlpatterns":
        return _urls()
    raise AttributeError(name)


# -- measuring ------------------------------------------------------------------------


def make_handler(with_middleware: bool):
    from django.core.handlers.wsgi import WSGIHandler

    middleware = [
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
    ]
    if with_middleware:
        middleware.append("django_flagship.middleware.FlagshipMiddleware")
    settings.MIDDLEWARE = middleware
    return WSGIHandler()


def environ(path: str, cookie: str) -> dict:
    import io

    return {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "SCRIPT_NAME": "",
        "QUERY_STRING": "",
        "SERVER_NAME": "bench.local",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "bench.local",
        "HTTP_COOKIE": cookie,
        "HTTP_ACCEPT_LANGUAGE": "en-GB,en;q=0.8",
        "HTTP_USER_AGENT": "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
        "wsgi.version": (1, 0),
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }


def call(handler, env: dict) -> tuple[str, list, bytes]:
    status_headers: list = []

    def start_response(status, headers, exc_info=None):
        status_headers[:] = [status, headers]

    response = handler(dict(env), start_response)
    body = b"".join(response)
    response.close()
    return status_headers[0], status_headers[1], body


def requests_per_second(handler, env: dict, count: int) -> float:
    gc.collect()
    start = time.perf_counter()
    for _ in range(count):
        call(handler, env)
    return count / (time.perf_counter() - start)


def decision_cost(cookie: str, count: int = 2000) -> float:
    """Microseconds to decide and read the 5 flags with no request around them."""
    from django_flagship.flags import Flags

    context = {
        "is_authenticated": False,
        "is_staff": False,
        "is_superuser": False,
        "device_type": "desktop",
        "language": "en-gb",
    }
    visitor_id = cookie.split("sessionid=")[-1][:32]
    timings = []
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(count // 5):
            flags = Flags(visitor_id, context)
            for key, default in zip(FLAG_KEYS, (False, "blue", 3, "Welcome", 0.0), strict=True):
                flags.get(key, default)
        timings.append((time.perf_counter() - start) / (count // 5) * 1e6)
    return min(timings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--requests", type=int, default=400, help="requests per round and case")
    parser.add_argument(
        "--redis",
        metavar="URL",
        help="keep the bucket, sessions and history in this Redis (flushed!) "
        "instead of local memory, e.g. redis://127.0.0.1:6379/9",
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        bucket_file = Path(tmp) / "bucketing.json"
        bucket = make_bucket()
        bucket_file.write_text(json.dumps(bucket))
        configure(str(bucket_file), args.redis)
        if args.redis:
            from django.core.cache import cache

            cache.clear()

        with_mw = make_handler(True)
        without_mw = make_handler(False)

        # A returning visitor: the first request creates the session and its id.
        status, headers, body = call(with_mw, environ("/flags/", ""))
        assert status.startswith("200"), status
        cookie = "; ".join(
            value.split(";")[0] for name, value in headers if name.lower() == "set-cookie"
        )
        assert "sessionid=" in cookie, headers
        status, headers, body = call(with_mw, environ("/flags/", cookie))
        assert b"Welcome" in body or b"Hello" in body
        assert any(n == "Vary" and "Cookie" in v for n, v in headers), headers

        cases = {
            "flags": (with_mw, environ("/flags/", cookie)),
            "baseline": (without_mw, environ("/flags/", cookie)),
            "no-read": (with_mw, environ("/plain/", cookie)),
            "no-read-0": (without_mw, environ("/plain/", cookie)),
            "user-0": (without_mw, environ("/user/", cookie)),
        }
        for handler, env in cases.values():  # warm up
            requests_per_second(handler, env, 100)
        rates: dict[str, list[float]] = {name: [] for name in cases}
        started = time.monotonic()
        for _ in range(args.rounds):
            for name, (handler, env) in cases.items():
                rates[name].append(requests_per_second(handler, env, args.requests))
        elapsed = time.monotonic() - started
        decide_us = decision_cost(cookie)

    best = {name: max(values) for name, values in rates.items()}
    median = {name: statistics.median(values) for name, values in rates.items()}
    print(
        f"FlagshipMiddleware, {len(bucket['campaigns'])}-campaign bucket, "
        f"{args.rounds} rounds x {args.requests} requests per case ({elapsed:.1f} s), "
        f"cache: {'Redis' if args.redis else 'local memory'}, "
        f"Django {django.get_version()}, Python {sys.version.split()[0]}"
    )
    for name in cases:
        print(
            f"  {name:<10} {best[name]:7.0f} req/s  {1e6 / best[name]:6.1f} us/request"
            f"   (median {median[name]:5.0f} req/s)"
        )
    # Round-to-round spread of the cheapest case: what "within noise" means here.
    noise = (max(rates["no-read-0"]) - min(rates["no-read-0"])) / statistics.median(
        rates["no-read-0"]
    )
    verdicts = []
    for label, case, base, limit in (
        ("5 flags + 3 tags", "flags", "baseline", 0.10),
        ("  vs user-0     ", "flags", "user-0", 0.10),
        ("no flag read    ", "no-read", "no-read-0", noise),
    ):
        with_mw, without = 1e6 / best[case], 1e6 / best[base]
        share = (with_mw - without) / with_mw
        met = share <= limit
        verdicts.append(met)
        print(
            f"  {label}: {best[case] / best[base]:.3f} of the rate without the middleware; "
            f"it adds {with_mw - without:+.1f} us, {share * 100:+.1f}% of the request "
            f"(target <= {limit * 100:.1f}%: {'met' if met else 'NOT met'})"
        )
    print(f"  noise: the no-middleware rate varies by {noise * 100:.1f}% between rounds")
    print(
        f"  of which deciding and reading alone (Flags outside a request, 5 reads): "
        f"{decide_us:.1f} us"
    )


if __name__ == "__main__":
    main()
