"""Async flag reads in DECISION_API mode under uvicorn, against the event loop's own ceiling.

Run: ``.venv/bin/python benchmarks/async_decision_api.py`` (``make bench``).

A loopback Decision API (``loopback_decision_api.py``) answers every call
after ``--latency`` seconds (50 ms). uvicorn (1 worker, asyncio loop, h11)
serves ``async_decision_api_site``: ``/flag`` reads one flag with ``await
request.flags.aget(...)`` (one Decision API call), ``/sleep`` awaits
``asyncio.sleep`` for the same latency and calls nothing (the event-loop
baseline), ``/plain`` answers at once (the server's ceiling). A load generator
of ``--concurrency`` keep-alive connections, one coroutine each, sends GETs
for a bounded time and count; the phases alternate over the rounds and the
best round of each is kept. A flag read whose Decision API call runs in a
thread pool is capped at pool size / latency; a native async call should
come close to the ``/sleep`` baseline, which only the server's CPU bounds.
Target: ``/flag`` at least half the ``/sleep`` baseline's requests/s, with
exactly one Decision API call per ``/flag`` request.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

try:  # imported by the tests, as benchmarks.async_decision_api
    from .decision_api import free_port
    from .loopback_decision_api import LoopbackDecisionApi
except ImportError:  # run as a script: benchmarks/ is the first path entry
    from decision_api import free_port
    from loopback_decision_api import LoopbackDecisionApi

ROOT = Path(__file__).resolve().parent.parent
PHASES = (("plain", "/plain"), ("sleep", "/sleep"), ("flag", "/flag"))
LABELS = {
    "plain": "async view, no wait (ceiling)",
    "sleep": "async view, asyncio.sleep (baseline)",
    "flag": "async view, await aget() (DECISION_API)",
}


def start_server(
    port: int,
    api_url: str,
    latency: float,
    *,
    settings: str = "async_decision_api_site",
    env: dict[str, str] | None = None,
    **popen: Any,
) -> subprocess.Popen:
    """uvicorn serving ``settings`` (the benchmark's site, or one built on it)."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("FLAGSHIP_", "DJANGO_"))}
    environ.update(
        DJANGO_SETTINGS_MODULE=settings,
        BENCH_DECISION_API_URL=api_url,
        BENCH_LATENCY=str(latency),
        PYTHONPATH=os.pathsep.join([str(ROOT / "benchmarks"), str(ROOT)]),
        **(env or {}),
    )
    command = [
        sys.executable, "-m", "uvicorn",
        "--factory", "django.core.asgi:get_asgi_application",
        "--host", "127.0.0.1",
        "--port", str(port),
        "--workers", "1",
        "--loop", "asyncio",
        "--http", "h11",
        "--lifespan", "off",
        "--no-access-log",
        "--log-level", "warning",
        "--timeout-keep-alive", "30",
        "--backlog", "2048",
    ]  # fmt: skip
    return subprocess.Popen(command, cwd=ROOT, env=environ, **popen)


async def get(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, path: str
) -> tuple[int, bytes]:
    """One GET on a keep-alive connection: the status and the body (sized or chunked)."""
    writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    headers = {}
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        headers[name.strip().lower()] = value.strip()
    if b"content-length" in headers:
        return status, await reader.readexactly(int(headers[b"content-length"]))
    chunks = []
    while size := int((await reader.readuntil(b"\r\n")).strip(), 16):
        chunks.append(await reader.readexactly(size))
        await reader.readexactly(2)
    await reader.readexactly(2)
    return status, b"".join(chunks)


async def wait_ready(port: int, server: subprocess.Popen, deadline: float = 30.0) -> None:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if server.poll() is not None:
            raise SystemExit(f"uvicorn exited with {server.returncode}")
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            try:
                for path in ("/plain", "/flag"):
                    status, _ = await get(reader, writer, path)
                    if status != 200:
                        raise OSError(f"{path} answered {status}")
                return
            finally:
                writer.close()
        except (OSError, asyncio.IncompleteReadError):
            await asyncio.sleep(0.2)
    raise SystemExit("uvicorn did not become ready in time")


async def load(
    port: int, path: str, *, concurrency: int, requests: int, seconds: float
) -> dict[str, float]:
    """At most ``requests`` GETs within ``seconds`` over ``concurrency`` connections."""
    left = [requests]
    latencies: list[float] = []
    errors = [0]
    stop_at = time.monotonic() + seconds

    async def connection(index: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        sent = 0
        try:
            while left[0] > 0 and time.monotonic() < stop_at:
                left[0] -= 1
                visitor = f"v{index}-{sent}"
                sent += 1
                start = time.perf_counter()
                try:
                    status, _ = await asyncio.wait_for(
                        get(reader, writer, f"{path}?v={visitor}"), 30
                    )
                except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError):
                    errors[0] += 1
                    return
                latencies.append((time.perf_counter() - start) * 1000)
                errors[0] += status != 200
        finally:
            writer.close()

    began = time.perf_counter()
    await asyncio.gather(*(connection(i) for i in range(concurrency)))
    elapsed = time.perf_counter() - began
    latencies.sort()
    count = len(latencies)
    return {
        "requests": count,
        "errors": errors[0],
        "rps": count / elapsed if elapsed else 0.0,
        "p50": statistics.median(latencies) if latencies else float("nan"),
        "p99": latencies[min(count - 1, int(count * 0.99))] if latencies else float("nan"),
    }


async def run(args: argparse.Namespace) -> int:
    api = LoopbackDecisionApi(args.latency).start()
    port = free_port()
    server = start_server(port, api.url, args.latency)
    results: dict[str, list[dict[str, float]]] = {name: [] for name, _ in PHASES}
    calls_ok = True
    try:
        await wait_ready(port, server)
        for _ in range(args.rounds):
            for name, path in PHASES:
                before = api.calls
                result = await load(
                    port,
                    path,
                    concurrency=args.concurrency,
                    requests=args.requests,
                    seconds=args.seconds,
                )
                result["calls"] = api.calls - before
                if name == "flag" and result["calls"] != result["requests"]:
                    calls_ok = False
                results[name].append(result)
    finally:
        server.terminate()
        server.wait(timeout=10)
        api.close()

    pool = min(32, (os.cpu_count() or 1) + 4)
    print(
        f"uvicorn 1 worker (asyncio, h11), {args.concurrency} keep-alive connections; "
        f"Decision API latency {args.latency * 1000:.0f} ms; {os.cpu_count()} cores; "
        f"a thread pool of {pool} would cap /flag at {pool / args.latency:.0f} req/s"
    )
    columns = ("requests", "errors", "API calls", "req/s", "p50 ms", "p99 ms")
    print(f"{'view':<42}" + "".join(f"{c:>11}" for c in columns))
    best = {}
    for name, _ in PHASES:
        best[name] = r = max(results[name], key=lambda r: r["rps"])
        print(
            f"{LABELS[name]:<42}{r['requests']:>11}{r['errors']:>11}{r['calls']:>11}"
            f"{r['rps']:>11.0f}{r['p50']:>11.1f}{r['p99']:>11.1f}"
        )
    ratio = best["flag"]["rps"] / best["sleep"]["rps"] if best["sleep"]["rps"] else 0.0
    verdict = "meets" if ratio >= 0.5 else "MISSES"
    print(f"/flag / /sleep baseline: {ratio:.0%} ({verdict} the 50% target)")
    print(f"/flag over the thread-pool cap: {best['flag']['rps'] / (pool / args.latency):.1f}x")
    print(
        "one Decision API call per /flag request: "
        + ("yes" if calls_ok else "NO (see the API calls column)")
    )
    failed = sum(r["errors"] for rounds in results.values() for r in rounds)
    if failed:
        print(f"errors: {failed}")
    return 1 if failed or not calls_ok else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.05, help="Decision API delay (s)")
    parser.add_argument("--concurrency", type=int, default=100, help="client connections")
    parser.add_argument("--requests", type=int, default=20_000, help="per phase, at most")
    parser.add_argument("--seconds", type=float, default=5.0, help="per phase, at most")
    parser.add_argument("--rounds", type=int, default=3)
    return asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
