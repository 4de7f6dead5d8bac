"""What FlagshipMiddleware costs a request, measured through Django's WSGI handler.

Four handlers in one process, timed in interleaved rounds:

* flags:      a view reading 5 flags and rendering a template with 3 flag tags,
              with the middleware, a 50-campaign bucket (BUCKETING mode, offline);
* baseline:   the same view and markup without the middleware (constant values);
* no-read:    a view reading no flag, with the middleware;
* no-read-0:  the same view without the middleware;
* user-0:     the baseline view, without the middleware, that also looks at
              ``request.user`` (so it loads the session, as the middleware must
              to identify the visitor, and as any page with a login link does);
* flags-many, user-0-many: ``flags`` and ``user-0`` for ``--visitors``
              returning visitors taken in turn, more than the process's memory
              of recent decisions holds (``FLAGSHIP_DECISION_CACHE_SIZE``), so
              every decision is computed: the memo's miss path;
* flags-stack, user-0-stack: ``flags`` and ``user-0`` behind the middleware
              list of Django's ``startproject`` (security, common, CSRF,
              messages, clickjacking), what a typical project runs.

Each request of the first cases carries the session cookie of one returning
visitor, whose decision the process remembers. Prints requests per second of
the fastest round of each case (like ``timeit``, the least disturbed by other
work on the machine; the median is shown beside it), the share of decisions
answered from memory, the cost ratios, and the memory an entry of the decision
memo takes. Target: the no-read request stays within noise of no middleware.
What the flag-reading request costs is reported; its target compares what
each library adds to the same page (``peers.py``), not a share of a request
that does nothing else.

    python benchmarks/middleware.py [--rounds 9] [--requests 400] [--visitors 3000]
                                    [--decision-cache-size 2048] [--redis URL]
"""

from __future__ import annotations

import argparse
import gc
import itertools
import json
import random
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Iterator
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


def configure(bucket_file: str, redis_url: str | None = None, memo_size: int = 2048) -> None:
    # Room for every visitor's session and history: culling would turn the
    # returning visitors into new ones.
    cache = {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "OPTIONS": {"MAX_ENTRIES": 1_000_000},
    }
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
            "django.contrib.messages",
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
        FLAGSHIP_DECISION_CACHE_SIZE=memo_size,
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


#: The middleware of a project made with ``django-admin startproject``.
STARTPROJECT_MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]


def make_handler(with_middleware: bool, *, startproject: bool = False):
    from django.core.handlers.wsgi import WSGIHandler

    middleware = [
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
    ]
    if startproject:
        middleware = list(STARTPROJECT_MIDDLEWARE)
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


def requests_per_second(handler, turns: Iterator[dict], count: int) -> float:
    """Rate of ``count`` requests, each taking the next environ of ``turns``.

    ``turns`` cycles through one environ per visitor and carries on from round
    to round, so a many-visitor case meets each visitor once per cycle.
    """
    gc.collect()
    start = time.perf_counter()
    for _ in range(count):
        call(handler, next(turns))
    return count / (time.perf_counter() - start)


def session_cookie(handler) -> str:
    """The cookie of a new visitor, made by their first request."""
    status, headers, _ = call(handler, environ("/flags/", ""))
    assert status.startswith("200"), status
    cookie = "; ".join(
        value.split(";")[0] for name, value in headers if name.lower() == "set-cookie"
    )
    assert "sessionid=" in cookie, headers
    return cookie


