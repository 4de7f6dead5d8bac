"""FLAGSHIP_BUCKET_SOURCE = "local": the authored campaigns are the bucket, as a download is."""

import datetime
import json
from io import StringIO

import pytest
from django.core.cache import caches
from django.core.checks import run_checks
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.db import DatabaseError, connection
from django.test import Client
from django.utils import timezone
from django.utils.http import http_date, parse_http_date

from django_flagship import client as flagship_client
from django_flagship.authoring import compiler, source
from django_flagship.authoring.models import BucketSettings, Campaign, Variation
from django_flagship.authoring.transfer import import_document
from django_flagship.client import get_bucket, get_poller, get_store
from django_flagship.flags import Flags
from django_flagship.sdk.bucketing import BucketError

from .conftest import REPO_FILES, read

EXAMPLE = REPO_FILES[0]


def flag(key, default, visitor="v-1", **context):
    return Flags(visitor, context).get(key, default)


@pytest.mark.django_db
def test_authored_campaigns_are_decided_like_the_same_file(local):
    import_document(read(EXAMPLE))
    assert flag("vipBanner", False, isVip=True) is True
    assert flag("vipBanner", False, isVip=False) is False
    assert flag("freeShippingThreshold", 0, country="DE") == 50
    store = get_store()
    entry = store.cached_entry()
    assert entry["source"] == "download"
    assert json.loads(entry["text"]) == read(EXAMPLE)
    assert get_poller().url is None


@pytest.mark.django_db
def test_the_same_state_gives_the_same_bytes_and_version(local):
    import_document(read(EXAMPLE))
    first = compiler.compile_document()
    again = compiler.compile_document()
    assert json.dumps(first.data) == json.dumps(again.data)
    get_bucket()
    version = get_store().version
    # A save that changes nothing moves changed_at, not the document.
    Campaign.objects.first().save()
    result = get_poller().refresh(force=True)
    assert not result.updated
    assert get_store().version == version


@pytest.mark.django_db
def test_a_change_moves_the_version_and_last_modified(local):
    import_document(read(EXAMPLE))
    get_bucket()
    store = get_store()
    version, modified = store.version, store.last_modified
    changed_at = BucketSettings.objects.get().changed_at
    assert modified == http_date(int(changed_at.timestamp()))
    variation = Variation.objects.get(variation_id="cp3h9c2jq7a0004ka3pg")
    variation.flags = {"vipBanner": False, "vipDiscount": 20}
    variation.save()
    assert get_poller().refresh(force=True).updated
    assert store.version != version
    assert parse_http_date(store.last_modified) > parse_http_date(modified)
    assert flag("vipDiscount", 0, isVip=True) == 20


def test_last_modified_is_the_change_time_moved_past_the_previous_one():
    when = datetime.datetime(2026, 1, 2, 3, 4, 5, 900000, tzinfo=datetime.timezone.utc)
    seconds = int(when.timestamp())
    assert source.last_modified_for(when, None) == http_date(seconds)
    # Two versions within one second: the second is one second later.
    assert source.last_modified_for(when, http_date(seconds)) == http_date(seconds + 1)
    assert source.last_modified_for(when, http_date(seconds + 5)) == http_date(seconds + 6)
    assert source.last_modified_for(when, http_date(seconds - 60)) == http_date(seconds)
    naive = timezone.make_naive(when)
    assert source.last_modified_for(naive, None) == http_date(seconds)


@pytest.mark.django_db(transaction=True)
def test_a_committed_change_reaches_the_cache_at_once(local):
    import_document(read(EXAMPLE))
    assert flag("vipDiscount", 0, isVip=True) == 10
    version = get_store().version
    call_command("flagship_flag", "create", "new_flag", "--value", "on", stdout=StringIO())
    # Published on commit: the cache holds the new document, no poll needed.
    entry = caches["default"].get(get_store().entry_key)
    assert entry["version"] != version
    assert "new_flag" in entry["text"]
    assert flag("new_flag", "off") == "on"


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_change_publishes_nothing(local):
    from django.db import transaction

    import_document(read(EXAMPLE))
    get_bucket()
    entry = caches["default"].get(get_store().entry_key)

    def abandon():
        with transaction.atomic():
            Campaign.objects.all().delete()
            raise RuntimeError("abandon")

    with pytest.raises(RuntimeError):
        abandon()
    assert caches["default"].get(get_store().entry_key) == entry
    assert Campaign.objects.count() == 6


