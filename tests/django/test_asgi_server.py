"""An async site under uvicorn in DECISION_API mode, against a slow loopback Decision API.

uvicorn (1 worker, asyncio loop) serves ``tests/django/asgi_site.py``; the
Decision API answers each call after :data:`DELAY`. Fifty flag requests sent
at once (``aget``, ``@flag_required``, ``FlagRequiredMixin``) must all wait
for Flagship together and finish in about one delay, not in delay * 50 / the
size of a thread pool, with one call each; ``/plain`` meanwhile answers at
once. At Ctrl-C the process closes its connections to the Decision API
before it exits.
"""

import asyncio
import signal
import subprocess
import time

import pytest

from benchmarks.async_decision_api import get, start_server
from benchmarks.decision_api import free_port
from benchmarks.loopback_decision_api import LoopbackDecisionApi

#: The Decision API's answer time, in seconds.
DELAY = 1.0
REQUESTS = 50
PATHS = ("/flag", "/vip", "/vip-class")


def start_uvicorn(port, api_url):
    return start_server(
        port,
        api_url,
        DELAY,
        settings="tests.django.asgi_site",
        env={
            "FLAGSHIP_TEST_LINGER_AT_EXIT": "1.0",
            # Any connection or session left unclosed says so on stderr.
            "PYTHONWARNINGS": "always::ResourceWarning",
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


async def request(port, path):
    """One GET on a new connection: ``(status, body, seconds)``."""
    began = time.perf_counter()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        status, body = await asyncio.wait_for(get(reader, writer, path), 30)
    finally:
        writer.close()
    return status, body, time.perf_counter() - began


async def wait_ready(port, server):
    for _ in range(300):
        if server.poll() is not None:
            pytest.fail(f"uvicorn exited with {server.returncode}: {server.stdout.read()}")
        try:
            if (await request(port, "/plain"))[0] == 200:
                return
        except OSError:
            pass
        await asyncio.sleep(0.1)
    pytest.fail("uvicorn did not answer /plain within 30 s")


@pytest.fixture
def served():
    with LoopbackDecisionApi(DELAY) as api:
        port = free_port()
        server = start_uvicorn(port, api.url)
        try:
            asyncio.run(wait_ready(port, server))
            yield api, port, server
        finally:
            if server.poll() is None:
                server.kill()
                server.wait(10)


def test_fifty_flag_requests_wait_for_the_decision_api_together(served):
    api, port, server = served

    async def run():
        await request(port, "/flag?v=warm-up")  # the process's first call: aiohttp loads
        before = api.calls
        flagged = [
            asyncio.ensure_future(request(port, f"{PATHS[i % 3]}?v=visitor-{i}"))
            for i in range(REQUESTS)
        ]
        began = time.perf_counter()
        pings = []
        while not all(task.done() for task in flagged):
            pings.append((await request(port, "/plain"))[2])
            await asyncio.sleep(0.05)
        results = await asyncio.gather(*flagged)
        return results, time.perf_counter() - began, pings, api.calls - before

    results, elapsed, pings, calls = asyncio.run(run())
    assert [status for status, _, _ in results] == [200] * REQUESTS
    answers = {(PATHS[i % 3], body) for i, (_, body, _) in enumerate(results)}
    assert answers == {
        ("/flag", b'{"vip": true}'),
        ("/vip", b"vip"),
        ("/vip-class", b"vip class"),
    }
    # A thread pool of 6 (2 cores) would take DELAY * 50 / 6, about 8.3 s.
    assert elapsed < 2.5 * DELAY, f"{REQUESTS} flag requests took {elapsed:.2f} s"
    assert api.max_in_flight == REQUESTS  # all of them waited on Flagship at once
    assert calls == REQUESTS  # one Decision API call per request, none lost or doubled
    assert len(pings) >= 5
    assert max(pings) < DELAY / 2, f"/plain took up to {max(pings):.2f} s meanwhile"

    assert api.open_connections > 0  # kept alive for the next requests
    # SIGINT: uvicorn shuts down gracefully, then the loop shuts down. (After
    # a SIGTERM, plain uvicorn ends the process by that signal once its own
    # shutdown is done, before the loop's: the OS closes the sockets then.)
    server.send_signal(signal.SIGINT)
    # Closed by the shutdown, while the process lingers at exit: not by its death.
    assert api.wait_for(lambda: api.open_connections == 0 or server.poll() is not None, 10)
    assert server.poll() is None, "the connections were still open when the process ended"
    assert api.open_connections == 0
    output, _ = server.communicate(timeout=30)
    assert server.returncode == 0, output
    assert "unclosed" not in output.lower(), output
    assert "Traceback" not in output, output