def memo_entry_size(handler, envs: list[dict]) -> tuple[int, float]:
    """Entries and bytes per entry the decision memo holds after serving ``envs``."""
    from django_flagship.client import get_client

    memo = get_client().decision_manager.memo
    memo.clear()
    only_memo = [tracemalloc.Filter(True, "*django_flagship/sdk/memo.py")]
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.take_snapshot().filter_traces(only_memo)
    for env in envs[: memo.size]:
        call(handler, env)
        call(handler, env)  # the memory keeps a visitor's question from their second visit
    gc.collect()
    after = tracemalloc.take_snapshot().filter_traces(only_memo)
    tracemalloc.stop()
    grown = sum(stat.size_diff for stat in after.compare_to(before, "filename"))
    return len(memo), grown / max(len(memo), 1)


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
        "--decision-cache-size",
        type=int,
        default=2048,
        metavar="N",
        help="FLAGSHIP_DECISION_CACHE_SIZE (0: no memory of decisions)",
    )
    parser.add_argument(
        "--visitors",
        type=int,
        default=3000,
        help="returning visitors of the *-many cases (more than the decision memo holds)",
    )
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
        configure(str(bucket_file), args.redis, args.decision_cache_size)
        if args.redis:
            from django.core.cache import cache

            cache.clear()

        with_mw = make_handler(True)
        without_mw = make_handler(False)
        stack_mw = make_handler(True, startproject=True)
        stack_0 = make_handler(False, startproject=True)
        from django_flagship.client import get_client

        memo = get_client().decision_manager.memo

        # A returning visitor: the first request creates the session and its id.
        cookie = session_cookie(with_mw)
        status, headers, body = call(with_mw, environ("/flags/", cookie))
        assert status.startswith("200"), status
        assert b"Welcome" in body or b"Hello" in body
        assert any(n == "Vary" and "Cookie" in v for n, v in headers), headers
        crowd = [session_cookie(with_mw) for _ in range(args.visitors)]

        def one(path: str) -> Iterator[dict]:
            return itertools.cycle([environ(path, cookie)])

        def many(path: str) -> Iterator[dict]:
            return itertools.cycle([environ(path, each) for each in crowd])

        cases = {
            "flags": (with_mw, one("/flags/")),
            "baseline": (without_mw, one("/flags/")),
            "no-read": (with_mw, one("/plain/")),
            "no-read-0": (without_mw, one("/plain/")),
            "user-0": (without_mw, one("/user/")),
            "flags-many": (with_mw, many("/flags/")),
            "user-0-many": (without_mw, many("/user/")),
            "flags-stack": (stack_mw, one("/flags/")),
            "user-0-stack": (stack_0, one("/user/")),
        }
        for handler, envs in cases.values():  # warm up
            requests_per_second(handler, envs, 100)
        rates: dict[str, list[float]] = {name: [] for name in cases}
        answered = {name: [0, 0] for name in cases}  # [from memory, computed]
        started = time.monotonic()
        for _ in range(args.rounds):
            for name, (handler, envs) in cases.items():
                hits, misses = memo.hits, memo.misses
                rates[name].append(requests_per_second(handler, envs, args.requests))
                answered[name][0] += memo.hits - hits
                answered[name][1] += memo.misses - misses
        elapsed = time.monotonic() - started
        decide_us = decision_cost(cookie)
        entries, entry_bytes = memo_entry_size(with_mw, [environ("/flags/", c) for c in crowd])

    best = {name: max(values) for name, values in rates.items()}
    median = {name: statistics.median(values) for name, values in rates.items()}
    print(
        f"FlagshipMiddleware, {len(bucket['campaigns'])}-campaign bucket, "
        f"{args.rounds} rounds x {args.requests} requests per case ({elapsed:.1f} s), "
        f"{args.visitors} visitors in the *-many cases, "
        f"cache: {'Redis' if args.redis else 'local memory'}, "
        f"Django {django.get_version()}, Python {sys.version.split()[0]}"
    )
    for name in cases:
        hits, misses = answered[name]
        memory = f"   decisions from memory: {hits / (hits + misses):4.0%}" if hits + misses else ""
        print(
            f"  {name:<12} {best[name]:7.0f} req/s  {1e6 / best[name]:6.1f} us/request"
            f"   (median {median[name]:5.0f} req/s){memory}"
        )
    # Round-to-round spread of the cheapest case: what "within noise" means here.
    noise = (max(rates["no-read-0"]) - min(rates["no-read-0"])) / statistics.median(
        rates["no-read-0"]
    )
    for label, case, base, limit in (
        ("5 flags + 3 tags", "flags", "baseline", None),
        ("  vs user-0     ", "flags", "user-0", None),
        ("no flag read    ", "no-read", "no-read-0", noise),
    ):
        with_mw, without = 1e6 / best[case], 1e6 / best[base]
        share = (with_mw - without) / with_mw
        if limit is None:
            verdict = "reported: the target compares libraries, see peers.py"
        else:
            verdict = f"target <= {limit * 100:.1f}%: {'met' if share <= limit else 'NOT met'}"
        print(
            f"  {label}: {best[case] / best[base]:.3f} of the rate without the middleware; "
            f"it adds {with_mw - without:+.1f} us, {share * 100:+.1f}% of the request "
            f"({verdict})"
        )
    print(f"  noise: the no-middleware rate varies by {noise * 100:.1f}% between rounds")
    print(
        f"  of which deciding and reading alone (Flags outside a request, 5 reads): "
        f"{decide_us:.1f} us"
    )
    for label, case, base in (
        (
            "many visitors, every decision computed (memo misses), vs user-0-many",
            "flags-many",
            "user-0-many",
        ),
        ("startproject middleware, vs user-0-stack", "flags-stack", "user-0-stack"),
    ):
        with_mw, without = 1e6 / best[case], 1e6 / best[base]
        share = (with_mw - without) / with_mw
        print(f"  {label}: it adds {with_mw - without:+.1f} us, {share * 100:+.1f}% of the request")
    print(
        f"  decision memo: {entries} entries, {entry_bytes / 1024:.1f} KiB each, "
        f"{entries * entry_bytes / 2**20:.1f} MiB in all (FLAGSHIP_DECISION_CACHE_SIZE="
        f"{memo.size}; a returning visitor with history in every campaign)"
    )


if __name__ == "__main__":
    main()
