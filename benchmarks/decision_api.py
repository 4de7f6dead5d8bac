"""Throughput and latency of the served Decision API under gunicorn.

Run: ``.venv/bin/python benchmarks/decision_api.py`` (``make bench``).

gunicorn (2 workers, threaded, 127.0.0.1, a free port) serves a settings
module of the benchmark's own with a generated 50-campaign bucket. A load
generator of threads, each on one keep-alive ``http.client`` connection,
posts SDK-like bodies to ``POST v2/<env>/campaigns/?exposeAllKeys=true``,
then the same bodies to a trivial JSON view on the same server: the ceiling.
Each phase is bounded in requests and seconds; the phases alternate and the
best round of each is kept. Target: at least 50% of the ceiling's requests/s.
"""

from __future__ import annotations

import argparse
import collections
import http.client
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ENV_ID, API_KEY = "bench-env", "bench-key"
DECISION_PATH = f"/decision-api/v2/{ENV_ID}/campaigns/?exposeAllKeys=true"
CEILING_PATH = "/ceiling"


def bucket(campaigns: int, seed: int = 7) -> dict:
    """A bucketing file like real ones: targeting on context, A/B splits, nulls."""
    rng = random.Random(seed)
    items = []
    for c in range(campaigns):
        groups = []
        for g in range(rng.randint(1, 2)):
            condition = rng.choice(
                [
                    {"key": "fs_all_users", "operator": "EQUALS", "value": ""},
                    {"key": "age", "operator": "GREATER_THAN", "value": rng.randint(18, 60)},
                    {"key": "plan", "operator": "EQUALS", "value": ["pro", "enterprise"]},
                    {"key": "country", "operator": "NOT_EQUALS", "value": "fr"},
                ]
            )
            count = rng.randint(2, 3)
            variations = [
                {
                    "id": f"c{c}g{g}v{v}",
                    "name": f"variation {v}",
                    "reference": v == 0,
                    "allocation": 100 // count + (100 % count if v == 0 else 0),
                    "modifications": {
                        "type": "FLAG",
                        "value": {f"flag{c}": None if v == 0 else f"value-{v}", f"size{c}": v},
                    },
                }
                for v in range(count)
            ]
            groups.append(
                {
                    "id": f"c{c}g{g}",
                    "name": f"group {g}",
                    "targeting": {"targetingGroups": [{"targetings": [condition]}]},
                    "variations": variations,
                }
            )
        items.append(
            {"id": f"c{c}", "name": f"campaign {c}", "type": "ab", "variationGroups": groups}
        )
    return {"panic": False, "accountSettings": {"enabled1V1T": False}, "campaigns": items}


def bodies(count: int, seed: int = 11) -> list[bytes]:
    """What the SDK's DECISION_API mode posts, for ``count`` different visitors."""
    rng = random.Random(seed)
    out = []
    for i in range(count):
        context = {
            "fs_client": "python",
            "fs_version": "3.0.1",
            "age": rng.randint(15, 80),
            "plan": rng.choice(["free", "pro", "enterprise"]),
            "country": rng.choice(["fr", "de", "us"]),
        }
        body = {
            "visitorId": f"visitor-{i}",
            "anonymousId": None,
            "visitor_consent": True,
            "trigger_hit": False,
            "context": context,
        }
        out.append(json.dumps(body).encode())
    return out


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(port: int, bucket_file: str, threads: int) -> subprocess.Popen:
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="decision_api_site",
        BENCH_BUCKET_FILE=bucket_file,
        PYTHONPATH=os.pathsep.join([str(ROOT / "benchmarks"), str(ROOT)]),
    )
    command = [
        sys.executable, "-m", "gunicorn",
        "--workers", "2",
        "--worker-class", "gthread",
        "--threads", str(threads),
        "--bind", f"127.0.0.1:{port}",
        "--keep-alive", "30",
        "--log-level", "warning",
        "django.core.wsgi:get_wsgi_application()",
    ]  # fmt: skip
    return subprocess.Popen(command, cwd=ROOT, env=env)


