"""The clocks and the spread of a benchmark's repeated figures.

A median alone hides how much rounds disagree on a shared machine; each
figure is reported with the range that holds its middle half and the range of
all its rounds.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

__all__ = ["CLOCKS", "add_clock_argument", "fmt", "spread"]

#: Nanosecond clocks. ``cpu`` counts the time the process (all its threads)
#: ran, not the time other processes took the cores from it: on a shared
#: machine it is far steadier than ``wall``, and the benchmarks neither sleep
#: nor wait on the network while timing.
CLOCKS: dict[str, Callable[[], int]] = {"cpu": time.process_time_ns, "wall": time.perf_counter_ns}


def spread(values: list[float]) -> dict[str, float]:
    """Median, first and third quartiles, extremes and count of ``values`` (not empty)."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("no values")
    if len(ordered) > 1:
        q1, _, q3 = statistics.quantiles(ordered, n=4, method="inclusive")
    else:
        q1 = q3 = ordered[0]
    return {
        "median": statistics.median(ordered),
        "q1": q1,
        "q3": q3,
        "min": ordered[0],
        "max": ordered[-1],
        "n": len(ordered),
    }


def fmt(figure: dict[str, float], unit: str = "", digits: int = 1) -> str:
    """``median [IQR q1-q3, min-max]`` of a :func:`spread`."""

    def number(value: float) -> str:
        return f"{value:.{digits}f}"

    return (
        f"{number(figure['median'])}{unit} [IQR {number(figure['q1'])}-{number(figure['q3'])}, "
        f"{number(figure['min'])}-{number(figure['max'])}]"
    )


def add_clock_argument(parser: argparse.ArgumentParser) -> None:
    """``--clock cpu|wall``, ``cpu`` by default."""
    parser.add_argument(
        "--clock",
        choices=sorted(CLOCKS),
        default="cpu",
        help="cpu: the process's CPU time (steady on a shared machine); wall: elapsed time",
    )
