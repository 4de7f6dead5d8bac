"""BUCKETING mode: time to synchronize one visitor, ours against the official SDK.

For a bucketing file of 20 and of 200 campaigns (two or three variation
groups each, targeting on several keys, partial allocations in the last
group), in the same run:

* ours: ``Visitor.synchronize_modifications()`` of a started
  ``Flagship`` client in BUCKETING mode (decide, merge the flags, queue the
  SEGMENT hit on an in-memory tracker), and its two inner steps alone:
  ``Bucket.decide`` then ``merge_flags``, and ``Bucket.decide``;
* official: ``visitor.fetch_flags()`` of ``flagship==3.0.1`` in BUCKETING
  mode, offline (it also queues its SEGMENT hit).

On both sides visitor objects are created outside the timing, anew for each
pass.

Visitor ids are random UUIDs and the ids in the file have Flagship's 20
characters. Both sides get the same visitors and contexts; their flags are
compared. Each side runs several passes over all the visitors and the best
pass counts (the usual way to filter out noise from other processes). Prints
microseconds per visitor, the ratio and the agreement count. Exits with
status 1 when a visitor disagrees or the ratio is under the target.

Run with ``make bench``.
"""

from __future__ import annotations

import gc
import os
import random
import sys
import time
from dataclasses import dataclass

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks.official import (
    OfficialSDK,
    agreeing_bucket,
    our_flags,
    random_context,
    random_visitor_id,
)
from django_flagship.sdk import Config, Flagship, Mode
from django_flagship.sdk.bucket_source import StaticBucketSource
from django_flagship.sdk.bucketing import Bucket
from django_flagship.sdk.model import merge_flags
from django_flagship.sdk.tracking import MemoryTracker

__all__ = ["Result", "main", "measure"]

TARGET_RATIO = 25.0
SIZES = {20: 1000, 200: 200}  # campaigns: visitors
PASSES = 5  # per side; the best pass counts


@dataclass
class Result:
    ours: float  # microseconds per visitor: Visitor.synchronize_modifications()
    merged: float  # decide + merge_flags
    decide: float  # decide alone
    official: float  # fetch_flags
    agreed: int
    visitors: int


def measure(campaigns: int, visitors: int, rng: random.Random) -> Result:
    """Best pass of each side, in microseconds per visitor, and the agreement."""
    ids = [random_visitor_id(rng, n, style="uuid") for n in range(visitors)]
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
    contexts = [(visitor_id, random_context(rng, visitor_id)) for visitor_id in ids]

    agreed = 0
    official_ns = []
    with OfficialSDK(data, env_id=f"bench{campaigns}") as sdk:
        for attempt in range(PASSES):
            elapsed = 0
            for visitor_id, context in contexts:
                visitor = sdk.visitor(visitor_id, context)  # untimed
                gc.disable()
                start = time.perf_counter_ns()
                visitor.fetch_flags()
                elapsed += time.perf_counter_ns() - start
                gc.enable()
                if attempt == 0 and sdk.fetch(visitor) == our_flags(bucket, visitor_id, context):
                    agreed += 1
            official_ns.append(elapsed)

    # No memory of decisions: the passes meet the same visitors again, and the
    # official SDK is timed computing every decision, so ours computes them too.
    client = Flagship().start(
        Config(f"bench{campaigns}", mode=Mode.BUCKETING, decision_cache_size=0),
        bucket_source=StaticBucketSource(bucket),
        tracker=MemoryTracker(maxlen=visitors),
    )
    decide = bucket.decide
    ours_ns, merged_ns, decide_ns = [], [], []
    for _ in range(PASSES):
        ours = [client.create_visitor(visitor_id, context) for visitor_id, context in contexts]
        gc.collect()
        gc.disable()
        start = time.perf_counter_ns()
        for visitor in ours:
            visitor.synchronize_modifications()
        ours_ns.append(time.perf_counter_ns() - start)
        start = time.perf_counter_ns()
        for visitor_id, context in contexts:
            merge_flags(decide(visitor_id, context))
        merged_ns.append(time.perf_counter_ns() - start)
        start = time.perf_counter_ns()
        for visitor_id, context in contexts:
            decide(visitor_id, context)
        decide_ns.append(time.perf_counter_ns() - start)
        gc.enable()
    per_visitor = visitors * 1000
    return Result(
        ours=min(ours_ns) / per_visitor,
        merged=min(merged_ns) / per_visitor,
        decide=min(decide_ns) / per_visitor,
        official=min(official_ns) / per_visitor,
        agreed=agreed,
        visitors=visitors,
    )


def main() -> int:
    rng = random.Random(424242)
    print("BUCKETING mode, microseconds per visitor to synchronize (lower is better)")
    print(
        "ours = Visitor.synchronize_modifications(); official = flagship 3.0.1 "
        "visitor.fetch_flags()"
    )
    print(
        f"{'campaigns':>9} {'ours':>8} {'official':>9} {'ratio':>7}"
        f"   {'decide+merge':>12} {'ratio':>7}   {'decide':>7} {'ratio':>7}   agreement"
    )
    ok = True
    for campaigns, visitors in SIZES.items():
        r = measure(campaigns, visitors, rng)
        ratio = r.official / r.ours
        print(
            f"{campaigns:>9} {r.ours:>8.1f} {r.official:>9.1f} {ratio:>6.1f}x"
            f"   {r.merged:>12.1f} {r.official / r.merged:>6.1f}x"
            f"   {r.decide:>7.1f} {r.official / r.decide:>6.1f}x   {r.agreed}/{r.visitors}"
        )
        ok = ok and r.agreed == r.visitors and ratio >= TARGET_RATIO
    print(f"target: ours at least {TARGET_RATIO:.0f}x faster, every visitor agreeing: ", end="")
    print("met" if ok else "NOT met")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
