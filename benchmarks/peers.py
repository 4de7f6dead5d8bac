"""What each feature-flag library adds to a Django request, side by side in one process.

Every library serves the same page: a view that loads the session and the
user, reads 5 flags and renders a template that reads 3 of them again, behind
Django's session and authentication middleware, for one returning visitor
(an anonymous visitor with a session cookie), with 50 flags, features or
campaigns configured. Each row is timed through Django's WSGI handler, and
what a library adds is its row minus the baseline row of the same round.

Rows:

* ``baseline``: the same view and markup with constant values and no flag
  library; it loads the session and the user, as every other row does;
* ``flagship``: django-flagship, ``FlagshipMiddleware`` after sessions and
  auth, BUCKETING mode from a 50-campaign bucketing file (offline, no API key:
  activations go to the log sink), ``request.flags.get`` in the view and
  ``{% flag %}`` / ``{% ifflag %}`` in the template, default settings;
* ``flagship-new``: the same, for ``--visitors`` returning visitors taken in
  turn, more than the process's memory of decisions holds, so every decision
  is computed again (what a visitor whose decision is not in memory pays);
  its baseline is ``baseline-crowd``, the baseline view for the same visitors;
* ``django-flags``: django-flags with the settings source only
  (``FLAG_SOURCES = ["flags.sources.SettingsFlagsSource"]``: the default also
  queries the database on every request), 50 flags in ``FLAGS`` with one or
  two conditions each (boolean, parameter, path, anonymous, user), read with
  ``flag_enabled(name, request=request)`` and the ``{% flag_enabled %}`` tag;
* ``growthbook``: the GrowthBook SDK as its documentation recommends for
  Django: one ``GrowthBook`` instance per request made by a middleware, with
  ``api_host``, ``client_key`` and ``on_experiment_viewed``, then
  ``load_features()``, then ``destroy()`` after the response. The API host is
  a server on 127.0.0.1 run by this script: the SDK fetches the 50 features
  (each with one to three rules, the read ones in experiments hashed on the
  visitor id) once and then serves them from its in-memory cache, as in
  production. The exposure callback appends to a bounded in-memory queue
  (a hand-off, like our activation sink). The visitor id is kept in the
  session. The SDK has no template tags, so a simple tag calls
  ``request.gb.get_feature_value``. With a client key, GrowthBook 4 checks its
  cache on every evaluation and, even when nothing changed, rebuilds every
  feature from the cached payload: the row shows what following the
  documentation costs;
* ``growthbook-features``: the same, with the documentation's other way of
  loading features: the process fetches the payload once and passes it to
  each instance (``features=``, no client key), so evaluations skip that
  check. The cheaper of the two GrowthBook rows is the fair comparison;
* ``waffle``: django-waffle, ``WaffleMiddleware``, 50 flags with
  ``everyone=True``, cached in the default cache (Django's local-memory
  cache, waffle's default), read with ``flag_is_active`` and ``{% flag %}``;
* ``waffle-percent``: the same with 50 ``percent=50`` flags: the returning
  visitor carries the ``dwf_*`` cookies of their earlier rolls;
* ``no-read`` and ``no-read-0``: a view that reads no flag (and does not
  load the user), with and without ``FlagshipMiddleware``;
  ``no-read-0-again`` is ``no-read-0`` once more: the difference of two
  identical rows (an A/A test) says what "within noise" means in this run.

Boolean libraries (waffle, django-flags) turn each flag into the same values
(``"red" if on else "blue"``); GrowthBook and django-flagship serve typed values.
Sessions live in the cache (``SESSION_ENGINE = ...cache``), the cache is
Django's local-memory cache, the database is SQLite in memory (waffle's
tables, migrated at start).

Each round times ``--requests`` requests of every row, in an order shuffled
anew each round so that drift on the machine falls on every row alike. The
report gives, per row, the median over rounds of the microseconds added with
the interquartile range and the extremes, and the ratio of ours to each peer
as the median of the per-round ratios with their spread. The targets compare
ours with the cheapest peer row. ``--quick`` runs a
few requests with a small memory of decisions: a check that everything runs,
not a measurement. ``--memo-off`` turns the memory of decisions off
(``FLAGSHIP_DECISION_CACHE_SIZE = 0``): the difference of two runs is what it
costs or saves. ``--profile`` profiles the two django-flagship rows and their
baselines with cProfile instead of timing them: the top functions of our
package, then where the time goes by module (file), each module's own time in
the row against the baseline's, so that what a row adds is shared out among
the modules that add it.

    python benchmarks/peers.py [--rounds 27] [--requests 1000] [--visitors 3000]
                               [--quick] [--memo-off] [--json FILE]
                               [--profile [--profile-top 15] [--profile-modules 15]]
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import itertools
import json
import os
import pstats
import random
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import django
from django.conf import settings

from benchmarks.middleware import call, environ, make_bucket
from benchmarks.peers_site import (
    FLAG_COUNT,
    OURS,
    PEERS,
    PERCENT_PREFIX,
    READS,
    FeaturesServer,
    configure,
    make_flags_in_database,
    make_growthbook_features,
)
from benchmarks.stats import CLOCKS, add_clock_argument, fmt, spread

__all__ = ["Bench", "main", "report"]

# -- measuring ------------------------------------------------------------------------

SESSION_AUTH = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]
FLAGSHIP_MIDDLEWARE = "django_flagship.middleware.FlagshipMiddleware"


def make_handler(*extra: str):
    from django.core.handlers.wsgi import WSGIHandler

    settings.MIDDLEWARE = [*SESSION_AUTH, *extra]
    return WSGIHandler()


def cookies_of(headers: list[tuple[str, str]]) -> dict[str, str]:
    return dict(
        value.split(";")[0].strip().split("=", 1)
        for name, value in headers
        if name.lower() == "set-cookie"
    )


def cookie_header(cookies: dict[str, str]) -> str:
    return "; ".join(f"{name}={value}" for name, value in cookies.items())


def visit(handler, path: str, cookies: dict[str, str]) -> tuple[dict[str, str], bytes]:
    """One request; returns the visitor's cookies after it and the body."""
    status, headers, body = call(handler, environ(path, cookie_header(cookies)))
    if not status.startswith("200"):
        raise RuntimeError(f"{path}: {status}")
    return {**cookies, **cookies_of(headers)}, body


