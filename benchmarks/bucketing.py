"""BUCKETING mode: what one visitor costs through the seed API, ours against the official SDK.

For bucketing files of 20, 25 and 200 campaigns (two or three variation
groups each, targeting on several keys, partial allocations in the last
group), in the same run, the time users pay for a visitor:

* ours: ``Flagship.create_visitor(id, context)``, ``synchronize_modifications()``
  and 5 reads with ``get_modification(key, default)``, from a client started
  with ``Config(env_id, mode=Mode.BUCKETING)`` and nothing else: the default
  configuration, the memory of decisions on at its shipped size. Every timed
  visitor is new to the process (a first visit, which the memory does not
  keep: it remembers a visitor from their second visit), and the memory is
  first filled with as many returning visitors as it holds, as in a process
  that has served many visitors;
* official: ``Flagship.new_visitor(id, context=...)``, ``fetch_flags()`` and
  the same 5 reads with ``get_flag(key, default).value(False)``, from
  ``flagship==3.0.1`` in BUCKETING mode, offline (see ``official.py``).

Neither side activates on read (the official ``value()`` would by default;
``get_modification`` does not), and both queue their SEGMENT hit in memory:
the official SDK in its hit pool, ours on a bounded in-memory tracker (which,
like the background thread, builds the recorded hit when it is read). The
reads are flags each visitor has, with a default of the value's type (a
missing or mistyped flag makes the official SDK format a traceback).

Extra columns, for the same visitors: ours again for each of them on a
third visit (``returning``: the decision from memory; the second visit, not
timed, is the one remembered, evicting the oldest entry), and the decision
alone, computed
without any memory: ``Bucket.decide`` then ``merge_flags``, and
``Bucket.decide``.

Visitor ids are random UUIDs and the ids in the file have Flagship's 20
characters. Both sides get the same visitors and contexts; their flags are
compared before timing. Each pass takes a new slice of visitors for both
sides, in alternating order; the ratio of a pass is official over ours, and
the report gives the median ratio of the passes with its spread. Exits with
status 1 when a visitor disagrees.

``--memo-off`` runs ours with the memory of decisions off
(``decision_cache_size=0``): what the memory costs or saves a new visitor is
the ``ours`` column of the two runs.

    python benchmarks/bucketing.py [--passes 9] [--quick] [--memo-off] [--json FILE]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks.official import (
    OfficialSDK,
    agreeing_bucket,
    flag_rows,
    our_flags,
    random_context,
    random_visitor_id,
)
from benchmarks.stats import CLOCKS, add_clock_argument, fmt, spread
from django_flagship.sdk import Config, Flagship, Mode
from django_flagship.sdk.bucket_source import StaticBucketSource
from django_flagship.sdk.bucketing import Bucket
from django_flagship.sdk.model import merge_flags
from django_flagship.sdk.tracking import MemoryTracker

__all__ = ["Result", "main", "measure"]

#: Seed-API visitors at least this many times faster than the official SDK's.
TARGETS = {20: 25.0, 25: 25.0, 200: 40.0}
SIZES = {20: 1000, 25: 1000, 200: 200}  # campaigns: visitors a pass
QUICK_SIZES = {20: 30, 200: 10}
PASSES = 9
#: The flags read, in this order of preference among those a visitor has.
READ_ORDER = ["color", "size", "enabled", "title", "items", "ratio", "config", "nothing"]
READS = 5

Visit = tuple[str, dict[str, Any], list[tuple[str, Any]]]  # id, context, (key, default) reads


@dataclass
class Result:
    campaigns: int
    visitors: int  # a pass
    memo_size: int
    # Microseconds per visitor, one figure a pass.
    ours: list[float] = field(default_factory=list)  # create + synchronize + reads, new visitor
    returning: list[float] = field(default_factory=list)  # the same, decision from memory
    official: list[float] = field(default_factory=list)  # new_visitor + fetch_flags + reads
    merged: list[float] = field(default_factory=list)  # Bucket.decide + merge_flags
    decide: list[float] = field(default_factory=list)  # Bucket.decide
    agreed: int = 0
    compared: int = 0

    def ratios(self, column: str) -> list[float]:
        """Official over ``column``, pass by pass."""
        return [o / ours for o, ours in zip(self.official, getattr(self, column), strict=True)]


def _reads(flags: dict[str, tuple]) -> list[tuple[str, Any]]:
    """Up to :data:`READS` flags the visitor has, each with a default of its value's type."""
    present = [key for key in READ_ORDER if key in flags]
    return [(key, flags[key][0]) for key in present[:READS]]