@pytest.mark.django_db
def test_settings_flags_come_first_and_authored_ones_win(local):
    local.FLAGSHIP_LOCAL_FLAGS = {"vipBanner": "from settings", "only_settings": 7}
    import_document(read(EXAMPLE))
    assert flag("only_settings", 0) == 7
    # The authored campaign, later in the file, wins where it applies.
    assert flag("vipBanner", False, isVip=True) is True
    assert flag("vipBanner", "", isVip=False) == "from settings"
    ids = [c.id for c in get_bucket().campaigns]
    assert ids[:2] == ["settings-vipBanner", "settings-only_settings"]


def test_settings_flags_work_without_the_app(local):
    local.INSTALLED_APPS = [a for a in local.INSTALLED_APPS if a != "django_flagship.authoring"]
    local.FLAGSHIP_LOCAL_FLAGS = {"vip_feature": True, "btn_color": {"red": 50, "blue": 50}}
    assert flag("vip_feature", False) is True
    colours = {flag("btn_color", "", visitor=f"v{n}") for n in range(100)}
    assert colours == {"red", "blue"}


@pytest.mark.django_db(transaction=True)
def test_settings_flags_work_before_the_first_migration(local, caplog):
    local.FLAGSHIP_LOCAL_FLAGS = {"vip_feature": True}
    with connection.schema_editor() as editor:
        editor.delete_model(BucketSettings)
    try:
        with caplog.at_level("WARNING", logger="django_flagship"):
            assert flag("vip_feature", False) is True
        assert "tables do not exist yet (run 'manage.py migrate')" in caplog.text
    finally:
        with connection.schema_editor() as editor:
            editor.create_model(BucketSettings)


@pytest.mark.django_db
def test_an_unreadable_database_keeps_the_bucket_in_use(local, monkeypatch):
    import_document(read(EXAMPLE))
    bucket = get_bucket()

    def broken(include_disabled):
        raise DatabaseError("connection refused")

    monkeypatch.setattr(compiler, "_read", broken)
    with pytest.raises(BucketError, match="could not be read: DatabaseError: connection refused"):
        get_poller().refresh(force=True)
    assert get_bucket() is bucket
    assert flag("vipBanner", False, isVip=True) is True


@pytest.mark.django_db
def test_a_snapshot_changing_under_the_reads_is_read_again(local, monkeypatch):
    import_document(read(EXAMPLE))
    real = compiler._read
    calls = []

    def racing(include_disabled):
        calls.append(1)
        result = real(include_disabled)
        if len(calls) == 1:  # a commit lands between the reads
            BucketSettings.objects.filter(pk=1).update(changed_at=timezone.now())
        return result

    monkeypatch.setattr(compiler, "_read", racing)
    compiler.compile_document()
    assert len(calls) == 2


@pytest.mark.django_db
def test_disabled_campaigns_are_not_served(local):
    import_document(read(EXAMPLE))
    assert flag("vipBanner", False, isVip=True) is True
    campaign = Campaign.objects.get(slug="vip-welcome")
    campaign.enabled = False
    campaign.save()
    get_poller().refresh(force=True)
    assert flag("vipBanner", False, isVip=True) is False


@pytest.mark.django_db
def test_flagship_decide_and_the_served_decision_api_use_the_authored_campaigns(
    local, client: Client
):
    local.FLAGSHIP_ENV_ID = "shop"
    local.FLAGSHIP_API_KEY = "key"
    local.ROOT_URLCONF = "tests.authoring.urls"
    import_document(read(EXAMPLE))
    out = StringIO()
    call_command("flagship_decide", "--visitor", "42", "--context", "isVip=true", stdout=out)
    assert "cp3h9c2jq7a0004ka3o0" in out.getvalue()
    response = client.post(
        "/decision-api/v2/shop/campaigns",
        data={"visitor_id": "42", "context": {"isVip": True}},
        content_type="application/json",
        headers={"x-api-key": "key"},
    )
    assert response.status_code == 200
    ids = [c["id"] for c in response.json()["campaigns"]]
    assert "cp3h9c2jq7a0004ka3o0" in ids


