"""Who the visitor is: a returning anonymous visitor's identity is built once."""

from django.contrib.auth.models import AnonymousUser
from django.contrib.sessions.backends.cache import SessionStore
from django.test import RequestFactory

from django_flagship.client import runtime
from django_flagship.identity import ANONYMOUS_ID_SESSION_KEY, Identity, resolve_identity


def anonymous_request(session=None):
    request = RequestFactory().get("/")
    request.user = AnonymousUser()
    if session is not None:
        request.session = session
    return request


def test_a_returning_anonymous_visitor_gets_the_same_identity_on_every_request():
    session = SessionStore()
    first = resolve_identity(anonymous_request(session), runtime())
    assert first.new
    assert first.new_cookie is None  # kept in the session: no cookie to set
    assert session[ANONYMOUS_ID_SESSION_KEY] == first.visitor_id
    again = resolve_identity(anonymous_request(session), runtime())
    assert again == Identity(first.visitor_id)
    assert not again.new
    assert resolve_identity(anonymous_request(session), runtime()) is again


def test_a_new_visitor_without_a_session_gets_a_cookie_every_time():
    first = resolve_identity(anonymous_request(), runtime())
    second = resolve_identity(anonymous_request(), runtime())
    assert first.new
    assert first.new_cookie == first.visitor_id
    assert second.visitor_id != first.visitor_id
