"""``benchmarks/async_decision_api.py`` runs end to end, briefly, and reports every row."""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_a_short_run_reports_each_view_and_one_call_per_flag_request():
    command = [
        sys.executable,
        str(ROOT / "benchmarks" / "async_decision_api.py"),
        "--latency", "0.02",
        "--concurrency", "8",
        "--requests", "150",
        "--seconds", "1",
        "--rounds", "1",
    ]  # fmt: skip
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    rows = {}
    for line in done.stdout.splitlines():
        match = re.match(r"(async view, .+?)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s", line)
        if match:
            rows[match[1]] = tuple(int(n) for n in match.groups()[1:])
    assert set(rows) == {
        "async view, no wait (ceiling)",
        "async view, asyncio.sleep (baseline)",
        "async view, await aget() (DECISION_API)",
    }
    requests, errors, calls, per_second = rows["async view, await aget() (DECISION_API)"]
    assert requests > 0
    assert errors == 0
    assert calls == requests
    assert per_second > 0
    assert rows["async view, asyncio.sleep (baseline)"][2] == 0  # the baseline calls nothing
    assert "one Decision API call per /flag request: yes" in done.stdout
    assert re.search(r"/flag / /sleep baseline: \d+%", done.stdout)
