"""Whose consent a request carries: django_flagship.consent.resolve_consent."""

import logging

from django.contrib.sessions.backends.cache import SessionStore

from django_flagship.client import runtime
from django_flagship.consent import resolve_consent


def request_with(rf, choice=None, *, session=True):
    request = rf.get("/")
    if session:
        request.session = SessionStore()
        if choice is not None:
            request.session[runtime().consent_session_key] = choice
    return request


def test_without_a_choice_or_a_hook_the_visitor_consents(rf):
    assert resolve_consent(request_with(rf), runtime()) is True
    assert resolve_consent(request_with(rf, session=False), runtime()) is True


def test_the_hook_decides_when_the_session_holds_no_choice(rf, settings):
    settings.FLAGSHIP_CONSENT = "tests.django.support.no_consent"
    assert resolve_consent(request_with(rf), runtime()) is False


def test_the_choice_in_the_session_wins_over_the_hook(rf, settings):
    settings.FLAGSHIP_CONSENT = "tests.django.support.no_consent"
    assert resolve_consent(request_with(rf, True), runtime()) is True
    settings.FLAGSHIP_CONSENT = None
    assert resolve_consent(request_with(rf, False), runtime()) is False


def test_a_failing_hook_means_no_consent(rf, settings, caplog):
    settings.FLAGSHIP_CONSENT = "tests.django.support.bad_context"
    with caplog.at_level(logging.ERROR, "django_flagship"):
        assert resolve_consent(request_with(rf), runtime()) is False
    assert any("FLAGSHIP_CONSENT failed" in r.getMessage() for r in caplog.records)
