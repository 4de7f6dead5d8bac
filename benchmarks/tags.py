"""What a flag read costs in a template, against ``request.flags.get`` in a view.

One process, a visitor already decided (a request through ``FlagshipMiddleware``,
flags from ``FLAGSHIP_LOCAL_FLAGS``, BUCKETING mode, offline). Every row is µs
a read, the median of interleaved rounds with the spread:

* **request.flags.get**: the read a view makes.
* **{% flag %}**: a template of 20 ``{% flag "hero_title" "Welcome" %}`` minus
  the same template without them, by 20. The value holds markup; the tag keeps
  its escaped form after the first render, as it does for the few strings a
  site serves. A second row serves a value too long to keep (300
  characters), escaped at every render, against the same value read in the
  view.
* **{% ifflag %}**: the same with ``{% ifflag "vip_feature" %}yes{% endifflag %}``.
* **get in the view, {{ v }} in the template** and **get in the view,
  {% if v %} in the template**: what the tags replace: the view reads the
  flag and the template renders the variable (20 of them).
* **Django's cheapest tag** (``{% templatetag openblock %}``) and **the
  ``request`` variable's lookup** in the template context: what any tag
  reading the request pays, the floor under ``{% flag %}``.

The ratios are the median of per-round ratios. The issue's target, a tag read
no dearer than a ``request.flags.get``, is reported with what bounds it. Exits
with status 1 only when a tag renders something else than the view's read.

    python benchmarks/tags.py [--rounds 15] [--quick] [--json FILE]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.stats import CLOCKS, add_clock_argument, fmt, spread

__all__ = ["main"]

TAGS = 20
ROUNDS = 15
READS = 2000
VALUE = "Hello <b>VIP</b>"
#: Longer than the tag keeps escaped: escaped at every render.
LONG_VALUE = "<b>VIP</b> " * 30
FLAG_SOURCE = "{% flag 'hero_title' 'Welcome' %}"
LONG_FLAG_SOURCE = "{% flag 'long_banner' '' %}"
IFFLAG_SOURCE = "{% ifflag 'vip_feature' %}yes{% endifflag %}"
FLOOR_SOURCE = "{% templatetag openblock %}"
VARIABLE_SOURCE = "{{ v }}"
IF_SOURCE = "{% if v %}yes{% endif %}"
ROWS = {
    "get": "request.flags.get",
    "flag": "{% flag %}",
    "flag_long": "{% flag %}, a value too long to keep escaped",
    "ifflag": "{% ifflag %}",
    "get_and_variable": "get in the view, {{ v }} in the template",
    "get_and_variable_long": "the same, the long value",
    "get_and_if": "get in the view, {% if v %} in the template",
    "node_floor": "Django's cheapest tag",
    "request_lookup": "the request variable's lookup",
}
RATIOS = {
    "flag_over_get": "{% flag %} / request.flags.get",
    "ifflag_over_get": "{% ifflag %} / request.flags.get",
    "flag_over_get_and_variable": "{% flag %} / (get in the view + {{ v }} in the template)",
    "flag_long_over_get_and_variable_long": (
        "{% flag %} / (get in the view + {{ v }}), the long value"
    ),
    "ifflag_over_get_and_if": "{% ifflag %} / (get in the view + {% if v %} in the template)",
    "flag_beyond_floor_over_get": (
        "{% flag %} beyond Django's cheapest tag and the request lookup, / request.flags.get"
    ),
}


def configure() -> None:
    import django
    from django.conf import settings

    settings.configure(
        DEBUG=False,
        SECRET_KEY="benchmark-only",
        ALLOWED_HOSTS=["*"],
        USE_TZ=True,
        INSTALLED_APPS=[
            "django.contrib.auth",
            "django.contrib.contenttypes",
            "django.contrib.sessions",
            "django_flagship",
        ],
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
        CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}},
        SESSION_ENGINE="django.contrib.sessions.backends.cache",
        TEMPLATES=[
            {
                "BACKEND": "django.template.backends.django.DjangoTemplates",
                "OPTIONS": {"context_processors": ["django.template.context_processors.request"]},
            }
        ],
        LOGGING_CONFIG=None,
        FLAGSHIP_BUCKET_SOURCE="local",
        FLAGSHIP_LOCAL_FLAGS={
            "hero_title": VALUE,
            "long_banner": LONG_VALUE,
            "vip_feature": True,
        },
    )
    django.setup()


def decided_request() -> Any:
    """A request that went through the middleware, its flags read once."""
    from django.contrib.auth.models import AnonymousUser
    from django.contrib.sessions.backends.cache import SessionStore
    from django.http import HttpResponse
    from django.test import RequestFactory

    from django_flagship.middleware import FlagshipMiddleware

    seen: list[Any] = []

    def view(request: Any) -> HttpResponse:
        request.flags.get("hero_title", "Welcome")
        seen.append(request)
        return HttpResponse("")

    request = RequestFactory().get("/")
    request.session = SessionStore()
    request.user = AnonymousUser()
    FlagshipMiddleware(view)(request)
    return seen[0]


def measure(rounds: int, reads: int, clock: Callable[[], int]) -> tuple[dict, dict, bool]:
    from django.template import RequestContext, engines
    from django.utils.html import escape

    engine = engines["django"]
    request = decided_request()
    get = request.flags.get

    def template(body: str) -> Any:
        return engine.from_string("{% load flagship %}" + body * TAGS)

    empty = template("")
    sources = {
        "flag": template(FLAG_SOURCE),
        "flag_long": template(LONG_FLAG_SOURCE),
        "ifflag": template(IFFLAG_SOURCE),
        "node_floor": template(FLOOR_SOURCE),
    }
    # What the view reads for each template of variables.
    in_view = {
        "get_and_variable": (template(VARIABLE_SOURCE), ("hero_title", "Welcome")),
        "get_and_variable_long": (template(VARIABLE_SOURCE), ("long_banner", "")),
        "get_and_if": (template(IF_SOURCE), ("vip_feature", False)),
    }

    def view_render(row: str) -> str:
        compiled, read = in_view[row]
        return compiled.render({"v": get(*read)}, request)

    agreed = (
        get("hero_title", "Welcome") == VALUE  # the flag is served, not its default
        and get("long_banner", "") == LONG_VALUE
        and sources["flag"].render({}, request) == escape(VALUE) * TAGS
        and sources["flag_long"].render({}, request) == escape(LONG_VALUE) * TAGS
        and sources["ifflag"].render({}, request) == "yes" * TAGS
        and view_render("get_and_variable") == sources["flag"].render({}, request)
        and view_render("get_and_variable_long") == sources["flag_long"].render({}, request)
        and view_render("get_and_if") == sources["ifflag"].render({}, request)
    )

    def per_render(render: Callable[[], Any]) -> float:
        start = clock()
        for _ in range(reads):
            render()
        return (clock() - start) / reads / 1000

    def per_tag(compiled: Any) -> float:
        return (per_render(lambda: compiled.render({}, request)) - base) / TAGS

    def per_variable(row: str) -> float:
        """A template of variables read once by the view, less the same empty template."""
        compiled, read = in_view[row]
        variables = {"v": get(*read)}
        return (per_render(lambda: compiled.render(variables, request)) - base_with_v) / TAGS

    def gets() -> None:
        for _ in range(TAGS):
            get("hero_title", "Welcome")

    context = RequestContext(request, {})
    lookup = context.get

    def lookups() -> None:
        for _ in range(TAGS):
            lookup("request")

    timings: dict[str, list[float]] = {row: [] for row in ROWS}
    for _ in range(rounds):
        gc.collect()
        base = per_render(lambda: empty.render({}, request))
        base_with_v = per_render(lambda: empty.render({"v": VALUE}, request))
        timings["get"].append(per_render(gets) / TAGS)
        for row, compiled in sources.items():
            timings[row].append(per_tag(compiled))
        for row in in_view:
            # The view reads each flag once: one get for each variable rendered.
            timings[row].append(per_variable(row) + timings["get"][-1])
        with context.bind_template(empty.template):
            timings["request_lookup"].append(per_render(lookups) / TAGS)

    def quotient(top: str, bottom: str) -> list[float]:
        return [t / b for t, b in zip(timings[top], timings[bottom], strict=True)]

    ratios = {
        "flag_over_get": quotient("flag", "get"),
        "ifflag_over_get": quotient("ifflag", "get"),
        "flag_over_get_and_variable": quotient("flag", "get_and_variable"),
        "flag_long_over_get_and_variable_long": quotient("flag_long", "get_and_variable_long"),
        "ifflag_over_get_and_if": quotient("ifflag", "get_and_if"),
        "flag_beyond_floor_over_get": [
            (f - n - r) / g
            for f, n, r, g in zip(
                timings["flag"],
                timings["node_floor"],
                timings["request_lookup"],
                timings["get"],
                strict=True,
            )
        ],
    }
    return timings, ratios, agreed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    parser.add_argument(
        "--quick", action="store_true", help="2 short rounds: checks that it runs, measures nothing"
    )
    add_clock_argument(parser)
    parser.add_argument("--json", metavar="FILE", help="also write the figures to FILE")
    args = parser.parse_args(argv)
    rounds, reads = (2, 50) if args.quick else (args.rounds, READS)
    configure()
    load = os.getloadavg()
    timings, ratios, agreed = measure(rounds, reads, CLOCKS[args.clock])
    figures: dict[str, Any] = {
        "rounds": rounds,
        "clock": args.clock,
        "load_average": load,
        "us": {row: spread(values) for row, values in timings.items()},
        "ratios": {name: spread(values) for name, values in ratios.items()},
        "agreed": agreed,
    }
    us = {row: figure["median"] for row, figure in figures["us"].items()}
    # What any tag reading request.flags pays; the rest of a {% flag %} is its own.
    floor = us["node_floor"] + us["request_lookup"] + us["get"]
    figures["floor_us"] = floor
    figures["flag_own_us"] = us["flag"] - floor
    print(
        f"µs a read ({args.clock} time), median of {rounds} rounds of {reads} renders of "
        f"{TAGS} tags [IQR, min-max]; load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
    )
    for row, label in ROWS.items():
        print(f"  {label:<46} {fmt(figures['us'][row], ' µs', 3)}")
    ratio = figures["ratios"]
    for name, label in RATIOS.items():
        print(f"{label}: {fmt(ratio[name], 'x', 2)}")
    met = ratio["flag_over_get"]["median"] <= 1.0
    print(
        "target: a tag read costs no more than a request.flags.get: "
        + ("met" if met else "not met")
        + f" ({us['flag']:.3f} µs against {us['get']:.3f}). Any tag reading request.flags"
        f" pays Django's cheapest tag, the request lookup and the get: {floor:.3f} µs;"
        f" the rest, {figures['flag_own_us']:.3f} µs, is the tag's own"
    )
    print(f"every tag rendered what the view read: {'yes' if agreed else 'NO'}")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2))
    return 0 if agreed else 1


if __name__ == "__main__":
    sys.exit(main())