def test_checks(settings):
    def ids():
        return sorted(m.id for m in run_checks() if m.id.startswith("django_flagship"))

    settings.FLAGSHIP_BUCKET_SOURCE = "ftp"
    assert "django_flagship.E029" in ids()
    settings.FLAGSHIP_BUCKET_SOURCE = "local"
    settings.FLAGSHIP_BUCKET_FILE = str(EXAMPLE)
    assert "django_flagship.E029" in ids()
    settings.FLAGSHIP_BUCKET_FILE = None
    assert ids() == []  # local, the app installed: nothing to say (no W001 either)
    settings.FLAGSHIP_LOCAL_FLAGS = {"a": {"x": 70, "y": 70}, "": 1}
    messages = [m for m in run_checks() if m.id == "django_flagship.E030"]
    assert len(messages) == 2
    assert "the percents add up to 140" in messages[0].msg + messages[1].msg
    settings.FLAGSHIP_LOCAL_FLAGS = {"a": True}
    settings.FLAGSHIP_BUCKET_SOURCE = "cdn"
    settings.FLAGSHIP_ENV_ID = "env"
    assert ids() == ["django_flagship.W010"]
    settings.FLAGSHIP_BUCKET_SOURCE = "local"
    settings.FLAGSHIP_LOCAL_FLAGS = None
    settings.INSTALLED_APPS = [
        a for a in settings.INSTALLED_APPS if a not in ("django_flagship.authoring",)
    ]
    assert ids() == ["django_flagship.W010"]


def test_manage_py_check_reports_e030(settings):
    settings.FLAGSHIP_BUCKET_SOURCE = "local"
    settings.FLAGSHIP_LOCAL_FLAGS = {"a": None}
    with pytest.raises(SystemCheckError, match=r"django_flagship\.E030.*is None: leave the flag"):
        call_command("check", stderr=StringIO())


def test_a_bad_source_setting_runs_as_the_default(settings):
    settings.FLAGSHIP_BUCKET_SOURCE = 3
    flagship_client.reset()
    assert get_store() is None  # nothing configured: defaults, never an exception


@pytest.mark.django_db
def test_the_debug_toolbar_report_shows_the_authored_bucket(local, rf, monkeypatch):
    from django.contrib.auth.middleware import AuthenticationMiddleware
    from django.contrib.sessions.middleware import SessionMiddleware
    from django.http import HttpResponse

    from django_flagship import flags as flags_module
    from django_flagship.contrib._debug_report import request_report
    from django_flagship.middleware import FlagshipMiddleware

    monkeypatch.setattr(flags_module, "_recording", True)
    call_command("flagship_flag", "create", "vip_feature", stdout=StringIO())

    def view(request):
        request.flags.get("vip_feature", False)
        return HttpResponse("ok")

    request = rf.get("/")
    SessionMiddleware(AuthenticationMiddleware(FlagshipMiddleware(view)))(request)
    report = request_report(request)
    store = get_store()
    assert report["bucket"]["version"] == store.version
    assert report["bucket"]["last_modified"] == store.last_modified
    (row,) = report["reads"]
    assert row["key"] == "vip_feature"
    assert row["value"] == "true"
    assert row["campaign_name"] == "vip_feature"
    assert row["variation_group_name"] == "Everyone"


@pytest.mark.django_db
def test_a_document_too_large_keeps_the_bucket_in_use(local, monkeypatch):
    import_document(read(EXAMPLE))
    bucket = get_bucket()
    monkeypatch.setattr(source, "MAX_DOCUMENT_BYTES", 1000)
    with pytest.raises(BucketError, match=r"compile to [\d,]+ bytes, more than the 1,000"):
        get_poller().refresh(force=True)
    assert get_bucket() is bucket
