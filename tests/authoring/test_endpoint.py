"""``<prefix>/<env_id>/bucketing.json``: the file as the cache holds it, 304 when unchanged."""

import json

import pytest
from django.core.cache import caches
from django.utils.http import http_date, parse_http_date

from django_flagship import client as flagship_client
from django_flagship.authoring.models import Variation
from django_flagship.authoring.transfer import import_document
from django_flagship.client import get_poller, get_store

from .conftest import REPO_FILES, read

pytestmark = pytest.mark.django_db
EXAMPLE = REPO_FILES[0]
URL = "/flagship/local/bucketing.json"


@pytest.fixture
def served(local):
    local.ROOT_URLCONF = "tests.authoring.urls"
    import_document(read(EXAMPLE))
    return local


def test_the_file_is_the_cached_document_with_its_last_modified(served, client):
    response = client.get(URL)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    entry = get_store().cached_entry()
    assert response.content.decode() == entry["text"]
    assert json.loads(response.content) == read(EXAMPLE)
    assert response["Last-Modified"] == entry["last_modified"]
    assert response["ETag"] == f'"{entry["version"]}"'
    assert response["Cache-Control"] == "public, no-cache"


def test_if_modified_since_gets_304_until_a_change(served, client):
    modified = client.get(URL)["Last-Modified"]
    not_modified = client.get(URL, headers={"if-modified-since": modified})
    assert not_modified.status_code == 304
    assert not_modified.content == b""
    assert not_modified["Last-Modified"] == modified
    older = http_date(parse_http_date(modified) - 1)
    assert client.get(URL, headers={"if-modified-since": older}).status_code == 200

    variation = Variation.objects.get(variation_id="cp3h9c2jq7a0004ka3pg")
    variation.flags = {"vipBanner": True, "vipDiscount": 15}
    variation.save()
    get_poller().refresh(force=True)
    changed = client.get(URL, headers={"if-modified-since": modified})
    assert changed.status_code == 200
    assert parse_http_date(changed["Last-Modified"]) > parse_http_date(modified)
    assert '"vipDiscount":15' in changed.content.decode()


def test_if_none_match_with_the_version_gets_304(served, client):
    etag = client.get(URL)["ETag"]
    assert client.get(URL, headers={"if-none-match": etag}).status_code == 304
    assert client.get(URL, headers={"if-none-match": '"other"'}).status_code == 200


def test_head_is_answered_and_other_methods_refused(served, client):
    assert client.head(URL).status_code == 200
    assert client.post(URL).status_code == 405


def test_another_environment_is_not_found(served, client):
    response = client.get("/flagship/someone-else/bucketing.json")
    assert response.status_code == 404
    assert response.json() == {"message": "no bucketing file for environment 'someone-else'"}


def test_the_configured_environment_id_names_the_file(served, client):
    served.FLAGSHIP_ENV_ID = "shop-env"
    assert client.get("/flagship/shop-env/bucketing.json").status_code == 200
    assert client.get(URL).status_code == 404


def test_nothing_configured_is_not_found(settings, client):
    settings.ROOT_URLCONF = "tests.authoring.urls"
    settings.FLAGSHIP_ENV_ID = ""
    settings.FLAGSHIP_BUCKET_FILE = None
    flagship_client.reset()
    assert client.get(URL).status_code == 404


def test_a_file_source_is_served_too(settings, client):
    settings.ROOT_URLCONF = "tests.authoring.urls"
    settings.FLAGSHIP_ENV_ID = ""
    settings.FLAGSHIP_BUCKET_FILE = str(REPO_FILES[1])
    settings.FLAGSHIP_POLLING_INTERVAL = 0.0
    flagship_client.reset()
    caches["default"].clear()  # the file seeds an empty cache only
    response = client.get(URL)
    assert response.status_code == 200
    assert json.loads(response.content) == read(REPO_FILES[1])
    # A seeded file has no Last-Modified of its own: when it was stored stands for it.
    assert parse_http_date(response["Last-Modified"]) > 0


def test_an_unreachable_cache_serves_what_the_process_holds(served, client, monkeypatch):
    first = client.get(URL)
    store = get_store()

    def down():
        raise ConnectionError("cache down")

    monkeypatch.setattr(type(store), "cached_entry", lambda self: down())
    response = client.get(URL)
    assert response.status_code == 200
    assert json.loads(response.content) == json.loads(first.content)
    assert response["ETag"] == first["ETag"]