def memo_counts() -> tuple[int, int] | None:
    """(hits, misses) of the memory of decisions, ``None`` when there is none."""
    from django_flagship.client import get_client

    memo = getattr(getattr(get_client(), "decision_manager", None), "memo", None)
    if memo is None or not hasattr(memo, "hits"):
        return None
    return memo.hits, memo.misses


def timed(handler, turns: Iterator[dict], count: int, clock: Callable[[], int]) -> float:
    """Microseconds per request over ``count`` requests (each the next of ``turns``)."""
    gc.collect()
    start = clock()
    for _ in range(count):
        call(handler, next(turns))
    return (clock() - start) / count / 1000


class Bench:
    """The handlers, visitors and request streams of every row."""

    def __init__(self, visitors: int) -> None:
        with_flagship = make_handler(FLAGSHIP_MIDDLEWARE)
        plain = make_handler()
        waffle = make_handler("waffle.middleware.WaffleMiddleware")
        growthbook = make_handler("benchmarks.peers_site.GrowthBookMiddleware")
        growthbook_features = make_handler("benchmarks.peers_site.GrowthBookFeaturesMiddleware")

        # The returning visitor: a first visit to each library leaves its state
        # (flagship's visitor id and history, GrowthBook's id in the session,
        # waffle's percent cookies), then a second visit checks each page.
        cookies: dict[str, str] = {}
        for handler, path in (
            (with_flagship, "/flagship/"),
            (growthbook, "/growthbook/"),
            (waffle, "/waffle-percent/"),
        ):
            cookies, _ = visit(handler, path, cookies)
        rolled = [PERCENT_PREFIX + key for key in READS]
        missing = [name for name in rolled if f"dwf_{name}" not in cookies]
        if "sessionid" not in cookies or missing:
            raise RuntimeError(f"the returning visitor lacks cookies: {sorted(cookies)}, {missing}")
        self.cookies = cookies
        self.bodies = {}
        for name, handler, path in (
            ("baseline", plain, "/baseline/"),
            ("flagship", with_flagship, "/flagship/"),
            ("django-flags", plain, "/django-flags/"),
            ("growthbook", growthbook, "/growthbook/"),
            ("growthbook-features", growthbook_features, "/growthbook/"),
            ("waffle", waffle, "/waffle/"),
            ("waffle-percent", waffle, "/waffle-percent/"),
        ):
            after, self.bodies[name] = visit(handler, path, cookies)
            if after["sessionid"] != cookies["sessionid"]:
                raise RuntimeError(f"{name}: the session changed on a returning visit")
        # Every library's page shows its flags' values, not the defaults (waffle's
        # percent flags are on for some visitors only).
        for name, body in self.bodies.items():
            if name not in ("baseline", "waffle-percent") and b"<h1>Welcome</h1>" in body:
                raise RuntimeError(f"{name}: the page shows the defaults")

        crowd = []
        for _ in range(visitors):
            crowd.append(visit(with_flagship, "/flagship/", {})[0])

        def one(path: str) -> Iterator[dict]:
            return itertools.cycle([environ(path, cookie_header(cookies))])

        def many(path: str) -> Iterator[dict]:
            return itertools.cycle([environ(path, cookie_header(each)) for each in crowd])

        self.rows: dict[str, tuple[Any, Iterator[dict]]] = {
            "baseline": (plain, one("/baseline/")),
            "flagship": (with_flagship, one("/flagship/")),
            "baseline-crowd": (plain, many("/baseline/")),
            "flagship-new": (with_flagship, many("/flagship/")),
            "django-flags": (plain, one("/django-flags/")),
            "growthbook": (growthbook, one("/growthbook/")),
            "growthbook-features": (growthbook_features, one("/growthbook/")),
            "waffle": (waffle, one("/waffle/")),
            "waffle-percent": (waffle, one("/waffle-percent/")),
            "no-read": (with_flagship, one("/no-read/")),
            "no-read-0": (plain, one("/no-read/")),
            "no-read-0-again": (plain, one("/no-read/")),
        }

        self.loads: list[float] = []  # the 1-minute load average at each round's start

    def warm_up(self, count: int) -> None:
        for handler, turns in self.rows.values():
            for _ in range(count):
                call(handler, next(turns))

    def run(
        self, rounds: int, requests: int, clock: Callable[[], int], seed: int = 15
    ) -> tuple[dict, dict]:
        """Per row: microseconds a request in each round; decisions [from memory, computed]."""
        rng = random.Random(seed)
        timings: dict[str, list[float]] = {name: [] for name in self.rows}
        answered = {name: [0, 0] for name in self.rows}
        for _ in range(rounds):
            self.loads.append(os.getloadavg()[0])
            order = list(self.rows)
            rng.shuffle(order)
            for name in order:
                handler, turns = self.rows[name]
                before = memo_counts()
                timings[name].append(timed(handler, turns, requests, clock))
                after = memo_counts()
                if before is not None and after is not None:
                    answered[name][0] += after[0] - before[0]
                    answered[name][1] += after[1] - before[1]
        return timings, answered