#: The clock of the passes (``--clock``).
clock: Callable[[], int] = CLOCKS["cpu"]


def _per_visitor(run: Callable[[], None], visitors: int) -> float:
    gc.collect()
    gc.disable()
    try:
        start = clock()
        run()
        return (clock() - start) / visitors / 1000
    finally:
        gc.enable()


def official_pass(visits: list[Visit]) -> float:
    from flagship import Flagship as Official

    contexts = [dict(context) for _, context, _ in visits]  # the SDK may keep them

    def run() -> None:
        new_visitor = Official.new_visitor
        for (visitor_id, _, reads), context in zip(visits, contexts, strict=True):
            visitor = new_visitor(visitor_id, context=context)
            visitor.fetch_flags()
            for key, default in reads:
                visitor.get_flag(key, default).value(False)

    return _per_visitor(run, len(visits))


def ours_pass(client: Flagship, visits: list[Visit]) -> float:
    def run() -> None:
        create = client.create_visitor
        for visitor_id, context, reads in visits:
            visitor = create(visitor_id, context)
            visitor.synchronize_modifications()
            for key, default in reads:
                visitor.get_modification(key, default)

    return _per_visitor(run, len(visits))


def decide_pass(bucket: Bucket, visits: list[Visit], merge: bool) -> float:
    decide = bucket.decide

    def run() -> None:
        if merge:
            for visitor_id, context, _ in visits:
                merge_flags(decide(visitor_id, context))
        else:
            for visitor_id, context, _ in visits:
                decide(visitor_id, context)

    return _per_visitor(run, len(visits))


def agreement(sdk: OfficialSDK, client: Flagship, bucket: Bucket, visits: list[Visit]) -> int:
    """Visitors on whom the official SDK, the engine and the seed API all agree."""
    agreed = 0
    for visitor_id, context, _ in visits:
        official = sdk.flags(visitor_id, context)
        visitor = client.create_visitor(visitor_id, context)
        visitor.synchronize_modifications()
        seed = flag_rows(visitor.flags)
        if official == our_flags(bucket, visitor_id, context) == seed:
            agreed += 1
    return agreed


def measure(
    campaigns: int, visitors: int, passes: int, rng: random.Random, memo_off: bool = False
) -> Result:
    """``passes`` interleaved passes of each side over new visitors, per visitor."""
    total = visitors * (passes + 1)  # a slice a pass, and one to check agreement
    ids = [random_visitor_id(rng, n, style="uuid") for n in range(total)]
    data = agreeing_bucket(
        rng,
        campaigns,
        ids,
        variation_groups=(2, 3),
        targeting_groups=(1, 2),
        targetings=(1, 3),
        realistic=True,
    )
    bucket = Bucket.parse(data)
    visits: list[Visit] = []
    for visitor_id in ids:
        context = random_context(rng, visitor_id)
        visits.append((visitor_id, context, _reads(our_flags(bucket, visitor_id, context))))

    options: dict[str, Any] = {"decision_cache_size": 0} if memo_off else {}
    client = Flagship().start(
        Config(f"bench{campaigns}", mode=Mode.BUCKETING, **options),
        bucket_source=StaticBucketSource(bucket),
        tracker=MemoryTracker(maxlen=10_000),
    )
    memo_size = getattr(client.config, "decision_cache_size", 0) or 0
    # Fill the memory with returning visitors (two visits each: the second is
    # remembered), so that each remembered visit evicts the oldest entry.
    for n in range(memo_size):
        filler = f"filler-{n}-{rng.getrandbits(64):x}"
        context = random_context(rng, filler)
        for _ in range(2):
            client.create_visitor(filler, context).synchronize_modifications()

    result = Result(campaigns, visitors, memo_size)
    with OfficialSDK(data, env_id=f"bench{campaigns}") as sdk:
        check = visits[:visitors]
        result.agreed, result.compared = agreement(sdk, client, bucket, check), len(check)
        for p in range(passes):
            chunk = visits[visitors * (p + 1) : visitors * (p + 2)]
            if p % 2:
                result.ours.append(ours_pass(client, chunk))
                ours_pass(client, chunk)  # the second visit: now remembered
                result.returning.append(ours_pass(client, chunk))
                result.official.append(official_pass(chunk))
            else:
                result.official.append(official_pass(chunk))
                result.ours.append(ours_pass(client, chunk))
                ours_pass(client, chunk)
                result.returning.append(ours_pass(client, chunk))
            result.merged.append(decide_pass(bucket, chunk, merge=True))
            result.decide.append(decide_pass(bucket, chunk, merge=False))
    client.stop()
    return result


