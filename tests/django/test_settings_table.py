"""The settings table: the docs, ``conf``, the checks and the run time read the same entries."""

import math
import re
from pathlib import Path

import pytest

from django_flagship import client
from django_flagship.checks import check_settings
from django_flagship.conf import DEFAULTS, conf
from django_flagship.settings_table import SETTINGS, setting

DOCS = Path(__file__).resolve().parents[2] / "docs" / "settings.md"

#: A row of a settings table in the docs: | `FLAGSHIP_X` | `default` ... | meaning |
_ROW = re.compile(r"^\| `(FLAGSHIP_[A-Z0-9_]+)` \| `([^`]*)`")


def _documented() -> dict[str, str]:
    rows = {}
    for line in DOCS.read_text(encoding="utf-8").splitlines():
        found = _ROW.match(line)
        if found:
            rows[found[1]] = found[2]
    return rows


def _as_documented(value: object) -> str:
    """A default as the docs write it: Python, with double-quoted strings."""
    return repr(value).replace("'", '"')


def test_every_setting_is_documented_with_its_default():
    documented = _documented()
    missing = [entry.name for entry in SETTINGS if entry.name not in documented]
    assert missing == []
    wrong = {
        entry.name: (documented[entry.name], _as_documented(entry.default))
        for entry in SETTINGS
        if documented[entry.name] != _as_documented(entry.default)
    }
    assert wrong == {}


def test_every_documented_setting_is_in_the_table():
    assert sorted(set(_documented()) - set(DEFAULTS)) == []


def test_the_doc_reader_sees_the_tables():
    # Guards the two tests above against a regex that matches nothing.
    assert len(_documented()) == len(SETTINGS) > 50


def test_every_check_id_of_the_table_is_documented():
    documented = set(re.findall(r"^\| `django_flagship\.(E\d{3})` \|", DOCS.read_text(), re.M))
    assert len(documented) > 20
    assert sorted({entry.check_id for entry in SETTINGS} - documented) == []


def test_names_are_unique_and_each_has_a_check_id_and_a_doc():
    assert len({entry.name for entry in SETTINGS}) == len(SETTINGS)
    for entry in SETTINGS:
        assert re.fullmatch(r"E\d{3}", entry.check_id), entry.name
        assert entry.doc, entry.name
        assert "\n" not in entry.doc, entry.name


@pytest.mark.parametrize("entry", SETTINGS, ids=lambda entry: entry.name)
def test_every_default_passes_its_own_parser(entry):
    entry.parsed(entry.default)


def test_conf_reads_unset_settings_as_their_defaults(settings):
    assert conf.cookie_name == DEFAULTS["FLAGSHIP_COOKIE_NAME"] == "flagship_visitor"
    settings.FLAGSHIP_COOKIE_NAME = "visitor"
    assert conf.cookie_name == conf.raw("FLAGSHIP_COOKIE_NAME") == "visitor"


def test_conf_knows_only_the_table_names():
    with pytest.raises(AttributeError):
        conf.cookie_nmae  # noqa: B018
    with pytest.raises(AttributeError):
        conf.COOKIE_NAME  # noqa: B018


def test_value_falls_back_to_the_default_and_strict_raises(settings, caplog, monkeypatch):
    from django.core.exceptions import ImproperlyConfigured

    monkeypatch.setattr("django_flagship.conf._reported", set())
    settings.FLAGSHIP_COOKIE_AGE = -1
    assert conf.value("FLAGSHIP_COOKIE_AGE") == 365 * 24 * 3600.0
    assert "django_flagship.E006" in caplog.text
    with pytest.raises(ImproperlyConfigured, match="FLAGSHIP_COOKIE_AGE is -1"):
        conf.strict("FLAGSHIP_COOKIE_AGE")


NOT_FINITE = [math.inf, -math.inf, math.nan]


@pytest.mark.parametrize(
    "name",
    [
        entry.name
        for entry in SETTINGS
        if entry.check_id in ("E006", "E021", "E031") and isinstance(entry.default, float)
    ],
)
@pytest.mark.parametrize("value", NOT_FINITE, ids=["inf", "-inf", "nan"])
def test_no_time_setting_takes_a_value_that_is_not_finite(name, value):
    with pytest.raises(ValueError, match="number of seconds"):
        setting(name).parsed(value)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("FLAGSHIP_COOKIE_AGE", math.inf),
        ("FLAGSHIP_HISTORY_TIMEOUT", math.nan),
        ("FLAGSHIP_BUCKET_CHECK_INTERVAL", math.inf),
    ],
)
def test_the_runtime_refuses_inf_and_nan_as_the_checks_do(configured, name, value):
    # The checks always refused them; the run time took them until now. Now both
    # refuse them: the check reports E006 and the client serves the defaults.
    setattr(configured, name, value)
    assert [e.id for e in check_settings()] == ["django_flagship.E006"]
    runtime = client.runtime()
    assert not runtime.configured
    assert runtime.cookie_age == DEFAULTS["FLAGSHIP_COOKIE_AGE"]


def test_a_well_formed_runtime_reads_the_parsed_values(configured):
    configured.FLAGSHIP_VARY_HEADERS = ["Cookie", "Accept-Language"]
    configured.FLAGSHIP_COOKIE_AGE = 60
    configured.FLAGSHIP_CACHE_KEY_PREFIX = " site "
    runtime = client.runtime()
    assert runtime.configured
    assert runtime.vary_headers == ("Cookie", "Accept-Language")
    assert runtime.cookie_age == 60.0
    assert isinstance(runtime.cookie_age, float)
    assert runtime.namespace.startswith("site:")


def test_a_malformed_per_request_setting_is_logged_and_its_default_used(
    configured, caplog, monkeypatch
):
    # Not one of the settings that turn the client off: the client stays
    # configured, and the setting takes its default instead of bool("yes").
    monkeypatch.setattr("django_flagship.conf._reported", set())
    configured.FLAGSHIP_AUTO_PAGE_HITS = "yes"
    configured.FLAGSHIP_CONSENT_SESSION_KEY = 12
    runtime = client.runtime()
    assert runtime.configured
    assert runtime.auto_page_hits is False
    assert runtime.consent_session_key == "_flagship_consent"
    assert "django_flagship.E010" in caplog.text
    assert "django_flagship.E001" in caplog.text