def report(timings: dict[str, list[float]], answered: dict[str, list[int]]) -> dict[str, Any]:
    """The figures: per-row cost and added cost, ratios, the no-read comparison."""
    rounds = len(timings["baseline"])
    base_of = {
        **OURS,
        **dict.fromkeys(PEERS, "baseline"),
        "no-read": "no-read-0",
        "no-read-0-again": "no-read-0",
    }
    added = {
        name: [timings[name][r] - timings[base][r] for r in range(rounds)]
        for name, base in base_of.items()
    }
    rows = {}
    for name, values in timings.items():
        hits, misses = answered[name]
        rows[name] = {
            "us": spread(values),
            "added_us": spread(added[name]) if name in added else None,
            "from_memory": hits / (hits + misses) if hits + misses else None,
        }
    ratios: dict[str, dict[str, Any]] = {}
    for ours in OURS:
        ratios[ours] = {}
        for peer in PEERS:
            per_round = [
                added[ours][r] / added[peer][r] for r in range(rounds) if added[peer][r] > 0
            ]
            ratios[ours][peer] = spread(per_round) if per_round else None
    cheapest = min(PEERS, key=lambda peer: rows[peer]["added_us"]["median"])
    # An A/A difference: how far two identical rows drift apart in the middle
    # half of the rounds.
    same = rows["no-read-0-again"]["added_us"]
    return {
        "rows": rows,
        "ratios": ratios,
        "cheapest_peer": cheapest,
        "noise_us": max(abs(same["q1"]), abs(same["q3"])),
    }