def wait_ready(port: int, server: subprocess.Popen, body: bytes, deadline: float = 30.0) -> None:
    """Until both paths answer 200 (each worker loads the bucket on first use)."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if server.poll() is not None:
            raise SystemExit(f"gunicorn exited with {server.returncode}")
        try:
            for _ in range(8):
                for path in (DECISION_PATH, CEILING_PATH):
                    status, _ = request_once(port, path, body)
                    if status != 200:
                        raise OSError(f"{path} answered {status}")
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("the server did not become ready in time")


def request_once(port: int, path: str, body: bytes) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("POST", path, body, headers(len(body)))
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def headers(length: int) -> dict[str, str]:
    return {"Content-Type": "application/json", "x-api-key": API_KEY, "Content-Length": str(length)}


def load(
    port: int, path: str, payloads: list[bytes], *, threads: int, requests: int, seconds: float
) -> dict[str, float]:
    """Send at most ``requests`` requests within ``seconds``; latencies in ms."""
    counter = iter(range(requests))
    lock = threading.Lock()
    latencies: list[float] = []
    errors = [0]
    reasons: collections.Counter[str] = collections.Counter()
    stop_at = time.monotonic() + seconds

    def worker() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        mine: list[float] = []
        failures = 0
        while time.monotonic() < stop_at:
            with lock:
                index = next(counter, None)
            if index is None:
                break
            payload = payloads[index % len(payloads)]
            start = time.perf_counter()
            try:
                conn.request("POST", path, payload, headers(len(payload)))
                response = conn.getresponse()
                response.read()
                ok = response.status == 200
                if not ok:
                    with lock:
                        reasons[f"HTTP {response.status}"] += 1
            except (OSError, http.client.HTTPException) as exc:
                ok = False
                with lock:
                    reasons[type(exc).__name__] += 1
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            mine.append((time.perf_counter() - start) * 1000)
            failures += not ok
        conn.close()
        with lock:
            latencies.extend(mine)
            errors[0] += failures

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    began = time.perf_counter()
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    elapsed = time.perf_counter() - began
    latencies.sort()
    count = len(latencies)
    return {
        "requests": count,
        "errors": errors[0],
        "reasons": dict(reasons),
        "rps": count / elapsed if elapsed else 0.0,
        "p50": statistics.median(latencies) if latencies else float("nan"),
        "p99": latencies[min(count - 1, int(count * 0.99))] if latencies else float("nan"),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--campaigns", type=int, default=50)
    parser.add_argument("--threads", type=int, default=8, help="load generator threads")
    parser.add_argument("--requests", type=int, default=20_000, help="per phase, at most")
    parser.add_argument("--seconds", type=float, default=8.0, help="per phase, at most")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    payloads = bodies(1000)
    with tempfile.TemporaryDirectory() as tmp:
        bucket_file = os.path.join(tmp, "bucketing.json")
        with open(bucket_file, "w", encoding="utf-8") as fh:
            json.dump(bucket(args.campaigns), fh)
        port = free_port()
        server = start_server(port, bucket_file, threads=args.threads // 2 or 1)
        try:
            wait_ready(port, server, payloads[0])
            _, sample = request_once(port, DECISION_PATH, payloads[0])
            campaigns = len(json.loads(sample)["campaigns"])
            results: dict[str, list[dict[str, float]]] = {"ceiling": [], "decision": []}
            for _ in range(args.rounds):
                for name, path in (("ceiling", CEILING_PATH), ("decision", DECISION_PATH)):
                    results[name].append(
                        load(
                            port,
                            path,
                            payloads,
                            threads=args.threads,
                            requests=args.requests,
                            seconds=args.seconds,
                        )
                    )
        finally:
            server.terminate()
            server.wait(timeout=10)

    print(
        f"gunicorn 2 workers (gthread), {args.threads} client threads, keep-alive; "
        f"bucket of {args.campaigns} campaigns, {campaigns} assigned to the first visitor"
    )
    columns = ("requests", "errors", "req/s", "p50 ms", "p99 ms")
    print(f"{'endpoint':<30}" + "".join(f"{c:>10}" for c in columns))
    best = {}
    labels = (("ceiling", "trivial JSON view (ceiling)"), ("decision", "POST v2/<env>/campaigns/"))
    for name, label in labels:
        best[name] = max(results[name], key=lambda r: r["rps"])
        r = best[name]
        print(
            f"{label:<30}{r['requests']:>10}{r['errors']:>10}{r['rps']:>10.0f}"
            f"{r['p50']:>10.2f}{r['p99']:>10.2f}"
        )
    ratio = best["decision"]["rps"] / best["ceiling"]["rps"]
    verdict = "meets" if ratio >= 0.5 else "MISSES"
    print(f"decision / ceiling: {ratio:.0%} ({verdict} the 50% target)")
    failed = [
        (name, round_["reasons"])
        for name, rounds in results.items()
        for round_ in rounds
        if round_["errors"]
    ]
    for name, reasons in failed:
        print(f"errors in a {name} round: {reasons}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
