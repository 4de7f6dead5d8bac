"""The README's "Flags without a Flagship account", done as a new user would.

A ``django-admin startproject`` site in a temporary directory gets exactly the
README's lines (read from README.md, not copied here): its settings, its URL,
its template, ``migrate`` and the one command that creates the first flag.
The page then shows the flag's branch of ``{% ifflag %}``; before the command
it showed the other one. Then the README's debugging tools on that same site:
``flagship_decide`` explains the flag, and the debug-toolbar panel, added with
the README's own lines, shows it for the page's request.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import ROOT

SECTION = "## Flags without a Flagship account"
TOOLBAR_SECTION = "## The debug-toolbar panel"
PANEL = (
    "import re; "
    "from django.test.utils import setup_test_environment; setup_test_environment(); "
    "from django.test import Client; client = Client(); "
    "page = client.get('/').content.decode(); "
    "request_id = re.search(r'data-request-id=\"([0-9a-f]+)\"', page).group(1); "
    "print(page); print('PANEL:'); "
    "print(client.get('/__debug__/render_panel/', "
    "{'request_id': request_id, 'panel_id': 'FlagshipPanel'}).json()['content'])"
)
RENDER = (
    "from django.test.utils import setup_test_environment; setup_test_environment(); "
    "from django.test import Client; print(Client().get('/').content.decode())"
)


def readme_blocks(heading=SECTION):
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split(heading, 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```(\w+)\n(.*?)```", section, re.DOTALL)


def command_lines(code):
    for line in code.splitlines():
        line = line.split("  #", 1)[0].strip()
        if line and not line.startswith("pip "):
            yield line


def run(argv, cwd, env):
    result = subprocess.run(
        argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, f"{argv}\n{result.stdout}\n{result.stderr}"
    return result.stdout


def shell(line, cwd, env):
    """A README command line, with this interpreter as ``python`` and ``django-admin``."""
    for part in line.split("&&"):
        words = part.split()
        if words[0] == "cd":
            cwd = cwd / words[1]
            continue
        if words[0] == "python":
            words = [sys.executable, *words[1:]]
        elif words[0] == "django-admin":
            words = [sys.executable, "-m", "django", *words[1:]]
        run(words, cwd, env)
    return cwd


@pytest.fixture
def new_user_env():
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("FLAGSHIP_", "DJANGO_", "PYTEST_"))
    }
    env["PYTHONPATH"] = str(ROOT)
    return env


def test_the_readme_takes_a_startproject_site_to_its_first_flag(tmp_path, new_user_env):
    blocks = readme_blocks()
    kinds = [kind for kind, _code in blocks]
    assert kinds[:5] == ["sh", "python", "python", "django", "sh"], kinds
    (_, setup), (_, settings_lines), (_, urls_lines), (_, template), (_, commands) = blocks[:5]

    site = tmp_path
    for line in command_lines(setup):
        site = shell(line, site, new_user_env)
    assert (site / "manage.py").exists()

    for code, target in ((settings_lines, "mysite/settings.py"), (urls_lines, "mysite/urls.py")):
        first, rest = code.split("\n", 1)
        assert first.startswith(f"# {target}")
        with (site / target).open("a", encoding="utf-8") as fh:
            fh.write("\n" + rest)
    first, rest = template.split("\n", 1)
    assert first == "{# templates/home.html #}"
    (site / "templates").mkdir()
    (site / "templates" / "home.html").write_text(rest, encoding="utf-8")

    lines = list(command_lines(commands))
    assert lines[-1].startswith("python manage.py flagship_flag create vip_feature")
    for line in lines[:-1]:
        shell(line, site, new_user_env)
    before = run([sys.executable, "manage.py", "shell", "-c", RENDER], site, new_user_env)
    assert "<p>Join VIP</p>" in before

    shell(lines[-1], site, new_user_env)  # the one command
    after = run([sys.executable, "manage.py", "shell", "-c", RENDER], site, new_user_env)
    assert "<p>Welcome, VIP</p>" in after
    checked = run([sys.executable, "manage.py", "check"], site, new_user_env)
    assert "no issues" in checked
    assert Path(site / "db.sqlite3").exists()


def append_block(site, code, target):
    """Append a README block's lines under its ``# target`` comment to ``target``."""
    with (site / target).open("a", encoding="utf-8") as fh:
        fh.write("\n" + code)


def test_the_first_flag_is_explained_by_the_command_and_the_toolbar(tmp_path, new_user_env):
    """The judged first hour: shows a flag, explains it, shows it in the panel."""
    blocks = readme_blocks()
    (_, setup), (_, settings_lines), (_, urls_lines), (_, template), (_, commands) = blocks[:5]
    site = tmp_path
    for line in command_lines(setup):
        site = shell(line, site, new_user_env)
    for code in (settings_lines, urls_lines):
        first, rest = code.split("\n", 1)
        append_block(site, rest, first.split()[1].rstrip(","))
    (site / "templates").mkdir()
    (site / "templates" / "home.html").write_text(template.split("\n", 1)[1], encoding="utf-8")
    for line in command_lines(commands):
        shell(line, site, new_user_env)

    explained = run(
        [sys.executable, "manage.py", "flagship_decide", "--visitor", "visitor-1"],
        site,
        new_user_env,
    )
    assert "vip_feature" in explained
    assert "compiled from the campaigns authored here" in explained
    assert "downloaded from Flagship" not in explained
    assert "vip_feature  true" in explained
    assert "is_authenticated" in explained  # the context a request would have

    ((_, install), (_, toolbar)) = readme_blocks(TOOLBAR_SECTION)[:2]
    assert "debug-toolbar" in install
    toolbar_settings, toolbar_urls = toolbar.split("# urls.py\n", 1)
    append_block(site, toolbar_settings, "mysite/settings.py")
    append_block(site, toolbar_urls, "mysite/urls.py")
    output = run([sys.executable, "manage.py", "shell", "-c", PANEL], site, new_user_env)
    page, panel = output.split("PANEL:", 1)
    assert "<p>Welcome, VIP</p>" in page
    assert "1 flag read" in page
    assert 'data-flag="vip_feature"' in panel
    assert "vip_feature" in panel