COLUMNS = [
    ("ours", "seed API, new visitor"),
    ("returning", "seed API, returning (from memory)"),
    ("merged", "decide + merge_flags"),
    ("decide", "decide alone"),
]


def summary(result: Result) -> dict[str, Any]:
    out: dict[str, Any] = {"official_us": spread(result.official)}
    for column, _ in COLUMNS:
        out[f"{column}_us"] = spread(getattr(result, column))
        out[f"{column}_ratio"] = spread(result.ratios(column))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--passes", type=int, default=PASSES)
    parser.add_argument(
        "--quick",
        action="store_true",
        help="2 passes of a few visitors: checks that everything runs, measures nothing",
    )
    parser.add_argument(
        "--memo-off",
        action="store_true",
        help="ours with the memory of decisions off (decision_cache_size=0)",
    )
    add_clock_argument(parser)
    parser.add_argument("--json", metavar="FILE", help="also write the figures to FILE")
    args = parser.parse_args(argv)
    global clock
    clock = CLOCKS[args.clock]
    sizes, passes = (QUICK_SIZES, 2) if args.quick else (SIZES, args.passes)

    rng = random.Random(424242)
    load = os.getloadavg()
    print(
        f"BUCKETING mode, microseconds a visitor ({args.clock} time, lower is better), median of "
        f"{passes} passes [IQR, min-max]; ratios: official / ours, pass by pass; "
        f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
    )
    print(
        "official = flagship 3.0.1 new_visitor + fetch_flags + reads; seed API = "
        "create_visitor + synchronize_modifications + reads, default configuration"
    )
    ok = True
    figures: dict[str, Any] = {
        "passes": passes,
        "clock": args.clock,
        "memo_off": args.memo_off,
        "load_average": load,
        "sizes": {},
    }
    for campaigns, visitors in sizes.items():
        result = measure(campaigns, visitors, passes, rng, args.memo_off)
        table = summary(result)
        figures["sizes"][str(campaigns)] = {
            **table,
            "visitors": visitors,
            "memo_size": result.memo_size,
            "agreed": result.agreed,
            "compared": result.compared,
            "raw_us": {k: v for k, v in asdict(result).items() if isinstance(v, list)},
        }
        target = TARGETS.get(campaigns)
        met = target is not None and table["ours_ratio"]["median"] >= target
        print(
            f"{campaigns} campaigns, {visitors} visitors a pass, memory of "
            f"{result.memo_size} decisions filled; agreement {result.agreed}/{result.compared}"
        )
        print(f"  {'official SDK':<34} {fmt(table['official_us'])}")
        for column, label in COLUMNS:
            print(
                f"  {label:<34} {fmt(table[f'{column}_us'])}   {fmt(table[f'{column}_ratio'], 'x')}"
            )
        if target is not None:
            print(
                f"  target: the seed API at least {target:.0f}x faster: "
                f"{'met' if met else 'NOT met'}"
            )
        ok = ok and result.agreed == result.compared
    end = os.getloadavg()
    figures["load_average_end"] = end
    print(
        f"every visitor agreeing: {'yes' if ok else 'NO'}; "
        f"load average {end[0]:.2f} {end[1]:.2f} {end[2]:.2f} at the end"
    )
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=1))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
