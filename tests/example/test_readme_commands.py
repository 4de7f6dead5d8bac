"""The README's commands, run as a new user would: in a fresh clone, from nothing.

``make run`` must create its own virtualenv, install, migrate, load the bundled
bucket and serve the home page; ``make test`` must be a target the clone knows
(running it here would run this suite inside itself). The clone holds what is
committed, so this checks what a ``git clone`` gets, not the working tree.

Needs git, make and a package index; without them the test is skipped, except
under ``CI=true``, where that is a failure.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
#: Installing Django and friends into a new virtualenv, then migrating.
START_DEADLINE = 300.0


def unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}; under CI=true the README commands must be tested", pytrace=False)
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def clean_environment() -> dict[str, str]:
    """The shell of a new user: none of this test run's Django, venv or Flagship variables."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("FLAGSHIP_", "DJANGO_", "PYTEST_", "EXAMPLE_"))
        and key not in {"VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "CACHE_URL", "DATABASE_URL"}
    }
    venv_bin = str(Path(sys.prefix) / "bin")
    env["PATH"] = os.pathsep.join(
        part for part in env.get("PATH", "").split(os.pathsep) if part != venv_bin
    )
    return env


@pytest.fixture(scope="module")
def fresh_clone(tmp_path_factory):
    for tool in ("git", "make"):
        if shutil.which(tool) is None:
            unavailable(f"{tool} is not installed")
    if not (REPO / ".git").exists():
        unavailable(f"{REPO} is not a git checkout")
    target = tmp_path_factory.mktemp("readme") / "django-flagship"
    subprocess.run(
        ["git", "clone", "--quiet", "--no-hardlinks", str(REPO), str(target)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return target


def wait_for_home(url: str, process: subprocess.Popen, log: Path) -> tuple[int, str]:
    deadline = time.monotonic() + START_DEADLINE
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"make run exited with {process.returncode}:\n{log.read_text()[-4000:]}")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return response.status, response.read().decode()
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.5)
    pytest.fail(f"{url} did not answer within {START_DEADLINE:.0f} s:\n{log.read_text()[-4000:]}")


@pytest.mark.slow
def test_make_run_serves_the_shop_from_a_fresh_clone(fresh_clone, tmp_path):
    port = free_port()
    log = tmp_path / "make-run.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            ["make", "run", f"PORT={port}"],
            cwd=fresh_clone,
            env=clean_environment(),
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        status, body = wait_for_home(f"http://127.0.0.1:{port}/", process, log)
    finally:
        # runserver's autoreloader has a child: stop the whole group.
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    assert status == 200
    # The shop itself, deciding from the bundled bucket: not an error page.
    assert "Buy" in body
    assert "Traceback" not in body
    # django-debug-toolbar and its Flagship panel, for this machine's requests.
    assert 'id="djdt-FlagshipPanel"' in body
    assert (fresh_clone / ".venv" / "bin" / "python").exists()
    output = log.read_text()
    assert "Log in as alice or bob" in output  # prepare_example ran: bucket and demo users


def test_make_test_is_a_target_of_the_clone(fresh_clone):
    """``make -n test`` lists what ``make test`` would run, without running it."""
    result = subprocess.run(
        ["make", "-n", "test"],
        cwd=fresh_clone,
        env=clean_environment(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "ruff check" in result.stdout
    assert "mypy" in result.stdout  # the typecheck target
    assert "pytest" in result.stdout
    assert "scripts/compat.sh" in result.stdout  # the other Python and Django pairs


def test_readme_gives_both_commands():
    readme = (REPO / "README.md").read_text()
    assert "make run" in readme
    assert "make test" in readme
