"""The README's served Decision API example, run as the README shows it.

Its ``urls.py`` becomes the URL configuration, its ``settings.py`` lines are
applied over a fresh site's settings (plus the bucket the README says the app
needs), and its ``curl`` command is sent, as written, to a live server.
"""

from __future__ import annotations

import json
import re
import shlex
import sys
import types
from pathlib import Path
from typing import Any

import pytest
import requests
from django.core.cache import caches

from django_flagship import client as flagship_client

from .conftest import bucket_data

README = Path(__file__).resolve().parents[2] / "README.md"
SECTION = "## The Decision API, served by your site"
URLCONF = "tests.decision_api._readme_urls"


def section() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index(SECTION)
    end = text.find("\n## ", start + len(SECTION))
    return text[start : end if end != -1 else None]


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", section(), flags=re.S)


def readme_settings() -> dict[str, object]:
    """The ``FLAGSHIP_*`` names the section's ``# settings.py`` block sets."""
    found = [block for block in blocks("python") if block.startswith("# settings.py")]
    assert len(found) == 1, f"the README's {SECTION!r} shows no '# settings.py' block"
    (code,) = found
    namespace: dict[str, object] = {}
    exec(compile(code, "README.md", "exec"), namespace)
    return {name: value for name, value in namespace.items() if name.startswith("FLAGSHIP_")}


def install_readme_urls() -> None:
    (code,) = [block for block in blocks("python") if block.startswith("# urls.py")]
    module = types.ModuleType(URLCONF)
    exec("from django.urls import include, path\n", module.__dict__)
    exec(compile(code, "README.md", "exec"), module.__dict__)
    sys.modules[URLCONF] = module


def curl_request(base_url: str) -> dict[str, Any]:
    """The section's ``curl`` command as ``requests.request`` arguments (-X, -H, -d)."""
    (command,) = blocks("sh")
    words = shlex.split(command.replace("\\\n", " "))
    assert words[0] == "curl"
    method, url, headers, data = "GET", None, {}, None
    rest = iter(words[1:])
    for word in rest:
        if word == "-X":
            method = next(rest)
        elif word == "-H":
            name, _, value = next(rest).partition(":")
            headers[name.strip()] = value.strip()
        elif word == "-d":
            data = next(rest).encode()
        elif word.startswith("http://localhost:8000/"):
            url = base_url + word.removeprefix("http://localhost:8000")
        else:
            pytest.fail(f"the README's curl uses {word!r}, which this test does not read")
    assert url is not None
    return {"method": method, "url": url, "headers": headers, "data": data, "timeout": 10}


@pytest.fixture
def fresh_site(settings, tmp_path):
    """A site wired from the README: no env id yet, the README's URLs, a bucket file."""
    install_readme_urls()
    bucket_file = tmp_path / "bucketing.json"
    bucket_file.write_text(json.dumps(bucket_data()), encoding="utf-8")
    settings.ROOT_URLCONF = URLCONF
    settings.FLAGSHIP_BUCKET_FILE = str(bucket_file)  # "the app needs a bucket"
    settings.FLAGSHIP_POLLING_INTERVAL = 0
    settings.FLAGSHIP_HIT_SINK = "memory"
    caches["default"].clear()
    flagship_client.reset()
    yield settings
    flagship_client.reset()
    caches["default"].clear()
    sys.modules.pop(URLCONF, None)


def test_the_readme_curl_answers_with_the_readmes_settings(fresh_site, live_server):
    request = curl_request(live_server.url)
    # What a fresh setup answered before the README showed its setting:
    before = requests.request(**request)
    assert before.status_code == 404
    assert "is not served here" in before.json()["message"]

    for name, value in readme_settings().items():
        setattr(fresh_site, name, value)
    answer = requests.request(**request)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["visitorId"] == "user-42"
    # {"isVip": true} puts the visitor in the VIP campaign of the bucket
    assert "c-vip" in {campaign["id"] for campaign in body["campaigns"]}