LABELS = {
    "baseline": "baseline: session + user, no flags",
    "flagship": "django-flagship, returning visitor",
    "baseline-crowd": "baseline, the visitors in turn",
    "flagship-new": "django-flagship, every decision new",
    "django-flags": "django-flags, settings source",
    "growthbook": "GrowthBook, one instance a request",
    "growthbook-features": "GrowthBook, features passed in",
    "waffle": "django-waffle, everyone=True",
    "waffle-percent": "django-waffle, percent=50",
    "no-read": "no flag read, FlagshipMiddleware",
    "no-read-0": "no flag read, no middleware",
    "no-read-0-again": "the same again (A/A: the noise)",
}
TARGETS = {"flagship": 0.25, "flagship-new": 0.4}


def print_report(figures: dict[str, Any]) -> None:
    rows = figures["rows"]
    print(f"{'row':<38} {'us/request':>10}   added us: median [IQR q1-q3, min-max]   memory")
    for name, label in LABELS.items():
        row = rows[name]
        added = fmt(row["added_us"]) if row["added_us"] else ""
        memory = f"{row['from_memory']:4.0%}" if row["from_memory"] is not None else ""
        print(f"  {label:<36} {row['us']['median']:10.1f}   {added:<40} {memory}")
    print("ours / peer, added cost: median of the per-round ratios [IQR, min-max]")
    for ours, label in (("flagship", "returning"), ("flagship-new", "every decision new")):
        parts = []
        for peer in PEERS:
            ratio = figures["ratios"][ours][peer]
            parts.append(f"{peer} {fmt(ratio, 'x', 2)}" if ratio else f"{peer} n/a")
        print(f"  {label}: " + "; ".join(parts))
    cheapest = figures["cheapest_peer"]
    for ours, limit in TARGETS.items():
        ratio = figures["ratios"][ours][cheapest]
        met = ratio is not None and ratio["median"] <= limit
        value = f"{ratio['median']:.2f}x" if ratio else "n/a"
        print(
            f"  target {ours}: at most {limit}x the cheapest peer ({cheapest}): "
            f"{value} ({'met' if met else 'NOT met'})"
        )
    no_read = rows["no-read"]["added_us"]
    noise = figures["noise_us"]
    met = abs(no_read["median"]) <= noise
    print(
        f"  no flag read: FlagshipMiddleware adds {no_read['median']:+.1f} us "
        f"(IQR {no_read['q1']:+.1f} to {no_read['q3']:+.1f}); two identical rows differ by up "
        f"to {noise:.1f} us in half the rounds: within noise: {'met' if met else 'NOT met'}"
    )


def module_of(filename: str) -> str:
    """The module a profiled function lives in, named from its package (or ``built-in``)."""
    if filename == "~" or filename.startswith("<"):
        return "built-in" if filename == "~" else filename
    path = filename.replace(os.sep, "/")
    for marker in ("/site-packages/", "/dist-packages/"):
        if marker in path:
            return path.rsplit(marker, 1)[1]
    for package in ("/django_flagship/", "/benchmarks/"):
        if package in path:
            return package.strip("/") + "/" + path.rsplit(package, 1)[1]
    if "/lib/python" in path:  # the standard library
        return "stdlib/" + path.rsplit("/lib/python", 1)[1].split("/", 1)[-1]
    return path


def by_module(stats: dict, requests: int) -> dict[str, float]:
    """Own microseconds per request, summed by :func:`module_of` each function's file."""
    out: dict[str, float] = {}
    for (filename, _, _), (_, _, own, _, _) in stats.items():
        name = module_of(filename)
        out[name] = out.get(name, 0.0) + own / requests * 1e6
    return out


