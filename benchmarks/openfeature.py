"""What the OpenFeature layer adds per flag evaluation, against ``request.flags.get``.

One process, one 50-campaign bucket (BUCKETING mode, offline, the assignment
history in a local-memory cache), a tracker that discards hits so that both
sides pay nothing for delivery. Each case is timed in interleaved rounds;
the fastest round counts (the least disturbed by other work on the machine)
and the median is shown beside it.

* **request**: what a view does: a new visitor, five flags read. Baseline: a
  ``RequestFlags`` on a request of an authenticated user, then five
  ``flags.get``. OpenFeature: five ``client.get_*_value`` with the same
  visitor id and the same context as the request's, through
  ``django_provider()``: the first decides, the others find the decision in
  the provider's cache. This is the headline figure; target at most 2x.
* **first read**: one flag for a new visitor: both sides decide.
* **repeated read**: one more flag of a visitor already decided. Here the
  OpenFeature SDK's own work (hooks, context merging, result objects)
  dominates; the line below it shows the same call on the SDK's in-memory
  provider, its floor.
* **decision cache**: the request case with ``cache_ttl=0``, deciding on every
  evaluation, against the default one-second cache.

Exits with status 1 when the request ratio is over the target.

    python benchmarks/openfeature.py [--rounds 7] [--visitors 300]
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

# Run as a script, this file's directory comes first on sys.path, where its own
# name would hide the openfeature package: put the repository there instead.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

__all__ = ["NullTracker", "main"]

TARGET_RATIO = 2.0
FLAGS = [
    ("vip_feature", False),
    ("btn_color", "blue"),
    ("max_items", 3),
    ("hero_title", "Welcome"),
    ("discount", 0.0),
]


class NullTracker:
    """Counts hits and activations and sends nothing."""

    def __init__(self, config: Any = None) -> None:
        self.hits = 0
        self.activations = 0

    def add_hit(self, item: Any) -> None:
        self.hits += 1

    def add_activation(self, item: Any) -> None:
        self.activations += 1

    def flush(self, timeout: float | None = None) -> bool:
        return True

    def close(self) -> None:
        pass


class BenchUser:
    """An authenticated user without a database row."""

    is_authenticated = True
    is_anonymous = False
    is_staff = False
    is_superuser = False

    def __init__(self, pk: str) -> None:
        self.pk = pk


def configure(bucket_file: str) -> None:
    import django
    from django.conf import settings

    settings.configure(
        DEBUG=False,
        SECRET_KEY="benchmark-only",
        USE_TZ=True,
        INSTALLED_APPS=["django.contrib.auth", "django.contrib.contenttypes", "django_flagship"],
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
        CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}},
        LOGGING_CONFIG=None,
        FLAGSHIP_BUCKET_FILE=bucket_file,
        FLAGSHIP_TRACKER="benchmarks.openfeature.NullTracker",
    )
    django.setup()


def best_rounds(cases: dict[str, Callable[[int], int]], rounds: int) -> dict[str, list[float]]:
    """Run every case once per round, interleaved; microseconds per evaluation."""
    timings: dict[str, list[float]] = {name: [] for name in cases}
    for round_ in range(rounds):
        for name, run in cases.items():
            gc.collect()
            gc.disable()
            start = time.perf_counter()
            evaluations = run(round_)
            elapsed = time.perf_counter() - start
            gc.enable()
            timings[name].append(elapsed / evaluations * 1e6)
    return timings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--visitors", type=int, default=300)
    args = parser.parse_args(argv)
    from benchmarks.middleware import make_bucket

    with tempfile.TemporaryDirectory() as tmp:
        bucket_file = Path(tmp) / "bucketing.json"
        bucket_file.write_text(json.dumps(make_bucket()))
        configure(str(bucket_file))
        return run(args.rounds, args.visitors)


def run(rounds: int, visitors: int) -> int:
    from django.test import RequestFactory
    from openfeature import api
    from openfeature.evaluation_context import EvaluationContext
    from openfeature.provider.in_memory_provider import InMemoryFlag, InMemoryProvider

    from django_flagship.client import runtime
    from django_flagship.context import build_context
    from django_flagship.contrib.openfeature import django_provider
    from django_flagship.flags import RequestFlags

    factory = RequestFactory()

    def request_for(pk: str) -> Any:
        request = factory.get("/", HTTP_USER_AGENT="Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0")
        request.user = BenchUser(pk)
        return request

    # The context the middleware builds for these requests, for OpenFeature to pass.
    site_context = build_context(request_for("0"), runtime())

    cached = django_provider()
    uncached = django_provider(cache_ttl=0)
    api.set_provider_and_wait(cached, "cached")
    api.set_provider_and_wait(uncached, "uncached")
    api.set_provider_and_wait(
        InMemoryProvider({"vip_feature": InMemoryFlag("on", {"on": True, "off": False})}),
        "memory",
    )
    of_cached, of_uncached = api.get_client("cached"), api.get_client("uncached")
    of_memory = api.get_client("memory")
    getters = {
        bool: "get_boolean_value",
        str: "get_string_value",
        int: "get_integer_value",
        float: "get_float_value",
    }
    typed = [(key, default, getters[type(default)]) for key, default in FLAGS]

    # Every round sees visitors no case has seen: no history, no cached decision.
    def ids(case: str, round_: int) -> list[str]:
        return [f"{case}-{round_}-{n}" for n in range(visitors)]

    def site_request(round_: int) -> int:
        for pk in ids("site", round_):
            flags = RequestFlags(request_for(pk))
            for key, default, _ in typed:
                flags.get(key, default)
        return visitors * len(typed)

    def openfeature_request(client: Any, case: str) -> Callable[[int], int]:
        def run_case(round_: int) -> int:
            for pk in ids(case, round_):
                context = EvaluationContext(pk, site_context)
                for key, default, getter in typed:
                    getattr(client, getter)(key, default, context)
            return visitors * len(typed)

        return run_case

    def site_first(round_: int) -> int:
        for pk in ids("site1", round_):
            RequestFlags(request_for(pk)).get("vip_feature", False)
        return visitors

    def openfeature_first(round_: int) -> int:
        for pk in ids("of1", round_):
            of_cached.get_boolean_value("vip_feature", False, EvaluationContext(pk, site_context))
        return visitors

    warm = RequestFlags(request_for("warm"))
    warm.get("vip_feature", False)
    warm_context = EvaluationContext("warm", site_context)
    repeats = visitors * len(typed)

    def site_repeated(round_: int) -> int:
        for _ in range(repeats):
            warm.get("vip_feature", False)
        return repeats

    def openfeature_repeated(round_: int) -> int:
        for _ in range(repeats):
            of_cached.get_boolean_value("vip_feature", False, warm_context)
        return repeats

    def memory_repeated(round_: int) -> int:
        for _ in range(repeats):
            of_memory.get_boolean_value("vip_feature", False, warm_context)
        return repeats

    cases = {
        "request.flags, request": site_request,
        "OpenFeature, request": openfeature_request(of_cached, "of"),
        "OpenFeature, request, cache_ttl=0": openfeature_request(of_uncached, "of0"),
        "request.flags, first read": site_first,
        "OpenFeature, first read": openfeature_first,
        "request.flags, repeated read": site_repeated,
        "OpenFeature, repeated read": openfeature_repeated,
        "OpenFeature SDK in-memory provider": memory_repeated,
    }
    # One untimed pass: imports, compiled targeting, warm caches.
    for run_case in cases.values():
        run_case(-1)
    timings = best_rounds(cases, rounds)
    api.shutdown()

    best = {name: min(values) for name, values in timings.items()}
    print(f"{len(FLAGS)} flags, {visitors} visitors per round, best of {rounds} rounds")
    for name, values in timings.items():
        print(
            f"  {name:<38} {best[name]:8.2f} us/evaluation"
            f"  (median {statistics.median(values):.2f})"
        )

    def ratio(name: str, base: str) -> float:
        return best[name] / best[base]

    headline = ratio("OpenFeature, request", "request.flags, request")
    print()
    print(
        f"request (5 flags, one visitor):  OpenFeature / request.flags = {headline:.2f}x "
        f"(+{best['OpenFeature, request'] - best['request.flags, request']:.2f} us per "
        f"evaluation; target <= {TARGET_RATIO:g}x)"
    )
    print(
        f"first read:                      OpenFeature / request.flags = "
        f"{ratio('OpenFeature, first read', 'request.flags, first read'):.2f}x"
    )
    print(
        f"repeated read:                   OpenFeature / request.flags = "
        f"{ratio('OpenFeature, repeated read', 'request.flags, repeated read'):.2f}x "
        f"(the OpenFeature SDK alone: "
        f"{ratio('OpenFeature SDK in-memory provider', 'request.flags, repeated read'):.2f}x)"
    )
    print(
        f"decision cache:                  cache_ttl=0 / cache_ttl=1 = "
        f"{ratio('OpenFeature, request, cache_ttl=0', 'OpenFeature, request'):.2f}x"
    )
    return 0 if headline <= TARGET_RATIO else 1


if __name__ == "__main__":
    sys.exit(main())