def _profiled(bench: Bench, name: str, requests: int, clock: Callable[[], int]) -> dict:
    """pstats' table of ``requests`` requests of row ``name``, in seconds of ``clock``."""
    handler, turns = bench.rows[name]
    profiler = cProfile.Profile(clock, 1e-9)
    gc.collect()
    profiler.enable()
    for _ in range(requests):
        call(handler, next(turns))
    profiler.disable()
    return pstats.Stats(profiler).stats  # type: ignore[attr-defined]


def profile(
    bench: Bench,
    requests: int,
    top: int,
    sort: str,
    restrict: str,
    clock: str,
    modules: int = 15,
) -> dict[str, Any]:
    """cProfile the two django-flagship rows and their baselines, per request.

    Per row: the top ``top`` functions (of files whose path holds
    ``restrict``), and the ``modules`` modules that add the most own time to
    the baseline's.
    """
    out = {}
    timer = CLOCKS[clock]
    for name, base in OURS.items():
        stats = _profiled(bench, name, requests, timer)
        base_stats = _profiled(bench, base, requests, timer)
        base_us = max(entry[3] for entry in base_stats.values()) / requests * 1e6
        request_us = max(entry[3] for entry in stats.values()) / requests * 1e6
        entries = []
        for (filename, line, function), (_, calls, own, cumulative, _) in stats.items():
            if restrict and restrict not in filename:
                continue
            where = filename.rsplit(restrict, 1)[-1] if restrict else filename
            entries.append(
                {
                    "function": f"{restrict}{where}:{line}({function})",
                    "calls": calls / requests,
                    "own_us": own / requests * 1e6,
                    "cumulative_us": cumulative / requests * 1e6,
                }
            )
        key = "cumulative_us" if sort == "cumulative" else "own_us"
        entries.sort(key=lambda entry: entry[key], reverse=True)
        row_modules, base_modules = by_module(stats, requests), by_module(base_stats, requests)
        added = request_us - base_us
        per_module = sorted(
            (
                {
                    "module": module,
                    "own_us": row_modules.get(module, 0.0),
                    "baseline_own_us": base_modules.get(module, 0.0),
                    "added_us": row_modules.get(module, 0.0) - base_modules.get(module, 0.0),
                }
                for module in row_modules.keys() | base_modules.keys()
            ),
            key=lambda entry: entry["added_us"],
            reverse=True,
        )
        for entry in per_module:
            entry["share_of_added"] = entry["added_us"] / added if added > 0 else None
        out[name] = {
            "request_us": request_us,
            "baseline_us": base_us,
            "top": entries[:top],
            "modules": per_module[:modules],
        }
        print(
            f"{LABELS[name]}: {requests} requests under cProfile ({clock} time), "
            f"{request_us:.1f} us a "
            f"request, {base_us:.1f} us for {base}: {request_us - base_us:+.1f} us (profiler "
            f"overhead included); top {top} by {sort} time"
            f"{f' in {restrict}' if restrict else ''}, per request (the middleware's call "
            "holds the view it wraps):"
        )
        print(f"  {'cumulative us':>13} {'own us':>8} {'calls':>6}  function")
        for entry in entries[:top]:
            print(
                f"  {entry['cumulative_us']:13.1f} {entry['own_us']:8.1f} {entry['calls']:6.1f}"
                f"  {entry['function']}"
            )
        print(
            f"  where the time goes by module: own us per request in the row and in {base}, "
            f"the difference and its share of the {added:+.1f} us added; top {modules}:"
        )
        print(f"  {'row us':>8} {'base us':>8} {'added':>8} {'share':>6}  module")
        for entry in per_module[:modules]:
            share = entry["share_of_added"]
            print(
                f"  {entry['own_us']:8.1f} {entry['baseline_own_us']:8.1f} "
                f"{entry['added_us']:+8.1f} {f'{share:.0%}' if share is not None else '':>6}"
                f"  {entry['module']}"
            )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=27)
    parser.add_argument("--requests", type=int, default=1000, help="requests per round and row")
    parser.add_argument(
        "--visitors",
        type=int,
        default=3000,
        help="returning visitors in turn of the every-decision-new row "
        "(more than the memory of decisions holds)",
    )
    parser.add_argument(
        "--decision-cache-size",
        type=int,
        default=None,
        metavar="N",
        help="FLAGSHIP_DECISION_CACHE_SIZE (default: the shipped default)",
    )
    parser.add_argument(
        "--memo-off",
        action="store_true",
        help="the memory of decisions off: FLAGSHIP_DECISION_CACHE_SIZE = 0",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="3 rounds of 20 requests, 48 visitors and a memory of 32 decisions: "
        "checks that everything runs, measures nothing",
    )
    add_clock_argument(parser)
    parser.add_argument("--json", metavar="FILE", help="also write the figures to FILE")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="profile the django-flagship rows with cProfile instead of timing the rows",
    )
    parser.add_argument(
        "--profile-requests", type=int, default=3000, metavar="N", help="requests a profiled row"
    )
    parser.add_argument("--profile-top", type=int, default=15, metavar="N")
    parser.add_argument("--profile-sort", choices=["cumulative", "own"], default="cumulative")
    parser.add_argument(
        "--profile-modules",
        type=int,
        default=15,
        metavar="N",
        help="modules listed in the by-module table of --profile",
    )
    parser.add_argument(
        "--profile-filter",
        default="django_flagship",
        metavar="TEXT",
        help="list only functions whose file path contains TEXT ('' for all)",
    )
    args = parser.parse_args(argv)
    if args.memo_off:
        if args.decision_cache_size not in (None, 0):
            parser.error("--memo-off and --decision-cache-size N > 0 contradict each other")
        args.decision_cache_size = 0
    if args.quick:
        args.rounds, args.requests, args.visitors, args.profile_requests = 3, 20, 48, 50
        if args.decision_cache_size is None:
            args.decision_cache_size = 32

    load = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp, FeaturesServer(make_growthbook_features()) as api:
        bucket_file = Path(tmp) / "bucketing.json"
        bucket = make_bucket(FLAG_COUNT)
        bucket_file.write_text(json.dumps(bucket))
        configure(str(bucket_file), api.url, args.decision_cache_size)
        make_flags_in_database()
        bench = Bench(args.visitors)
        bench.warm_up(10 if args.quick else 100)
        import flags
        import growthbook
        import waffle

        versions = {
            "python": sys.version.split()[0],
            "django": django.get_version(),
            "django-waffle": waffle.__version__,
            "django-flags": getattr(flags, "__version__", _dist_version("django-flags")),
            "growthbook": getattr(growthbook, "__version__", _dist_version("growthbook")),
        }
        print(
            f"Feature-flag libraries side by side: {len(bucket['campaigns'])} campaigns / "
            f"flags / features, {', '.join(f'{k} {v}' for k, v in versions.items())}; "
            f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} at start"
        )
        if args.profile:
            figures = {
                "profile": profile(
                    bench,
                    args.profile_requests,
                    args.profile_top,
                    args.profile_sort,
                    args.profile_filter,
                    args.clock,
                    args.profile_modules,
                )
            }
        else:
            started = time.monotonic()
            timings, answered = bench.run(args.rounds, args.requests, CLOCKS[args.clock])
            elapsed = time.monotonic() - started
            figures = report(timings, answered)
            figures["timings_us"] = timings
            end_load = os.getloadavg()
            loads = spread([load[0], *bench.loads, end_load[0]])
            figures["load_during_run"] = loads
            print(
                f"{args.rounds} rounds x {args.requests} requests a row, in an order shuffled "
                f"each round ({elapsed:.1f} s, {args.clock} time); {args.visitors} visitors in "
                f"turn for the every-decision-new row; 1-minute load average over the rounds "
                f"{loads['median']:.2f} [{loads['min']:.2f}-{loads['max']:.2f}] on "
                f"{os.cpu_count()} cores"
            )
            print_report(figures)
            if api.fetches < 1:
                raise RuntimeError("the GrowthBook SDK never fetched its features")
        figures.update(
            versions=versions,
            rounds=args.rounds,
            requests=args.requests,
            visitors=args.visitors,
            clock=args.clock,
            decision_cache_size=args.decision_cache_size,
            load_average=load,
            growthbook_fetches=api.fetches,
        )
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=1))
    return 0


def _dist_version(name: str) -> str:
    from importlib.metadata import version

    return version(name)


if __name__ == "__main__":
    sys.exit(main())
